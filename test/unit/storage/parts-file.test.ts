/**
 * File selection in TorrentStorage (issue 18): bytes of unselected files that share a piece with
 * selected ones go to the hidden parts file, never into a file named like the real one; reads,
 * hash checks and resume checks find them there; selecting the file later moves its verified
 * bytes into place; the parts file goes away when nothing needs it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../../src/metainfo/index.js';
import { toHex } from '../../../src/shared/hash.js';
import { createTorrent, FilePool, HashPool, TorrentStorage } from '../../../src/storage/index.js';
import { SPLIT_SET_PIECE, SPLIT_SET_SIZES, writeSplitSet } from '../../helpers/payload.js';

const PIECE = SPLIT_SET_PIECE;
const SIZES = SPLIT_SET_SIZES;

describe('TorrentStorage: unselected files and the parts file', () => {
  let dir = '';
  let hashes: HashPool;
  let files: FilePool;
  let data: Record<string, Buffer> = {};
  let torrent: Uint8Array;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-parts-'));
    data = await writeSplitSet(join(dir, 'src', 'set'), 3);
    torrent = (await createTorrent(join(dir, 'src', 'set'), { pieceLength: PIECE, threads: 1 })).bytes;
    hashes = new HashPool({ threads: 1 });
    files = new FilePool();
  });
  after(async () => {
    await files.close();
    await hashes.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  /** A piece's bytes as the seeder has them. */
  const piece = (i: number) => {
    const whole = Buffer.concat([data['a.bin']!, data['b.bin']!, data['c.bin']!]);
    return whole.subarray(i * PIECE, Math.min((i + 1) * PIECE, whole.length));
  };

  test('only the selected file appears; shared pieces verify, read back and survive a restart', async () => {
    const m = parseTorrent(torrent);
    const out = join(dir, 'dl1');
    const storage = new TorrentStorage({ metainfo: m, downloadDir: out, files, hashes });
    // Select b.bin only (file index 1): pieces 2..4 are downloaded, holding bytes of a and c.
    await storage.setWantedFiles([false, true, false]);
    for (let i = 2; i <= 4; i++) {
      assert.equal(await storage.verifyData(i, piece(i)), true);
      await storage.writePiece(i, piece(i));
    }
    assert.equal(existsSync(join(out, 'set', 'a.bin')), false, 'no a.bin beside the selected file');
    assert.equal(existsSync(join(out, 'set', 'c.bin')), false, 'no c.bin beside the selected file');
    assert.deepEqual(await readFile(join(out, 'set', 'b.bin')), data['b.bin']);
    const parts = join(out, '.shoal', `${toHex(m.infoHashV1!)}.parts`);
    assert.equal(storage.partsPath, parts);
    assert.ok((await stat(parts)).size <= 2 * (PIECE + 8), 'two shared pieces at most');
    for (let i = 2; i <= 4; i++) {
      assert.equal(await storage.verifyPiece(i), true, `piece ${i} verifies from disk`);
      assert.deepEqual(Buffer.from(await storage.readPiece(i)), piece(i));
    }
    await files.closeFile(parts);

    // A restart: a new storage object, same selection, finds the pieces the resume record claims.
    const again = new TorrentStorage({ metainfo: parseTorrent(torrent), downloadDir: out, files, hashes });
    await again.setWantedFiles([false, true, false]);
    const claimed = Array.from({ length: m.pieceCount }, (_, i) => i >= 2 && i <= 4);
    assert.deepEqual(await again.trustedPieces(claimed), claimed);
    const rechecked = await again.recheck();
    assert.deepEqual(rechecked, claimed, 'a recheck finds the shared pieces too');
  });

  test('selecting a file later moves its verified bytes into place', async () => {
    const m = parseTorrent(torrent);
    const out = join(dir, 'dl2');
    const storage = new TorrentStorage({ metainfo: m, downloadDir: out, files, hashes });
    await storage.setWantedFiles([false, true, false]);
    for (let i = 2; i <= 4; i++) await storage.writePiece(i, piece(i));
    // Piece 4 (b's tail and c's head) counts as verified, piece 2 (a's tail) does not.
    await storage.setWantedFiles([true, true, true], (p) => p === 4);
    const c = await readFile(join(out, 'set', 'c.bin'));
    const cHead = PIECE * 5 - (SIZES['a.bin'] + SIZES['b.bin']);
    assert.deepEqual(c.subarray(0, cHead), data['c.bin']!.subarray(0, cHead), "c.bin's verified bytes moved");
    const a = await readFile(join(out, 'set', 'a.bin')).catch(() => Buffer.alloc(0));
    assert.equal(a.length, 0, "a.bin's unverified bytes were not moved");
    assert.equal(existsSync(storage.partsPath), false, 'the parts file is gone once nothing needs it');
    // The moved piece still verifies where it is now.
    assert.equal(await storage.verifyPiece(4), true);
  });

  test('an unselected file that already exists keeps its bytes in place', async () => {
    const m = parseTorrent(torrent);
    const out = join(dir, 'dl3');
    await mkdir(join(out, 'set'), { recursive: true });
    await writeFile(join(out, 'set', 'a.bin'), data['a.bin']!);
    const storage = new TorrentStorage({ metainfo: m, downloadDir: out, files, hashes });
    await storage.setWantedFiles([false, true, false]);
    await storage.writePiece(2, piece(2));
    assert.deepEqual(await readFile(join(out, 'set', 'a.bin')), data['a.bin']);
    assert.equal(await storage.verifyPiece(2), true);
    assert.equal(await storage.verifyPiece(0), true, "a.bin's own pieces are usable");
  });
});
