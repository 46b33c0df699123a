/**
 * uTP through Shoal's whole stack on 127.0.0.1: Sessions with `utp` dial and accept uTP streams,
 * which go through the same inbound stage as TCP (plaintext and MSE), and the session's one UDP
 * port carries uTP, the DHT and UDP tracker replies at once.
 *
 * - utp-only seeder and leecher (TCP neither listened on nor dialled): the torrent moves over uTP,
 *   plaintext and RC4, and the files are equal.
 * - utp-first towards a node without uTP: the uTP attempt gets no answer, TCP carries the torrent.
 * - One port: the DHT answers KRPC on the session's port, a UDP tracker sees its requests come
 *   from that port and its replies reach the session, while a uTP transfer runs on it.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type SessionOptions, type Torrent } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const TRANSFER_TIMEOUT_MS = 60_000;

/** The first `connected` entry of a torrent's peer log. */
function connected(t: Torrent): Promise<{ transport?: string; encrypted?: boolean }> {
  return new Promise((resolve) => {
    const on = (e: Parameters<Parameters<Torrent['on']>[1]>[0]) => {
      const entry = e as { type: string; transport?: string; encrypted?: boolean };
      if (entry.type !== 'connected') return;
      t.off('peer', on);
      resolve(entry);
    };
    t.on('peer', on);
  });
}

function done(t: Torrent): Promise<void> {
  if (t.state === 'seeding') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('transfer timed out')), TRANSFER_TIMEOUT_MS);
    t.once('done', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('uTP sessions on loopback', { timeout: 120_000 }, () => {
  let dir = '';
  let bytes: Uint8Array;
  let rels: string[];
  const sessions: Session[] = [];
  const sockets: Socket[] = [];
  const open = async (o: SessionOptions) => {
    const s = await Session.create({ host: '127.0.0.1', ...o });
    sessions.push(s);
    return s;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-utp-session-'));
    rels = await writeTree(join(dir, 'seed', 'payload'), { 'a.bin': 3_000_000, 'b/c.bin': 1_234_567 }, 7);
    bytes = (await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: 64 * 1024 })).bytes;
  });
  after(async () => {
    for (const s of sockets) s.close();
    await Promise.all(sessions.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  for (const encryption of ['disabled', 'require'] as const) {
    test(`utp-only both ends, ${encryption === 'require' ? 'RC4' : 'plaintext'}: the torrent moves over uTP`, async () => {
      const seed = await open({
        downloadDir: join(dir, 'seed'),
        transportPolicy: 'utp-only',
        encryption,
      });
      const out = join(dir, `leech-${encryption}`);
      const leech = await open({ downloadDir: out, transportPolicy: 'utp-only', encryption });
      await seed.addTorrent(bytes);
      const t = await leech.addTorrent(bytes);
      const first = connected(t);
      const finished = done(t);
      t.addPeer('127.0.0.1', seed.port);
      const c = await first;
      assert.equal(c.transport, 'utp');
      assert.equal(c.encrypted, encryption === 'require');
      assert.ok(leech.connectionCount >= 1, 'the uTP stream counts as a connection');
      await finished;
      assert.deepEqual(
        await treeDigests(join(out, 'payload'), rels),
        await treeDigests(join(dir, 'seed', 'payload'), rels),
      );
    });
  }

  test('utp-first towards a node without uTP: TCP carries the torrent', async () => {
    const seed = await open({ downloadDir: join(dir, 'seed') });
    const out = join(dir, 'leech-fallback');
    const leech = await open({ downloadDir: out, utp: true });
    assert.equal(leech.options.transportPolicy, 'utp-first');
    await seed.addTorrent(bytes);
    const t = await leech.addTorrent(bytes);
    const first = connected(t);
    const finished = done(t);
    t.addPeer('127.0.0.1', seed.port);
    assert.equal((await first).transport, 'tcp');
    await finished;
    assert.deepEqual(
      await treeDigests(join(out, 'payload'), rels),
      await treeDigests(join(dir, 'seed', 'payload'), rels),
    );
  });

  test('one UDP port: uTP, the DHT and a UDP tracker share the session port', async () => {
    // A UDP tracker that answers connect and announce, and notes where requests come from.
    const tracker = createSocket('udp4');
    sockets.push(tracker);
    await new Promise<void>((r) => tracker.bind(0, '127.0.0.1', r));
    const fromPorts: number[] = [];
    let announced: () => void = () => {};
    const announce = new Promise<void>((r) => {
      announced = r;
    });
    tracker.on('message', (msg, rinfo) => {
      fromPorts.push(rinfo.port);
      const action = msg.readUInt32BE(8);
      const tid = msg.readUInt32BE(12);
      if (action === 0) {
        const reply = Buffer.alloc(16);
        reply.writeUInt32BE(0, 0);
        reply.writeUInt32BE(tid, 4);
        reply.writeBigUInt64BE(0x1234n, 8);
        tracker.send(reply, rinfo.port, rinfo.address);
      } else if (action === 1) {
        // Only reached if the connect reply came back through the shared socket.
        const reply = Buffer.alloc(20);
        reply.writeUInt32BE(1, 0);
        reply.writeUInt32BE(tid, 4);
        reply.writeUInt32BE(1800, 8);
        tracker.send(reply, rinfo.port, rinfo.address);
        announced();
      }
    });
    const withTracker = (
      await createTorrent(join(dir, 'seed', 'payload'), {
        pieceLength: 64 * 1024,
        trackers: [[`udp://127.0.0.1:${tracker.address().port}`]],
      })
    ).bytes;

    const seed = await open({
      downloadDir: join(dir, 'seed'),
      transportPolicy: 'utp-only',
      dht: { bootstrap: [] },
    });
    assert.equal(seed.dhtPort, seed.port, 'the IPv4 DHT runs on the session port');
    await seed.addTorrent(withTracker);
    await announce;
    assert.ok(fromPorts.length >= 2);
    assert.ok(
      fromPorts.every((p) => p === seed.port),
      `tracker requests came from ${fromPorts}`,
    );

    // KRPC on the same port: a DHT ping is answered.
    const probe = createSocket('udp4');
    sockets.push(probe);
    const pong = new Promise<Buffer>((r) => probe.once('message', (m) => r(m)));
    probe.send(
      Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe'),
      seed.port,
      '127.0.0.1',
    );
    const reply = await pong;
    // dotAll: the random node id may hold a newline byte.
    assert.match(reply.toString('latin1'), /^d.*1:t2:aa.*1:y1:re$/s, 'a KRPC reply to our ping');

    // And uTP on it too.
    const out = join(dir, 'leech-one-port');
    const leech = await open({ downloadDir: out, transportPolicy: 'utp-only', trackers: false });
    const t = await leech.addTorrent(withTracker);
    const first = connected(t);
    const finished = done(t);
    t.addPeer('127.0.0.1', seed.port);
    assert.equal((await first).transport, 'utp');
    await finished;
    assert.deepEqual(
      await treeDigests(join(out, 'payload'), rels),
      await treeDigests(join(dir, 'seed', 'payload'), rels),
    );
  });
});
