/**
 * Builds real .torrent structures for tests: v1 (single and multi-file), v2 and hybrid, with
 * correct SHA-1 piece hashes, v2 merkle roots and piece layers computed from small synthetic
 * file contents. The result is a pair of plain mutable objects (`outer`, `info`) so a test can
 * break exactly one field before encoding with {@link toBytes}.
 */
import assert from 'node:assert/strict';
import { type Encodable, encode } from '../../../src/codec/index.js';
import { MetainfoError } from '../../../src/metainfo/errors.js';
import { blockCount, fileRootFromBlocks, pieceLayerFromBlocks } from '../../../src/metainfo/merkle.js';
import { parseTorrent } from '../../../src/metainfo/parse.js';
import type { ErrorCode } from '../../../src/shared/errors.js';
import { sha1, sha256 } from '../../../src/shared/hash.js';
import { BLOCK_BYTES } from '../../../src/shared/limits.js';

export type Dict = { [key: string]: Encodable | undefined };

export interface FileSpec {
  readonly path: readonly string[];
  readonly length: number;
  /** Seed of the synthetic content. @default index of the file */
  readonly seed?: number;
}

export interface TorrentSpec {
  readonly version: 'v1' | 'v2' | 'hybrid';
  readonly name?: string;
  /** @default 16384 */
  readonly pieceLength?: number;
  /** One entry and `single: true` makes a single-file torrent named after `name`. */
  readonly files: readonly FileSpec[];
  readonly single?: boolean;
  /** Hybrids only: insert BEP 47 padding between files. @default true */
  readonly padding?: boolean;
  /** Bytes of padding appended after the last file (v1 half). @default 0 */
  readonly tailPadding?: number;
}

