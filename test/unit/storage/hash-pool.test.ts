import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { HASH_THREAD_WRITE_CALL_BYTES } from '../../../src/shared/limits.js';
import { StorageError } from '../../../src/storage/errors.js';
import {
  FilePool,
  HashPool,
  MIN_DIGESTS_IN_FLIGHT,
  PIECE_DIGEST_TAIL_BYTES,
  READ_CHUNK_BYTES,
  VERIFY_TASKS_PER_THREAD,
} from '../../../src/storage/index.js';

const BLOCK = 16 * 1024;

function digest(algorithm: 'sha1' | 'sha256', ...parts: Uint8Array[]): Buffer {
  const h = createHash(algorithm);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** BEP 52 root from the definition: block hashes, zero leaves up to `width`, pairwise SHA-256. */
function naiveRoot(data: Uint8Array, width: number): Buffer {
  let layer: Buffer[] = [];
  for (let at = 0; at < data.length; at += BLOCK) layer.push(digest('sha256', data.subarray(at, at + BLOCK)));
  while (layer.length < width) layer.push(Buffer.alloc(32));
  while (layer.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < layer.length; i += 2) next.push(digest('sha256', layer[i]!, layer[i + 1]!));
    layer = next;
  }
  return layer[0]!;
}

let dir: string;
let pool: HashPool;
const fileA = randomBytes(100_000);
const fileB = randomBytes(3 * BLOCK + 5);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'shoal-hash-pool-'));
  writeFileSync(join(dir, 'a'), fileA);
  writeFileSync(join(dir, 'b'), fileB);
  pool = new HashPool({ threads: 1 });
});

