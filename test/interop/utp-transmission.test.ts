/**
 * Interop: Shoal's uTP transport (BEP 29) against Transmission 3.00 (libutp) on 127.0.0.1. We dial
 * a seeding transmission-cli over uTP, speak BitTorrent through Shoal's wire codec, download a
 * whole piece and check its SHA-1 against the torrent, then close with a FIN.
 *
 * On failure the assertion message carries everything Transmission printed.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import { UtpTransport } from '../../src/net/utp-transport.js';
import { createTorrent } from '../../src/storage/index.js';
import { ClientGroup, transmissionMissing } from '../helpers/clients.js';
import { writeTree } from '../helpers/payload.js';
import { downloadPiece } from '../helpers/utp-wire.js';

const missing = transmissionMissing();
if (missing !== undefined) throw new Error(missing);

const PIECE_BYTES = 256 * 1024;

describe('uTP interop with Transmission 3.00', { timeout: 90_000 }, () => {
  const group = new ClientGroup();
  const transport = new UtpTransport();
  after(async () => {
    await transport.close();
    await group.stop();
  });

  test('we dial a Transmission seeder over uTP and download a whole piece', async () => {
    await group.explain(async () => {
      const seedDir = await group.dir('seed');
      await writeTree(seedDir, { 'data.bin': 3 * PIECE_BYTES + 4321 }, 31);
      const t = await createTorrent(join(seedDir, 'data.bin'), { version: 'v1', pieceLength: PIECE_BYTES });
      const torrentPath = join(await group.root(), 'utp-tr.torrent');
      await writeFile(torrentPath, t.bytes);
      const meta = parseTorrent(t.bytes);
      const tr = await group.transmission('transmission seeder (uTP on)', {
        torrent: torrentPath,
        downloadDir: seedDir,
        utp: true,
      });
      await tr.waitSeeding(30_000);
      const stream = await transport.dial('127.0.0.1', tr.port, { timeoutMs: 20_000 });
      assert.equal(stream.transport, 'utp');
      const index = 2;
      const got = await downloadPiece(
        stream,
        { infoHash: meta.infoHashV1!, pieceCount: meta.pieceCount },
        index,
        PIECE_BYTES,
      );
      assert.deepEqual([...got.remoteInfoHash], [...meta.infoHashV1!]);
      assert.match(Buffer.from(got.peerId).toString('latin1'), /^-TR/, 'the peer id names Transmission');
      assert.deepEqual(
        [...got.sha1],
        [...meta.pieces!.subarray(index * 20, index * 20 + 20)],
        'SHA-1 of the piece',
      );
    });
  });
});
