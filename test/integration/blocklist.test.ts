/**
 * The IP blocklist in a session (SessionOptions.blocklist, session.setBlocklist): a seeder on a
 * blocked address (127.0.0.2) is never dialled and its incoming connection is refused before a
 * byte is read, while an unblocked seeder on 127.0.0.1 serves the download; a new list closes
 * connections to the addresses it blocks.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BLOCKED_REASON } from '../../src/net/index.js';
import { Session, type Torrent } from '../../src/session/index.js';
import { ErrorCode, isShoalError } from '../../src/shared/errors.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';
import { ScriptedPeer, within } from '../helpers/scripted-peer.js';

const STEP_MS = 10_000;
const FILES = { 'a.bin': 600_000, 'b.bin': 200_000 };

describe('IP blocklist', { timeout: 90_000 }, () => {
  let dir = '';
  let bytes: Uint8Array;
  let blocked: Session;
  let open: Session;
  let blockedTorrent: Torrent;
  let openTorrent: Torrent;
  const sessions: Session[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-blocklist-'));
    await writeTree(join(dir, 'seed', 'payload'), FILES, 5);
    bytes = (await createTorrent(join(dir, 'seed', 'payload'), { version: 'v1', pieceLength: 32 * 1024 }))
      .bytes;
    blocked = await Session.create({ host: '127.0.0.2', downloadDir: join(dir, 'seed'), hashThreads: 1 });
    open = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'seed'), hashThreads: 1 });
    sessions.push(blocked, open);
    blockedTorrent = await blocked.addTorrent(bytes);
    openTorrent = await open.addTorrent(bytes);
    assert.equal(blockedTorrent.state, 'seeding');
    assert.equal(openTorrent.state, 'seeding');
  });

  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  test('the blocked seeder is never dialled nor heard; the other one serves the download', async () => {
    const leecher = await Session.create({
      host: '127.0.0.1',
      downloadDir: join(dir, 'leech'),
      hashThreads: 1,
      blocklist: { text: '# test list\nLoopback two:127.0.0.2-127.0.0.2\n' },
    });
    sessions.push(leecher);
    assert.equal(leecher.blocklist?.rangesMerged, 1);
    const t = await leecher.addTorrent(bytes);
    t.addPeer('127.0.0.2', blocked.port);
    t.addPeer('127.0.0.1', open.port);
    if (!t.isFinished) await within(t.next('done'), STEP_MS * 3, 'the download');
    assert.deepEqual(
      await treeDigests(join(dir, 'leech', 'payload'), Object.keys(FILES)),
      await treeDigests(join(dir, 'seed', 'payload'), Object.keys(FILES)),
    );
    const log = t.peerLog();
    assert.ok(
      log.some(
        (e) =>
          e.type === 'refused' && e.address === `127.0.0.2:${blocked.port}` && e.reason === BLOCKED_REASON,
      ),
      JSON.stringify(log),
    );
    assert.ok(log.some((e) => e.type === 'connected' && e.address.startsWith('127.0.0.1:')));
    assert.ok(!log.some((e) => e.type === 'connected' && e.address.startsWith('127.0.0.2:')));
    assert.deepEqual(blockedTorrent.peerLog(), [], 'the blocked seeder saw nobody');

    // The blocked address dials us: refused before anything is read or sent.
    const refused = within(
      new Promise<{ address: string; reason: string }>((resolve) => leecher.once('peer:refused', resolve)),
      STEP_MS,
      'the refusal',
    );
    const socket = connect({ host: '127.0.0.1', port: leecher.port, localAddress: '127.0.0.2' });
    const peer = new ScriptedPeer(socket, { infoHash: t.wireInfoHash });
    socket.once('connect', () => peer.sendHandshake());
    const r = await refused;
    assert.equal(r.address, '127.0.0.2');
    assert.equal(r.reason, BLOCKED_REASON);
    const closed = await within(peer.closed, STEP_MS, 'the close');
    assert.equal(closed.bytesReceived, 0);
    assert.equal(peer.messages.length, 0);
  });

  test('a new list closes connections to what it blocks; a bad list is refused and the old one stays', async () => {
    const leecher = await Session.create({
      host: '127.0.0.1',
      downloadDir: join(dir, 'leech2'),
      hashThreads: 1,
      // Slow: the connection must still be open when the list changes.
      downloadRateLimit: 64 * 1024,
    });
    sessions.push(leecher);
    const t = await leecher.addTorrent(bytes);
    const connected = within(
      new Promise<void>((resolve) => t.on('peer', (e) => e.type === 'connected' && resolve())),
      STEP_MS,
      'the connection',
    );
    t.addPeer('127.0.0.1', open.port);
    await connected;
    const warned = within(
      new Promise<string>((resolve) => leecher.once('warning', (w) => resolve(w.message))),
      STEP_MS,
      'the warning',
    );
    const gone = within(
      new Promise<string | undefined>((resolve) =>
        t.on('peer', (e) => e.type === 'disconnected' && resolve(e.reason)),
      ),
      STEP_MS,
      'the disconnect',
    );
    const report = await leecher.setBlocklist({ text: '127.0.0.0/30\nnot a range\n' });
    assert.equal(report?.ranges, 1);
    assert.equal(report?.malformed, 1);
    assert.deepEqual(report?.errors[0]?.line, 2);
    assert.match(await warned, /blocklist: 1 malformed line\(s\) skipped \(line 2: /);
    assert.equal(await gone, BLOCKED_REASON);
    assert.equal(t.stats().peerCount, 0);
    assert.equal(leecher.pool.isBlocked('127.0.0.1'), true);

    await assert.rejects(leecher.setBlocklist({ path: join(dir, 'missing.p2p') }), (e) =>
      isShoalError(e, ErrorCode.NetBlocklist),
    );
    assert.equal(leecher.pool.isBlocked('127.0.0.1'), true, 'the old list stays');
    await leecher.setBlocklist(undefined);
    assert.equal(leecher.pool.isBlocked('127.0.0.1'), false);
    assert.equal(leecher.blocklist, undefined);
  });
});
