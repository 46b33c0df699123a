/**
 * TorrentStorage.verifyAndWrite: a received piece is checked and, only when it matches, written
 * by the hash thread to every file it spans (v1 and hybrid, padding skipped); a piece that holds
 * bytes of an unselected file goes through the parts file instead.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../../src/metainfo/index.js';
import {
  createTorrent,
  FilePool,
  HashPool,
  PIECE_DIGEST_TAIL_BYTES,
  TorrentStorage,
} from '../../../src/storage/index.js';
import { SPLIT_SET_PIECE, SPLIT_SET_SIZES, writeSplitSet } from '../../helpers/payload.js';

const PIECE = SPLIT_SET_PIECE;
const SIZES = SPLIT_SET_SIZES;

describe('TorrentStorage.verifyAndWrite', () => {
  let dir = '';
  let hashes: HashPool;
  let files: FilePool;
  let data: Record<string, Buffer> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-verify-write-'));
    data = await writeSplitSet(join(dir, 'src', 'set'), 11);
    hashes = new HashPool({ threads: 1 });
    files = new FilePool();
  });
  after(async () => {
    await files.close();
    await hashes.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  /** Piece `i` as received, in an assembly-sized buffer. */
  async function received(storage: TorrentStorage, seed: TorrentStorage, i: number): Promise<Uint8Array> {
    const size = storage.map.pieceSize(i);
    const buf = new Uint8Array(storage.metainfo.pieceLength + PIECE_DIGEST_TAIL_BYTES);
    buf.set((await seed.readPiece(i)).subarray(0, size));
    return buf;
  }

  for (const version of ['v1', 'hybrid'] as const) {
    test(`${version}: matching pieces land in every file they span; a bad one is not written`, async () => {
      const t = await createTorrent(join(dir, 'src', 'set'), { pieceLength: PIECE, threads: 1, version });
      const m = parseTorrent(t.bytes);
      const seed = new TorrentStorage({ metainfo: m, downloadDir: join(dir, 'src'), files, hashes });
      const out = join(dir, `dl-${version}`);
      const storage = new TorrentStorage({ metainfo: m, downloadDir: out, files, hashes });
      // Piece 2 holds a.bin's tail (and, in the hybrid, padding before b.bin): first a bad copy.
      const bad = await received(storage, seed, 2);
      bad[7] = (bad[7] ?? 0) ^ 0xff;
      const r = await storage.verifyAndWrite(2, bad);
      assert.equal(r.ok, false);
      assert.equal(bad.byteLength, 0, 'the buffer moved to the hash thread');
      assert.equal(r.buffer.length, m.pieceLength + PIECE_DIGEST_TAIL_BYTES, 'and came back');
      const a = await readFile(join(out, 'set', 'a.bin')).catch(() => Buffer.alloc(0));
      assert.ok(
        a.every((x) => x === 0),
        'no byte of the bad piece was written',
      );
      for (let i = 0; i < m.pieceCount; i++) {
        const ok = await storage.verifyAndWrite(i, await received(storage, seed, i));
        assert.equal(ok.ok, true, `piece ${i}`);
      }
      for (const name of Object.keys(SIZES))
        assert.deepEqual(await readFile(join(out, 'set', name)), data[name], name);
      for (const f of m.files) if (f.isPadding) assert.equal(existsSync(join(out, ...f.path)), false);
    });
  }

  test('a pool made with storeOnThreads: false starts no thread; the pieces are written all the same', async () => {
    const lean = new HashPool({ threads: 1, storeOnThreads: false });
    try {
      await lean.warmUp();
      const t = await createTorrent(join(dir, 'src', 'set'), {
        pieceLength: PIECE,
        threads: 1,
        version: 'v1',
      });
      const m = parseTorrent(t.bytes);
      const seed = new TorrentStorage({ metainfo: m, downloadDir: join(dir, 'src'), files, hashes });
      const out = join(dir, 'dl-lean');
      const storage = new TorrentStorage({ metainfo: m, downloadDir: out, files, hashes: lean });
      const bad = await received(storage, seed, 0);
      bad[0] = (bad[0] ?? 0) ^ 1;
      assert.equal((await storage.verifyAndWrite(0, bad)).ok, false);
      for (let i = 0; i < m.pieceCount; i++) {
        const buf = await received(storage, seed, i);
        const r = await storage.verifyAndWrite(i, buf);
        assert.equal(r.ok, true, `piece ${i}`);
        assert.equal(r.buffer, buf, 'checked in place: the buffer never left');
      }
      for (const name of Object.keys(SIZES))
        assert.deepEqual(await readFile(join(out, 'set', name)), data[name], name);
      assert.equal(lean.liveThreads, 0, 'no hash thread started');
    } finally {
      await lean.destroy();
    }
  });

  test('a piece holding bytes of an unselected file goes to the parts file', async () => {
    const t = await createTorrent(join(dir, 'src', 'set'), { pieceLength: PIECE, threads: 1, version: 'v1' });
    const m = parseTorrent(t.bytes);
    const seed = new TorrentStorage({ metainfo: m, downloadDir: join(dir, 'src'), files, hashes });
    const out = join(dir, 'dl-parts');
    const storage = new TorrentStorage({ metainfo: m, downloadDir: out, files, hashes });
    await storage.setWantedFiles([false, true, false]);
    for (let i = 2; i <= 4; i++) {
      const r = await storage.verifyAndWrite(i, await received(storage, seed, i));
      assert.equal(r.ok, true);
    }
    assert.deepEqual(await readFile(join(out, 'set', 'b.bin')), data['b.bin']);
    assert.equal(existsSync(join(out, 'set', 'a.bin')), false, 'no a.bin beside the selected file');
    assert.equal(existsSync(storage.partsPath), true);
    for (let i = 2; i <= 4; i++) assert.equal(await storage.verifyPiece(i), true, `piece ${i} from disk`);
  });
});