after(async () => {
  await pool.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('HashPool', () => {
  test('digest of buffers equals node:crypto', async () => {
    const parts = [randomBytes(10), randomBytes(70_000), new Uint8Array(0)];
    assert.deepEqual(Buffer.from(await pool.digest('sha1', parts)), digest('sha1', ...parts));
    assert.deepEqual(Buffer.from(await pool.digest('sha256', parts)), digest('sha256', ...parts));
  });

  test(`tasksPerThread (a session's: VERIFY_TASKS_PER_THREAD = ${VERIFY_TASKS_PER_THREAD}): more tasks than that at once, each answered with its own digest`, async () => {
    const p = new HashPool({ threads: 1, tasksPerThread: VERIFY_TASKS_PER_THREAD });
    try {
      const inputs = Array.from({ length: 3 * VERIFY_TASKS_PER_THREAD + 1 }, (_, i) =>
        randomBytes(1000 + i * 4099),
      );
      // Digests queue on this side for libuv's pool (one at a time here), merkle roots go to the worker.
      const [got, roots] = await Promise.all([
        Promise.all(inputs.map((b) => p.digest('sha1', [b]))),
        Promise.all(inputs.map((b) => p.merkleRoot(b, 64))),
      ]);
      for (const [i, d] of got.entries())
        assert.deepEqual(Buffer.from(d), digest('sha1', inputs[i]!), `task ${i}`);
      for (const [i, r] of roots.entries())
        assert.deepEqual(Buffer.from(r), naiveRoot(inputs[i]!, 64), `merkle task ${i}`);
    } finally {
      await p.destroy();
    }
  });

  test('hashPieceBuffer: a v1 piece is hashed in place (the same buffer back), a v2 piece moves to a worker and back', async () => {
    const p = new HashPool({ threads: 1 });
    try {
      const piece = randomBytes(3 * BLOCK + 5);
      const buf = new Uint8Array(piece.length + PIECE_DIGEST_TAIL_BYTES);
      buf.set(piece);
      const v1 = await p.hashPieceBuffer(buf, piece.length, { sha1: true, merkleBytes: 0, merkleLeaves: 1 });
      assert.equal(v1.buffer, buf, 'not moved');
      assert.deepEqual(Buffer.from(v1.sha1!), digest('sha1', piece));
      assert.deepEqual(Buffer.from(buf.subarray(piece.length, piece.length + 20)), digest('sha1', piece));
      assert.equal(p.liveThreads, 0, 'no worker for SHA-1 alone');
      const v2 = await p.hashPieceBuffer(buf, piece.length, {
        sha1: true,
        merkleBytes: piece.length,
        merkleLeaves: 4,
      });
      assert.equal(buf.byteLength, 0, 'the buffer passed in was moved (detached)');
      assert.deepEqual(Buffer.from(v2.buffer.subarray(0, piece.length)), piece);
      assert.deepEqual(Buffer.from(v2.sha1!), digest('sha1', piece));
      assert.deepEqual(Buffer.from(v2.merkle!), naiveRoot(piece, 4));
      assert.equal(p.liveThreads, 1);
    } finally {
      await p.destroy();
    }
  });

  test('hashPieceBuffer with store: the worker writes a matching piece to the descriptors given, and leaves a bad one unwritten', async () => {
    const p = new HashPool({ threads: 1 });
    const tmp = mkdtempSync(join(tmpdir(), 'shoal-store-'));
    const files = new FilePool();
    try {
      // A piece of 6 blocks and a bit over two files, the second part at an offset in its file
      // and longer than one write call.
      const piece = randomBytes(6 * BLOCK + 5);
      const split = BLOCK + 7;
      assert.ok(piece.length - split > 2 * HASH_THREAD_WRITE_CALL_BYTES);
      const [a, b] = [join(tmp, 'a.bin'), join(tmp, 'sub', 'b.bin')];
      const store = async (expected: Uint8Array, merkle?: Uint8Array) => {
        const [la, lb] = [await files.lease(a), await files.lease(b)];
        const buf = new Uint8Array(piece.length + PIECE_DIGEST_TAIL_BYTES);
        buf.set(piece);
        try {
          return await p.hashPieceBuffer(buf, piece.length, {
            sha1: true,
            merkleBytes: merkle === undefined ? 0 : piece.length,
            merkleLeaves: 8,
            store: {
              sha1: expected,
              ...(merkle !== undefined ? { merkle } : {}),
              writes: [
                { fd: la.fd, path: a, from: 0, length: split, position: 0 },
                { fd: lb.fd, path: b, from: split, length: piece.length - split, position: 100 },
              ],
            },
          });
        } finally {
          la.release();
          lb.release();
        }
      };
      const bad = await store(new Uint8Array(20), undefined);
      assert.equal(bad.stored, false);
      assert.deepEqual(Buffer.from(bad.sha1!), digest('sha1', piece), 'the digest comes back all the same');
      assert.equal(readFileSync(a).length, 0, 'nothing written for a piece that does not match');
      // The SHA-1 matches but the merkle root does not: not written either.
      const half = await store(digest('sha1', piece), new Uint8Array(32));
      assert.equal(half.stored, false);
      assert.equal(readFileSync(b).length, 0);
      const good = await store(digest('sha1', piece), naiveRoot(piece, 8));
      assert.equal(good.stored, true);
      assert.deepEqual(Buffer.from(good.buffer.subarray(0, piece.length)), piece, 'the buffer comes back');
      // Both parts whole (the second in three calls), the first 100 bytes of b.bin untouched.
      assert.deepEqual(readFileSync(a), piece.subarray(0, split));
      assert.deepEqual(readFileSync(b).subarray(100), piece.subarray(split));
    } finally {
      await files.close();
      await p.destroy();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('hashPieceBuffer with store: a failed write is a StorageError naming the file', async () => {
    const p = new HashPool({ threads: 1 });
    const tmp = mkdtempSync(join(tmpdir(), 'shoal-store-'));
    const path = join(tmp, 'ro.bin');
    writeFileSync(path, '');
    const fd = openSync(path, 'r'); // read-only: the write fails (EBADF)
    try {
      const piece = randomBytes(BLOCK);
      const buf = new Uint8Array(piece.length + PIECE_DIGEST_TAIL_BYTES);
      buf.set(piece);
      await assert.rejects(
        p.hashPieceBuffer(buf, piece.length, {
          sha1: true,
          merkleBytes: 0,
          merkleLeaves: 1,
          store: { sha1: digest('sha1', piece), writes: [{ fd, path, from: 0, length: BLOCK, position: 0 }] },
        }),
        (e: unknown) =>
          e instanceof StorageError &&
          e.code === ErrorCode.StorageIo &&
          e.details.op === 'write' &&
          e.details.path === path &&
          e.details.errno === 'EBADF',
      );
    } finally {
      closeSync(fd);
      await p.destroy();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('merkleRoot equals the definition, for short and padded trees', async () => {
    for (const [size, leaves] of [
      [1, 1],
      [BLOCK, 1],
      [BLOCK + 1, 2],
      [3 * BLOCK, 4],
      [3 * BLOCK, 16],
      [0, 4],
    ] as const) {
      const data = randomBytes(size);
      assert.deepEqual(
        Buffer.from(await pool.merkleRoot(data, leaves)),
        naiveRoot(data, leaves),
        `${size}/${leaves}`,
      );
    }
    await assert.rejects(pool.merkleRoot(randomBytes(3 * BLOCK), 2), (e: unknown) =>
      isShoalError(e, ErrorCode.SessionInvalidArgument),
    );
    await assert.rejects(pool.merkleRoot(randomBytes(10), 3), (e: unknown) =>
      isShoalError(e, ErrorCode.SessionInvalidArgument),
    );
  });

  test('hashRanges: pieces across files and zeros, SHA-1 and merkle roots per run', async () => {
    // Stream: a[0, 100000) + 1000 zeros + b (all of it) → cut into pieces of 32 KiB (+ tail).
    const zeros = Buffer.alloc(1000);
    const stream = Buffer.concat([fileA, zeros, fileB]);
    const P = 2 * BLOCK;
    const full = Math.floor(stream.length / P);
    const tail = stream.length - full * P;
    const result = await pool.hashRanges({
      segments: [
        { kind: 'file', path: join(dir, 'a'), offset: 0, length: fileA.length },
        { kind: 'zeros', length: zeros.length },
        { kind: 'file', path: join(dir, 'b'), offset: 0, length: fileB.length },
      ],
      runs: [
        { count: full, length: P, sha1: true, merkleBytes: P, merkleLeaves: 2 },
        { count: 1, length: tail, sha1: true, merkleBytes: tail, merkleLeaves: 2 },
      ],
    });
    const expectedSha1: Buffer[] = [];
    const expectedRoots: Buffer[] = [];
    for (let at = 0; at < stream.length; at += P) {
      const piece = stream.subarray(at, at + P);
      expectedSha1.push(digest('sha1', piece));
      expectedRoots.push(naiveRoot(piece, 2));
    }
    assert.deepEqual(Buffer.from(result.sha1), Buffer.concat(expectedSha1));
    assert.deepEqual(Buffer.from(result.merkle), Buffer.concat(expectedRoots));
  });

  test('hashRanges: merkle over the data part only, SHA-1 over data and padding', async () => {
    // A hybrid's last piece of a file: 5 data bytes of `b` at offset 3 blocks, then padding zeros.
    const P = 4 * BLOCK;
    const data = fileB.subarray(3 * BLOCK);
    const result = await pool.hashRanges({
      segments: [
        { kind: 'file', path: join(dir, 'b'), offset: 3 * BLOCK, length: data.length },
        { kind: 'zeros', length: P - data.length },
      ],
      runs: [{ count: 1, length: P, sha1: true, merkleBytes: data.length, merkleLeaves: 4 }],
    });
    assert.deepEqual(Buffer.from(result.sha1), digest('sha1', data, Buffer.alloc(P - data.length)));
    assert.deepEqual(Buffer.from(result.merkle), naiveRoot(data, 4));
  });

  test('a piece larger than the read buffer is streamed', async () => {
    const P = 2 * READ_CHUNK_BYTES;
    const big = randomBytes(P + BLOCK + 3);
    writeFileSync(join(dir, 'big'), big);
    const result = await pool.hashRanges({
      segments: [{ kind: 'file', path: join(dir, 'big'), offset: 0, length: big.length }],
      runs: [
        { count: 1, length: P, sha1: true, merkleBytes: P, merkleLeaves: P / BLOCK },
        { count: 1, length: BLOCK + 3, sha1: true, merkleBytes: BLOCK + 3, merkleLeaves: P / BLOCK },
      ],
    });
    assert.deepEqual(
      Buffer.from(result.sha1),
      Buffer.concat([digest('sha1', big.subarray(0, P)), digest('sha1', big.subarray(P))]),
    );
    assert.deepEqual(
      Buffer.from(result.merkle),
      Buffer.concat([naiveRoot(big.subarray(0, P), P / BLOCK), naiveRoot(big.subarray(P), P / BLOCK)]),
    );
  });

  test('a missing file is a StorageError naming the path and the operation', async () => {
    const path = join(dir, 'missing');
    await assert.rejects(
      pool.hashRanges({
        segments: [{ kind: 'file', path, offset: 0, length: 10 }],
        runs: [{ count: 1, length: 10, sha1: true, merkleBytes: 0, merkleLeaves: 0 }],
      }),
      (e: unknown) => {
        assert.ok(e instanceof StorageError);
        assert.equal(e.code, ErrorCode.StorageIo);
        assert.deepEqual(e.details, { path, op: 'open', errno: 'ENOENT' });
        return true;
      },
    );
  });

  test('a malformed job is rejected before it reaches a worker', async () => {
    const seg = { kind: 'file', path: join(dir, 'a'), offset: 0, length: 100 } as const;
    const bad = [
      { segments: [seg], runs: [{ count: 1, length: 99, sha1: true, merkleBytes: 0, merkleLeaves: 0 }] },
      { segments: [seg], runs: [{ count: 1, length: 100, sha1: false, merkleBytes: 100, merkleLeaves: 3 }] },
      { segments: [seg], runs: [{ count: 1, length: 100, sha1: false, merkleBytes: 101, merkleLeaves: 1 }] },
      {
        segments: [{ ...seg, offset: -1 }],
        runs: [{ count: 1, length: 100, sha1: true, merkleBytes: 0, merkleLeaves: 0 }],
      },
    ];
    for (const job of bad) {
      await assert.rejects(pool.hashRanges(job), (e: unknown) =>
        isShoalError(e, ErrorCode.SessionInvalidArgument),
      );
    }
  });

  test(`digests run MIN_DIGESTS_IN_FLIGHT (${MIN_DIGESTS_IN_FLIGHT}) at once even with one thread; more wait their turn`, async () => {
    const own = new HashPool({ threads: 1 });
    try {
      assert.equal(own.digestSlots, MIN_DIGESTS_IN_FLIGHT);
      const inputs = Array.from({ length: MIN_DIGESTS_IN_FLIGHT + 2 }, () => randomBytes(256 * 1024));
      const results = inputs.map((b) => own.digest('sha1', [b]));
      assert.deepEqual(own.digests, { running: MIN_DIGESTS_IN_FLIGHT, waiting: 2 });
      const got = await Promise.all(results);
      for (const [i, d] of got.entries())
        assert.deepEqual(Buffer.from(d), digest('sha1', inputs[i]!), `digest ${i}`);
      assert.deepEqual(own.digests, { running: 0, waiting: 0 });
      const wide = new HashPool({ threads: MIN_DIGESTS_IN_FLIGHT + 1 });
      assert.equal(wide.digestSlots, MIN_DIGESTS_IN_FLIGHT + 1, 'more threads: as many digests');
      await wide.destroy();
    } finally {
      await own.destroy();
    }
  });

  test('an aborted signal rejects with its reason', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(pool.digest('sha1', [randomBytes(10)], { signal: ac.signal }), {
      name: 'AbortError',
    });
  });

  test('destroy stops every thread and later calls reject', async () => {
    const own = new HashPool({ threads: 1 });
    assert.equal(own.threads, 1);
    assert.deepEqual(Buffer.from(await own.digest('sha1', [fileA])), digest('sha1', fileA));
    assert.equal(own.liveThreads, 0, 'a digest runs on libuv’s pool: no worker started');
    await own.merkleRoot(new Uint8Array(BLOCK), 1);
    assert.equal(own.liveThreads, 1, 'a merkle root starts the worker');
    await own.destroy();
    assert.equal(own.liveThreads, 0);
    assert.ok(own.isDestroyed);
    await own.destroy();
    await assert.rejects(own.digest('sha1', [fileA]), (e: unknown) => isShoalError(e, ErrorCode.StorageIo));
    assert.throws(
      () => new HashPool({ threads: 0 }),
      (e: unknown) => isShoalError(e, ErrorCode.SessionInvalidArgument),
    );
  });
});
