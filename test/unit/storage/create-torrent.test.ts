import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  asBytes,
  asDict,
  asInt,
  asList,
  asUtf8,
  type BencodeDict,
  decode,
} from '../../../src/codec/index.js';
import { planLayout } from '../../../src/metainfo/create.js';
import { MetainfoError } from '../../../src/metainfo/errors.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { StorageError } from '../../../src/storage/errors.js';
import {
  type CreatedTorrent,
  createJobBytes,
  createTorrent,
  HashPool,
  hashLayout,
} from '../../../src/storage/index.js';

const KiB = 1024;
const BLOCK = 16 * KiB;

// --- independent reference computations (BEP 3 and BEP 52 from their definitions) ---

function sha1(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function v1Pieces(stream: Buffer, pieceLength: number): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; at += pieceLength)
    out.push(sha1(stream.subarray(at, at + pieceLength)));
  return Buffer.concat(out);
}

/** Root of a full binary tree over `leaves` padded with zero leaves to `width`. */
function naiveRoot(leaves: readonly Buffer[], width: number): Buffer {
  let layer = leaves.slice();
  while (layer.length < width) layer.push(Buffer.alloc(32));
  while (layer.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < layer.length; i += 2) next.push(sha256(layer[i]!, layer[i + 1]!));
    layer = next;
  }
  return layer[0]!;
}

function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** A file's v2 `pieces root` and piece layer (undefined when not larger than one piece). */
function naiveV2(data: Buffer, pieceLength: number): { root: Buffer; layer: Buffer | undefined } {
  const blocks: Buffer[] = [];
  for (let at = 0; at < data.length; at += BLOCK) blocks.push(sha256(data.subarray(at, at + BLOCK)));
  const root = naiveRoot(blocks, pow2(blocks.length));
  if (data.length <= pieceLength) return { root, layer: undefined };
  const perPiece = pieceLength / BLOCK;
  const layer: Buffer[] = [];
  for (let i = 0; i < blocks.length; i += perPiece)
    layer.push(naiveRoot(blocks.slice(i, i + perPiece), perPiece));
  return { root, layer: Buffer.concat(layer) };
}

// --- helpers ---

function torrentDict(t: CreatedTorrent): BencodeDict {
  const d = asDict(decode(t.bytes, { mode: 'strict' }));
  assert.ok(d);
  return d;
}

function infoOf(t: CreatedTorrent): BencodeDict {
  return asDict(torrentDict(t).get('info'))!;
}

function treeLeaf(info: BencodeDict, path: readonly string[]): BencodeDict | undefined {
  let node = asDict(info.get('file tree'));
  for (const c of path) node = asDict(node?.get(c));
  return asDict(node?.get(''));
}

function v1FileList(info: BencodeDict): string[] {
  return asList(info.get('files'))!.map((f) => {
    const d = asDict(f)!;
    const attr = d.get('attr');
    const path = asList(d.get('path'))!
      .map((c) => asUtf8(c))
      .join('/');
    return `${path}:${asInt(d.get('length'))}${attr === undefined ? '' : `:${asUtf8(attr)}`}`;
  });
}

function isCode(code: string, message?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof MetainfoError || e instanceof StorageError, `unexpected ${String(e)}`);
    assert.equal(e.code, code);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  };
}

const threadCount = (): number =>
  Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

// --- fixtures ---

let dir: string;
let pool: HashPool;
const P = 32 * KiB;

/** The tree, in the order BEP 52 sorts it (raw UTF-8 bytes, component by component). */
const TREE: [string, number][] = [
  ['.hidden', 5],
  ['Zeta', P], // exactly one piece
  ['a/deep/er/x.bin', P + 1], // one byte past a piece
  ['a/empty', 0],
  ['a/y', 3 * P + 17], // several pieces: a piece layer
  ['a.txt', 1000],
  ['b', 0],
  ['café/naïve.txt', 40000],
  ['z', 7],
  ['日本/ファイル', 2 * P], // two whole pieces
];
const contents = new Map<string, Buffer>();

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'shoal-create-'));
  const root = join(dir, 'tree');
  // Write in an order unlike the sorted one, so sorting is really tested.
  for (const [path, length] of TREE.slice().reverse()) {
    const full = join(root, path);
    mkdirSync(join(full, '..'), { recursive: true });
    const data = randomBytes(length);
    writeFileSync(full, data);
    contents.set(path, data);
  }
  mkdirSync(join(root, 'empty-dir', 'nested'), { recursive: true });
  writeFileSync(join(dir, 'outside.txt'), 'secret outside the tree');
  symlinkSync(join(dir, 'outside.txt'), join(root, 'link-to-outside'));
  symlinkSync(dir, join(root, 'a', 'link-to-dir'));
  const fifo = spawnSync('mkfifo', [join(root, 'fifo')]);
  assert.equal(fifo.status, 0, 'mkfifo');
  writeFileSync(join(root, 'con.txt'), 'a Windows device name');
  pool = new HashPool({ threads: 2 });
});