export interface BuiltTorrent {
  readonly outer: Dict;
  readonly info: Dict;
  /** File contents in piece-space order (non-padding files only). */
  readonly contents: ReadonlyMap<string, Uint8Array>;
  /** v2 pieces root of each non-empty file, by joined path. */
  readonly roots: ReadonlyMap<string, Uint8Array>;
  /** v2 piece layer of each file larger than a piece, by joined path. */
  readonly layers: ReadonlyMap<string, Uint8Array>;
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function syntheticContent(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function comparePaths(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareUtf8(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function v1Pieces(data: Uint8Array, pieceLength: number): Uint8Array {
  const hashes: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += pieceLength)
    hashes.push(sha1(data.subarray(at, at + pieceLength)));
  return concat(hashes);
}

function blockHashes(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < blockCount(data.length); i++) {
    out.push(sha256(data.subarray(i * BLOCK_BYTES, (i + 1) * BLOCK_BYTES)));
  }
  return out;
}

/** Builds a valid torrent from `spec`. */
export function buildTorrent(spec: TorrentSpec): BuiltTorrent {
  const pieceLength = spec.pieceLength ?? BLOCK_BYTES;
  const name = spec.name ?? 'shoal-test';
  const single = spec.single === true;
  const files =
    spec.version === 'v1' ? [...spec.files] : [...spec.files].sort((a, b) => comparePaths(a.path, b.path));
  const contents = new Map<string, Uint8Array>();
  files.forEach((f, i) => {
    contents.set(f.path.join('/'), syntheticContent(f.length, f.seed ?? i));
  });
  const info: Dict = { name, 'piece length': pieceLength };
  const outer: Dict = { announce: 'http://tracker.test/announce', 'creation date': 1_700_000_000 };
  const roots = new Map<string, Uint8Array>();
  const layers = new Map<string, Uint8Array>();

  if (spec.version !== 'v1') {
    info['meta version'] = 2;
    const tree: Dict = {};
    const pieceLayers = new Map<Uint8Array, Encodable>();
    for (const f of files) {
      const key = f.path.join('/');
      const data = contents.get(key)!;
      const props: Dict = { length: f.length };
      if (f.length > 0) {
        const blocks = blockHashes(data);
        const root = fileRootFromBlocks(blocks);
        roots.set(key, root);
        props['pieces root'] = root;
        if (f.length > pieceLength) {
          const layer = concat(pieceLayerFromBlocks(blocks, pieceLength));
          layers.set(key, layer);
          if (![...pieceLayers.keys()].some((k) => Buffer.compare(k, root) === 0))
            pieceLayers.set(root, layer);
        }
      }
      let node = tree;
      const path = single ? [name] : f.path;
      for (const c of path) {
        node[c] ??= {};
        node = node[c] as Dict;
      }
      node[''] = props;
    }
    info['file tree'] = tree;
    outer['piece layers'] = pieceLayers;
  }

  if (spec.version !== 'v2') {
    const parts: Uint8Array[] = [];
    const list: Dict[] = [];
    let offset = 0;
    files.forEach((f, i) => {
      parts.push(contents.get(f.path.join('/'))!);
      list.push({ length: f.length, path: [...f.path] });
      offset += f.length;
      const isLast = i === files.length - 1;
      // Hybrids pad every non-empty file but the last to a piece boundary (BEP 47).
      if (spec.version === 'hybrid' && spec.padding !== false && !isLast && offset % pieceLength !== 0) {
        const pad = pieceLength - (offset % pieceLength);
        parts.push(new Uint8Array(pad));
        list.push({ length: pad, path: ['.pad', String(pad)], attr: 'p' });
        offset += pad;
      }
    });
    if (spec.tailPadding !== undefined && spec.tailPadding > 0) {
      parts.push(new Uint8Array(spec.tailPadding));
      list.push({ length: spec.tailPadding, path: ['.pad', String(spec.tailPadding)], attr: 'p' });
    }
    info.pieces = v1Pieces(concat(parts), pieceLength);
    if (single) info.length = files[0]!.length;
    else info.files = list;
  }
  return { outer, info, contents, roots, layers };
}

/** Encodes a built (and possibly broken) torrent. */
export function toBytes(t: Pick<BuiltTorrent, 'outer' | 'info'>): Uint8Array {
  return encode({ ...t.outer, info: t.info });
}

/** A valid v1 multi-file torrent, ready to break. */
export function v1Multi(): BuiltTorrent {
  return buildTorrent({
    version: 'v1',
    files: [
      { path: ['a.txt'], length: 20_000 },
      { path: ['sub', 'b.bin'], length: 5_000 },
    ],
  });
}

/** A valid v2 torrent with one file spanning several pieces and one small file. */
export function v2Multi(): BuiltTorrent {
  return buildTorrent({
    version: 'v2',
    files: [
      { path: ['big.bin'], length: 3 * BLOCK_BYTES + 100 },
      { path: ['dir', 'small.txt'], length: 1_000 },
    ],
  });
}

/** A valid hybrid torrent with padding, an empty file and a multi-piece file. */
export function hybridMulti(): BuiltTorrent {
  return buildTorrent({
    version: 'hybrid',
    files: [
      { path: ['a.bin'], length: 2 * BLOCK_BYTES + 7 },
      { path: ['b', 'empty'], length: 0 },
      { path: ['c.txt'], length: 999 },
    ],
  });
}

type Code = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Asserts that parseTorrent throws a MetainfoError with `code`, a `field` equal to (or matching)
 * `field`, and a message containing `text`; returns the error.
 */
export function rejects(bytes: Uint8Array, code: Code, field: string | RegExp, text?: string): MetainfoError {
  let caught: unknown;
  try {
    parseTorrent(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof MetainfoError, `expected MetainfoError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (typeof field === 'string') assert.equal(caught.field, field, caught.message);
  else assert.match(caught.field, field, caught.message);
  assert.equal(caught.details.field, caught.field);
  if (text !== undefined) {
    assert.ok(caught.message.includes(text), `message ${JSON.stringify(caught.message)} lacks ${text}`);
  }
  return caught;
}

/** A fresh torrent from `make`, broken by `edit`, encoded. */
export function broken(make: () => BuiltTorrent, edit: (t: BuiltTorrent) => void): Uint8Array {
  const t = make();
  edit(t);
  return toBytes(t);
}

/** The v1 `files` list of a built torrent. */
export function filesOf(t: BuiltTorrent): Dict[] {
  return t.info.files as Dict[];
}
