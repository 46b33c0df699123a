/**
 * WebTorrent 3 in Node (test/interop/webtorrent: webrtc-polyfill, i.e. libdatachannel through
 * node-datachannel 0.33.4) and Shoal over WebRTC, found through Shoal's WebSocket tracker, on
 * 127.0.0.1 (both bind ICE to loopback): WebTorrent downloads from a Shoal seeder, and Shoal
 * downloads from a WebTorrent seeder. Neither side knows the other's TCP port: the data channel
 * is the only way.
 *
 * webrtc-polyfill never reports the end of ICE gathering, so WebTorrent waits 5 s before each
 * offer and answer (INTEROP-NOTES): the bounds below allow for it.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type Torrent } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { startTracker, type TrackerServer } from '../../src/tracker/index.js';
import { ClientGroup, logShoalTorrent, shoalDone, webtorrentMissing } from '../helpers/clients.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const TRANSFER_TIMEOUT_MS = 60_000;
const WS_INTERVAL_S = 10;
const FILES = { 'a.bin': 3_000_000, 'sub/b.bin': 456_789 };

/** Resolves with the transport of the first peer `t` logs as connected. */
function firstTransport(t: Torrent): Promise<string | undefined> {
  return new Promise((resolve) => {
    const on = (e: { type: string; transport?: string }) => {
      if (e.type !== 'connected') return;
      t.off('peer', on);
      resolve(e.transport);
    };
    t.on('peer', on);
  });
}

describe('WebTorrent ↔ Shoal over WebRTC through Shoal’s WebSocket tracker', {
  skip: webtorrentMissing(),
}, () => {
  const group = new ClientGroup();
  let tracker: TrackerServer;
  let torrentPath = '';
  let bytes: Uint8Array;
  let seedDir = '';
  let rels: string[] = [];
  let want: string[] = [];
  const sessions: Session[] = [];
  before(async () => {
    const root = await group.root();
    // WebTorrent announces again (with fresh offers) at the tracker's interval: a short one
    // retries a WebRTC connection that failed on a loaded machine well within the bound.
    tracker = await startTracker({ host: '127.0.0.1', udpPort: null, ws: { intervalS: WS_INTERVAL_S } });
    seedDir = join(root, 'seed');
    rels = await writeTree(join(seedDir, 'payload'), FILES, 31);
    const t = await createTorrent(join(seedDir, 'payload'), {
      version: 'v1',
      pieceLength: 65536,
      trackers: [[tracker.wsAnnounceUrl as string]],
    });
    bytes = t.bytes;
    torrentPath = join(root, 'payload.torrent');
    await writeFile(torrentPath, bytes);
    want = await treeDigests(join(seedDir, 'payload'), rels);
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await group.stop();
    await tracker.close();
  });
  const shoal = async (name: string, dir: string) => {
    const s = await Session.create({
      host: '127.0.0.1',
      downloadDir: dir,
      webrtc: { bindAddress: '127.0.0.1' },
    });
    sessions.push(s);
    const torrent = await s.addTorrent(bytes);
    logShoalTorrent(torrent, group.log(name));
    return { session: s, torrent };
  };

  test('WebTorrent downloads from a Shoal seeder', { timeout: TRANSFER_TIMEOUT_MS + 15_000 }, async () => {
    await group.explain(async () => {
      const { torrent } = await shoal('shoal seeder', seedDir);
      assert.equal(torrent.state, 'seeding');
      const transport = firstTransport(torrent);
      const out = await group.dir('wt-leecher');
      const wt = await group.webtorrent('webtorrent leecher', {
        torrent: torrentPath,
        saveDir: out,
        webrtc: true,
      });
      await wt.waitFor('finished', TRANSFER_TIMEOUT_MS);
      assert.equal(await transport, 'webrtc');
      assert.deepEqual(await treeDigests(join(out, 'payload'), rels), want, 'sha256 equal');
      await wt.stop();
    });
  });

  test('Shoal downloads from a WebTorrent seeder', { timeout: TRANSFER_TIMEOUT_MS + 15_000 }, async () => {
    await group.explain(async () => {
      const wt = await group.webtorrent('webtorrent seeder', {
        torrent: torrentPath,
        saveDir: seedDir,
        seed: true,
        webrtc: true,
      });
      await wt.waitFor('ready', TRANSFER_TIMEOUT_MS);
      const out = await group.dir('shoal-leecher');
      const { torrent } = await shoal('shoal leecher', out);
      const transport = firstTransport(torrent);
      await shoalDone(torrent, TRANSFER_TIMEOUT_MS);
      assert.equal(await transport, 'webrtc');
      assert.deepEqual(await treeDigests(join(out, 'payload'), rels), want, 'sha256 equal');
      await wt.stop();
    });
  });
});
