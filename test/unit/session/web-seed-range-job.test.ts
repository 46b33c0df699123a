/**
 * A web seed's range job hands the blocks of a body to its web seed as they arrive: the whole
 * blocks of a piece in one chunk as one run (a view of the chunk), a block split across chunks
 * once it is complete, a cancelled block never. Driven by a fake origin that cuts the body into
 * chunks of chosen sizes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '../../../src/codec/index.js';
import type { BlockRef } from '../../../src/engine/index.js';
import { parseTorrent } from '../../../src/metainfo/index.js';
import type { HttpOrigin, OriginResponse } from '../../../src/session/webseed/origin.js';
import { RangeJob, type RangeJobHost } from '../../../src/session/webseed/range-job.js';
import { sha1 } from '../../../src/shared/hash.js';
import { BLOCK_BYTES } from '../../../src/shared/limits.js';
import { PieceMap } from '../../../src/storage/piece-map.js';

const PIECE = 4 * BLOCK_BYTES;
/** Two whole pieces and a last one of two blocks and a short one. */
const LENGTH = 2 * PIECE + 2 * BLOCK_BYTES + 7232;

function content(): Uint8Array {
  const c = new Uint8Array(LENGTH);
  for (let i = 0; i < c.length; i++) c[i] = (i * 7 + (i >> 11)) & 0xff;
  return c;
}

/** A single-file torrent of `data` (the piece hashes do not matter here). */
function torrentOf(data: Uint8Array) {
  const count = Math.ceil(data.length / PIECE);
  const pieces = new Uint8Array(20 * count);
  for (let i = 0; i < count; i++) pieces.set(sha1(data.subarray(i * PIECE, (i + 1) * PIECE)), 20 * i);
  return parseTorrent(
    encode({ info: { length: data.length, name: 'f.bin', 'piece length': PIECE, pieces } }),
  );
}

/** Answers every range GET from `data`, its body cut into chunks of `sizes` bytes (cycled). */
function fakeOrigin(data: Uint8Array, sizes: readonly number[]): HttpOrigin {
  const origin = {
    async get(url: string, headers: Readonly<Record<string, string>>): Promise<OriginResponse> {
      const m = /^bytes=(\d+)-(\d+)$/.exec(headers.range ?? '');
      assert.ok(m !== null, `a range GET: ${headers.range}`);
      const first = Number(m[1]);
      const last = Number(m[2]);
      return {
        status: 206,
        headers: {
          'content-range': `bytes ${first}-${last}/${data.length}`,
          'content-length': String(last - first + 1),
        },
        url,
        async read(onData) {
          let k = 0;
          for (let at = first; at <= last; k++) {
            const n = Math.min(sizes[k % sizes.length]!, last + 1 - at);
            // A fresh copy each time: a view must not be kept past the call.
            onData(data.slice(at, at + n));
            at += n;
          }
        },
        readText: async () => '',
        pause() {},
        resume() {},
        destroy() {},
      };
    },
  };
  return origin as unknown as HttpOrigin;
}

interface Delivery {
  readonly blocks: readonly BlockRef[];
  readonly data: Uint8Array;
}

function jobOf(data: Uint8Array, sizes: readonly number[], accept: () => boolean = () => true) {
  const m = torrentOf(data);
  const space = new PieceMap(m);
  const blocks: BlockRef[] = [];
  for (let p = 0; p < m.pieceCount; p++)
    for (let o = 0; o < space.pieceSize(p); o += BLOCK_BYTES)
      blocks.push({ piece: p, offset: o, length: Math.min(BLOCK_BYTES, space.pieceSize(p) - o) });
  const got: Delivery[] = [];
  const host: RangeJobHost = {
    origin: fakeOrigin(data, sizes),
    protocol: 'bep19',
    url: 'http://origin.invalid/f.bin',
    metainfo: m,
    space,
    infoHash: new Uint8Array(20),
    deliver: (bs, d) => {
      got.push({ blocks: [...bs], data: d.slice() });
      return accept();
    },
    throttle: () => 0,
    isPaused: () => false,
  };
  return { job: new RangeJob(host, blocks, PIECE), blocks, got };
}

/** Each delivery is consecutive blocks of one piece, exactly its bytes, at the right place. */
function checkDeliveries(got: readonly Delivery[], data: Uint8Array): void {
  for (const { blocks, data: d } of got) {
    assert.ok(blocks.length > 0);
    let at = 0;
    for (const b of blocks) {
      assert.equal(b.piece, blocks[0]!.piece, 'one piece per delivery');
      assert.equal(b.offset, blocks[0]!.offset + at, 'consecutive blocks');
      const start = b.piece * PIECE + b.offset;
      assert.deepEqual(d.subarray(at, at + b.length), data.subarray(start, start + b.length));
      at += b.length;
    }
    assert.equal(at, d.length, 'the data is exactly the blocks');
  }
}

describe('RangeJob: runs of blocks', () => {
  test('whole blocks in a chunk go over together, one run per piece per chunk', async () => {
    const data = content();
    // Chunks of three blocks: runs of 3 and 1 (piece 0), 2 and 2 (piece 1), …
    const { job, blocks, got } = jobOf(data, [3 * BLOCK_BYTES]);
    await job.run();
    checkDeliveries(got, data);
    assert.deepEqual(
      got.flatMap((g) => g.blocks),
      blocks,
      'every block once, in order',
    );
    assert.deepEqual(
      got.map((g) => g.blocks.length),
      [3, 1, 2, 2, 1, 2],
    );
    assert.equal(job.remainingBytes, 0);
    assert.deepEqual(job.undelivered(), []);
  });

  test('a block split across chunks is handed over alone once complete', async () => {
    const data = content();
    const { job, blocks, got } = jobOf(data, [10_000, 70_000, 5_000, 40_000]);
    await job.run();
    checkDeliveries(got, data);
    assert.deepEqual(
      got.flatMap((g) => g.blocks),
      blocks,
    );
    assert.ok(
      got.some((g) => g.blocks.length > 1),
      'whole blocks of a big chunk still go as a run',
    );
  });

  test('a cancelled block is never handed over, and breaks the run it was in', async () => {
    const data = content();
    const { job, blocks, got } = jobOf(data, [PIECE]);
    const cancelled = blocks[5]!;
    assert.equal(job.cancel(cancelled), true);
    await job.run();
    checkDeliveries(got, data);
    const handed = got.flatMap((g) => g.blocks);
    assert.deepEqual(
      handed,
      blocks.filter((b) => b !== cancelled),
    );
    assert.deepEqual(
      got.map((g) => g.blocks.length),
      [4, 1, 2, 3],
    );
    assert.deepEqual(job.undelivered(), []);
  });

  test('when its web seed goes away mid-run, the job stops and gives back what it did not hand over', async () => {
    const data = content();
    let taken = 0;
    // The web seed is detached during the second delivery.
    const { job, blocks } = jobOf(data, [BLOCK_BYTES], () => ++taken < 2);
    await assert.rejects(job.run(), (e: unknown) => RangeJob.isDetached(e));
    assert.equal(taken, 2);
    assert.deepEqual(job.undelivered(), blocks.slice(2));
  });
});
