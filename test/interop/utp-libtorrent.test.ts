/**
 * Interop: Shoal's uTP transport (BEP 29) against python3-libtorrent 2.0 restricted to uTP (TCP
 * off both ways), on 127.0.0.1, speaking BitTorrent through Shoal's own wire encoders and frame
 * decoder — no session, so this proves the transport alone.
 *
 * - We dial a uTP-only libtorrent seeder of a small torrent, exchange handshakes, ask for a whole
 *   piece block by block and check its SHA-1 against the torrent.
 * - A uTP-only libtorrent leecher dials our listening transport (`connect_peer`); we read its
 *   handshake (the info-hash must be the torrent's), answer, and seed it the whole torrent, which
 *   libtorrent verifies piece by piece.
 *
 * On failure the assertion message carries everything libtorrent printed.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import { UtpTransport } from '../../src/net/utp-transport.js';
import { createTorrent } from '../../src/storage/index.js';
import { ClientGroup, libtorrentMissing } from '../helpers/clients.js';
import { writeTree } from '../helpers/payload.js';
import { downloadPiece, servePieces, Wire } from '../helpers/utp-wire.js';

const missing = libtorrentMissing();
if (missing !== undefined) throw new Error(missing);

const PIECE_BYTES = 256 * 1024;
const STEP_TIMEOUT_MS = 20_000;

describe('uTP interop with python3-libtorrent (uTP only)', { timeout: 120_000 }, () => {
  const group = new ClientGroup();
  const transport = new UtpTransport();
  let torrentPath: string;
  let infoHash: Uint8Array;
  let pieceCount: number;
  let pieces: Uint8Array;
  let seedDir: string;
  let seedData: Uint8Array;

  before(async () => {
    seedDir = await group.dir('seed');
    await writeTree(join(seedDir, 'payload'), { 'data.bin': 3 * PIECE_BYTES + 12_345 }, 29);
    const t = await createTorrent(join(seedDir, 'payload', 'data.bin'), {
      version: 'v1',
      pieceLength: PIECE_BYTES,
    });
    torrentPath = join(await group.root(), 'utp.torrent');
    await writeFile(torrentPath, t.bytes);
    const meta = parseTorrent(t.bytes);
    infoHash = meta.infoHashV1!;
    pieceCount = meta.pieceCount;
    pieces = meta.pieces!;
    seedData = await readFile(join(seedDir, 'payload', 'data.bin'));
  });
  after(async () => {
    await transport.close();
    await group.stop();
  });

  test('we dial a uTP-only libtorrent seeder and download a whole piece', async () => {
    await group.explain(async () => {
      const lt = await group.libtorrent('libtorrent seeder (uTP only)', {
        torrent: torrentPath,
        saveDir: join(seedDir, 'payload'),
        seed: true,
        utpOnly: true,
      });
      await lt.waitFor('ready', STEP_TIMEOUT_MS);
      const stream = await transport.dial('127.0.0.1', lt.port, { timeoutMs: STEP_TIMEOUT_MS });
      assert.equal(stream.transport, 'utp');
      const index = 1;
      const got = await downloadPiece(stream, { infoHash, pieceCount }, index, PIECE_BYTES);
      assert.deepEqual([...got.remoteInfoHash], [...infoHash]);
      assert.deepEqual(
        [...got.sha1],
        [...pieces.subarray(index * 20, index * 20 + 20)],
        'SHA-1 of the piece',
      );
      // Our FIN was taken as a clean end, not a timeout (libtorrent ignores ACKs past a FIN).
      const gone = await lt.waitFor('peer_disconnected', STEP_TIMEOUT_MS);
      assert.match(String(gone.msg), /End of file/);
    });
  });

  test('a uTP-only libtorrent leecher dials our listening transport', async () => {
    await group.explain(async () => {
      // libtorrent tries an encrypted (MSE) handshake first; Shoal has no MSE yet, so those
      // streams are closed and libtorrent dials again in plaintext.
      let found: (w: Wire) => void = () => {};
      const plaintext = new Promise<Wire>((r) => {
        found = r;
      });
      let encrypted = 0;
      const port = await transport.listen({ host: '127.0.0.1', port: 0 }, (s) => {
        assert.equal(s.outgoing, false);
        assert.equal(s.remoteAddress, '127.0.0.1');
        let first = true;
        s.bind({
          data: (chunk) => {
            if (!first) return;
            first = false;
            if (chunk[0] !== 19) {
              encrypted++;
              s.destroy();
              return;
            }
            const wire = new Wire(s, pieceCount, chunk);
            found(wire);
          },
          drain: () => {},
          close: () => {},
        });
      });
      const dir = await group.dir('leech');
      const lt = await group.libtorrent('libtorrent leecher (uTP only)', {
        torrent: torrentPath,
        saveDir: dir,
        connect: [port],
        utpOnly: true,
      });
      const wire = await Promise.race([
        plaintext,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('libtorrent never sent a plaintext handshake')), 60_000).unref(),
        ),
      ]);
      const hs = await wire.until('handshake', () => wire.messages.find((m) => m.type === 'handshake'));
      assert.deepEqual(
        hs.type === 'handshake' && [...hs.infoHash],
        [...infoHash],
        'libtorrent asks for our torrent',
      );
      // We seed the whole torrent to it over uTP; libtorrent checks every piece's hash.
      const serving = servePieces(wire, { infoHash, pieceBytes: PIECE_BYTES, data: seedData });
      const done = await lt.waitFor('finished', 60_000);
      assert.ok(Number(done.downloaded) >= seedData.length, 'libtorrent downloaded the payload from us');
      wire.stream.destroy();
      assert.ok((await serving) >= seedData.length);
      console.log(
        `# libtorrent dialled us over uTP (${encrypted} encrypted attempt(s) refused first) and downloaded the torrent`,
      );
    });
  });
});
