/**
 * Fuzz target for .torrent parsing: any bytes must give a Metainfo that keeps its guarantees
 * (safe paths inside the download folder, consistent layout, the same result from the bare info
 * dictionary) or throw a ShoalError. Seeds: synthetic v1/v2/hybrid torrents and the libtorrent
 * fixtures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { storagePath } from '../src/metainfo/file-tree.js';
import { parseInfoDict, parseTorrent } from '../src/metainfo/parse.js';
import { joinSafe, unsafePathComponentReason } from '../src/metainfo/path-safety.js';
import { isShoalError } from '../src/shared/errors.js';
import { bytesEqual } from '../src/shared/hash.js';
import {
  buildTorrent,
  hybridMulti,
  toBytes,
  v1Multi,
  v2Multi,
} from '../test/unit/metainfo/torrent-builder.js';
import type { FuzzTarget } from './target.js';

const ROOT = '/fuzz-root';
const fixtures = new URL('../test/fixtures/torrents/valid/', import.meta.url).pathname;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`invariant broken: ${what}`);
}

export const target: FuzzTarget = {
  seeds: () => [
    toBytes(v1Multi()),
    toBytes(v2Multi()),
    toBytes(hybridMulti()),
    toBytes(buildTorrent({ version: 'v1', single: true, name: 's', files: [{ path: ['s'], length: 3 }] })),
    ...readdirSync(fixtures).map((f) => new Uint8Array(readFileSync(`${fixtures}${f}`))),
  ],
  run(input) {
    let m: ReturnType<typeof parseTorrent>;
    try {
      m = parseTorrent(input);
    } catch (e) {
      if (isShoalError(e)) return;
      throw e;
    }
    const space = m.pieceCount * m.pieceLength;
    check(unsafePathComponentReason(m.name) === undefined, 'name is safe');
    for (const f of m.files) {
      for (const c of f.path)
        check(unsafePathComponentReason(c) === undefined, `component ${JSON.stringify(c)} is safe`);
      check(joinSafe(ROOT, storagePath(m, f)).startsWith(`${ROOT}/`), 'file stays inside the root');
      check(f.offset + f.length <= space, 'file inside the piece space');
    }
    if (m.pieces !== undefined) check(m.pieces.length === 20 * m.pieceCount, 'one hash per piece');
    const bare = parseInfoDict(m.infoBytes);
    check(bare.pieceCount === m.pieceCount && bare.files.length === m.files.length, 'info dict parses alike');
    if (m.infoHashV1 !== undefined) check(bytesEqual(bare.infoHashV1!, m.infoHashV1), 'same v1 hash');
    if (m.infoHashV2 !== undefined) check(bytesEqual(bare.infoHashV2!, m.infoHashV2), 'same v2 hash');
  },
};