after(async () => {
  await pool.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const treePath = (): string => join(dir, 'tree');

describe('createTorrent', () => {
  test('v1: sorted files, pieces = SHA-1 of the concatenation, skipped entries reported', async () => {
    const t = await createTorrent(treePath(), { pieceLength: P, hashPool: pool, creationDate: 1234 });
    assert.equal(t.version, 'v1');
    assert.equal(t.name, 'tree');
    const info = infoOf(t);
    assert.deepEqual(
      v1FileList(info),
      TREE.map(([p, n]) => `${p}:${n}`),
    );
    const stream = Buffer.concat(TREE.map(([p]) => contents.get(p)!));
    assert.deepEqual(Buffer.from(asBytes(info.get('pieces'))!), v1Pieces(stream, P));
    assert.equal(t.pieceCount, Math.ceil(stream.length / P));
    assert.equal(t.totalLength, stream.length);
    assert.deepEqual(Buffer.from(t.infoHashV1!), sha1(t.infoBytes));
    assert.equal(t.infoHashV2, undefined);
    assert.deepEqual(t.skipped.map((s) => `${s.path}:${s.reason}`).sort(), [
      'a/link-to-dir:symlink',
      'con.txt:unsafe-name',
      'fifo:special-file',
      'link-to-outside:symlink',
    ]);
    assert.ok(!Buffer.from(t.bytes).includes('outside'), 'nothing from outside the tree');
  });

  test('v2: every pieces root and piece layer equals a direct merkle computation', async () => {
    const t = await createTorrent(treePath(), { version: 'v2', pieceLength: P, hashPool: pool });
    const d = torrentDict(t);
    const info = asDict(d.get('info'))!;
    assert.equal(asInt(info.get('meta version')), 2);
    assert.equal(info.get('pieces'), undefined);
    const layers = asDict(d.get('piece layers'))!;
    let layerCount = 0;
    for (const [path, length] of TREE) {
      const leaf = treeLeaf(info, path.split('/'));
      assert.ok(leaf, path);
      assert.equal(asInt(leaf.get('length')), length);
      if (length === 0) {
        assert.equal(leaf.get('pieces root'), undefined, path);
        continue;
      }
      const expected = naiveV2(contents.get(path)!, P);
      const root = asBytes(leaf.get('pieces root'))!;
      assert.deepEqual(Buffer.from(root), expected.root, path);
      if (expected.layer === undefined) {
        assert.equal(layers.get(root), undefined, `${path} has no piece layer`);
      } else {
        layerCount++;
        assert.deepEqual(Buffer.from(asBytes(layers.get(root))!), expected.layer, path);
      }
    }
    assert.equal(layerCount, 4);
    assert.equal(layers.size, 4);
    assert.deepEqual(Buffer.from(t.infoHashV2!), sha256(t.infoBytes));
  });

  test('hybrid: padding aligns every file, v1 pieces include the zeros, v2 roots as in v2', async () => {
    const t = await createTorrent(treePath(), { version: 'hybrid', pieceLength: P, hashPool: pool });
    const info = infoOf(t);
    // Expected layout by hand: a pad after every file whose length is not a multiple of P.
    const expectedList: string[] = [];
    const parts: Buffer[] = [];
    for (const [path, length] of TREE) {
      expectedList.push(`${path}:${length}`);
      parts.push(contents.get(path)!);
      if (length % P !== 0) {
        expectedList.push(`.pad/${P - (length % P)}:${P - (length % P)}:p`);
        parts.push(Buffer.alloc(P - (length % P)));
      }
    }
    assert.deepEqual(v1FileList(info), expectedList);
    const stream = Buffer.concat(parts);
    assert.deepEqual(Buffer.from(asBytes(info.get('pieces'))!), v1Pieces(stream, P));
    for (const f of t.files) {
      if (!f.isPadding && f.length > 0) assert.equal(f.offset % P, 0, f.path.join('/'));
    }
    for (const [path, length] of TREE) {
      if (length === 0) continue;
      const leaf = treeLeaf(info, path.split('/'))!;
      assert.deepEqual(Buffer.from(asBytes(leaf.get('pieces root'))!), naiveV2(contents.get(path)!, P).root);
    }
  });

  test('pieces longer than the worker read buffer (chunked hashing)', async () => {
    const big = join(dir, 'big.bin');
    const data = randomBytes(2 * 1024 * KiB + 777);
    writeFileSync(big, data);
    const pieceLength = 2 * 1024 * KiB;
    const t = await createTorrent(big, { version: 'hybrid', pieceLength, hashPool: pool });
    const info = infoOf(t);
    assert.equal(asInt(info.get('length')), data.length, 'single-file form');
    assert.deepEqual(Buffer.from(asBytes(info.get('pieces'))!), v1Pieces(data, pieceLength));
    const leaf = treeLeaf(info, ['big.bin'])!;
    const expected = naiveV2(data, pieceLength);
    const root = asBytes(leaf.get('pieces root'))!;
    assert.deepEqual(Buffer.from(root), expected.root);
    assert.deepEqual(
      Buffer.from(asBytes(asDict(torrentDict(t).get('piece layers'))!.get(root))!),
      expected.layer,
    );
  });

  test('single file, name override, deterministic for a fixed creation date', async () => {
    const file = join(treePath(), 'a', 'y');
    const options = {
      pieceLength: P,
      hashPool: pool,
      creationDate: 1_700_000_000,
      name: 'renamed.bin',
    } as const;
    const t1 = await createTorrent(file, options);
    const t2 = await createTorrent(file, options);
    assert.deepEqual(t1.bytes, t2.bytes);
    const d = torrentDict(t1);
    assert.equal(asInt(d.get('creation date')), 1_700_000_000);
    assert.equal(asUtf8(d.get('created by')), 'Shoal/0.1.0');
    const info = asDict(d.get('info'))!;
    assert.equal(asUtf8(info.get('name')), 'renamed.bin');
    assert.equal(asInt(info.get('length')), 3 * P + 17);
    assert.deepEqual(
      t1.files.map((f) => f.path.join('/')),
      ['renamed.bin'],
    );
  });

  test('the input may itself be a symbolic link: followed, and the torrent named after the link', async () => {
    const link = join(dir, 'my-share');
    symlinkSync(treePath(), link);
    const viaLink = await createTorrent(link, { pieceLength: P, hashPool: pool, creationDate: null });
    const direct = await createTorrent(treePath(), {
      pieceLength: P,
      hashPool: pool,
      creationDate: null,
      name: 'my-share',
    });
    assert.equal(viaLink.name, 'my-share');
    assert.deepEqual(viaLink.bytes, direct.bytes);
  });

  test('creation date defaults to now and null leaves it (and created by) out', async () => {
    const file = join(treePath(), 'z');
    const before = Math.floor(Date.now() / 1000);
    const t = await createTorrent(file, { hashPool: pool });
    const date = asInt(torrentDict(t).get('creation date'))!;
    assert.ok(date >= before && date <= Math.floor(Date.now() / 1000) + 1);
    const bare = await createTorrent(file, { hashPool: pool, creationDate: null, createdBy: null });
    assert.deepEqual(
      torrentDict(bare).entries.map((e) => Buffer.from(e.key).toString()),
      ['info'],
    );
  });

  test('trackers, web seeds, private, comment', async () => {
    const t = await createTorrent(join(treePath(), 'z'), {
      hashPool: pool,
      trackers: [['http://t1.example/announce'], ['udp://t2.example:80']],
      webSeeds: ['https://ws.example/z'],
      isPrivate: true,
      comment: 'hi',
    });
    const d = torrentDict(t);
    assert.equal(asUtf8(d.get('announce')), 'http://t1.example/announce');
    assert.equal(asList(d.get('announce-list'))!.length, 2);
    assert.equal(asUtf8(asList(d.get('url-list'))![0]), 'https://ws.example/z');
    assert.equal(asUtf8(d.get('comment')), 'hi');
    assert.equal(asInt(asDict(d.get('info'))!.get('private')), 1);
  });

  test('automatic piece length and progress up to the total', async () => {
    const seen: [number, number][] = [];
    const t = await createTorrent(treePath(), { hashPool: pool, onProgress: (h, n) => seen.push([h, n]) });
    assert.equal(t.pieceLength, 16 * KiB);
    assert.deepEqual(seen[0], [0, t.totalLength]);
    assert.deepEqual(seen.at(-1), [t.totalLength, t.totalLength]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]![0] >= seen[i - 1]![0]);
  });

  test('errors: missing path, nothing to add, bad options', async () => {
    const create = ErrorCode.MetainfoCreate;
    await assert.rejects(
      createTorrent(join(dir, 'nope'), { hashPool: pool }),
      isCode(create, /path does not exist/),
    );
    mkdirSync(join(dir, 'hollow', 'sub'), { recursive: true });
    await assert.rejects(
      createTorrent(join(dir, 'hollow'), { hashPool: pool }),
      isCode(create, /no files to add/),
    );
    writeFileSync(join(dir, 'hollow', 'sub', 'zero'), '');
    await assert.rejects(
      createTorrent(join(dir, 'hollow'), { hashPool: pool }),
      isCode(create, /every file is empty/),
    );
    await assert.rejects(
      createTorrent(treePath(), { hashPool: pool, pieceLength: 3000 }),
      isCode(create, /power of two ≥ 16 KiB/),
    );
    await assert.rejects(
      createTorrent(treePath(), { hashPool: pool, trackers: [['::not a url::']] }),
      isCode(create, /invalid URL/),
    );
    await assert.rejects(
      createTorrent('/dev/null', { hashPool: pool }),
      isCode(create, /not a regular file/),
    );
  });

  test('a file shorter than listed is a StorageError', async () => {
    const file = join(dir, 'short.bin');
    writeFileSync(file, randomBytes(1000));
    const layout = planLayout([{ path: ['short.bin'], length: 5000 }], {
      name: 'short.bin',
      pieceLength: P,
      version: 'v1',
      isSingleFile: true,
    });
    await assert.rejects(hashLayout(layout, [file], pool), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, ErrorCode.StorageIo);
      assert.equal(e.details.op, 'read');
      assert.equal(e.details.path, file);
      return true;
    });
  });

  test('abort before and during hashing rejects with the signal reason; the pool stays usable', async () => {
    const big = join(dir, 'abort.bin');
    const size = 32 * 1024 * KiB; // 8 jobs per thread
    writeFileSync(big, Buffer.alloc(size, 1));
    const early = new AbortController();
    early.abort();
    await assert.rejects(createTorrent(big, { hashPool: pool, signal: early.signal }), {
      name: 'AbortError',
    });
    const late = new AbortController();
    let hashedAtEnd = 0;
    await assert.rejects(
      createTorrent(big, {
        hashPool: pool,
        pieceLength: 16 * KiB,
        signal: late.signal,
        onProgress: (hashed) => {
          hashedAtEnd = hashed;
          if (hashed > 0) late.abort();
        },
      }),
      { name: 'AbortError' },
    );
    // The jobs already in flight (at most 2 per thread) finish; no new one starts.
    const jobBytes = createJobBytes(size, pool.threads);
    assert.ok(hashedAtEnd > 0 && hashedAtEnd <= 4 * jobBytes, `stopped early (${hashedAtEnd})`);
    assert.ok(hashedAtEnd < size);
    const t = await createTorrent(join(treePath(), 'z'), { hashPool: pool });
    assert.equal(t.totalLength, 7);
  });

  test('without a pool, creates one and leaves no thread behind', async () => {
    await stat(dir); // start libuv's thread pool before counting
    const threads = threadCount();
    const t = await createTorrent(join(treePath(), 'a'), { threads: 1, version: 'hybrid' });
    assert.equal(t.files.filter((f) => !f.isPadding).length, 3);
    assert.equal(threadCount(), threads);
  });
});
