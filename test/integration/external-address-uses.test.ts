/**
 * The external address and the mapped port are used (issue 24): a session behind a scripted
 * NAT-PMP router on loopback (it reports 203.0.113.9 and maps port p to p+1000) says so in
 * `external-address:changed`, tells an HTTP tracker the mapped port (and no `ip`), and its DHT
 * node takes a BEP 42 id for the router's address.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isValidNodeIdForIp } from '../../src/dht/index.js';
import { Session } from '../../src/session/index.js';
import type { ExternalAddressChanged } from '../../src/session/network-status.js';
import { createTorrent } from '../../src/storage/index.js';
import { writeTree } from '../helpers/payload.js';

test('behind a NAT-PMP router: the event, the tracker`s port, the BEP 42 node id', {
  timeout: 30_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-extaddr-'));
  // A NAT-PMP router: external address 203.0.113.9, port p mapped to p + 1000.
  const router = createSocket('udp4');
  await new Promise<void>((r) => router.bind(0, '127.0.0.1', () => r()));
  router.on('message', (m, rinfo) => {
    const op = m[1]!;
    const reply = Buffer.alloc(op === 0 ? 12 : 16);
    reply[1] = 128 + op;
    reply.writeUInt32BE(1000, 4);
    if (op === 0) reply.set([203, 0, 113, 9], 8);
    else {
      const internal = m.readUInt16BE(4);
      const lifetime = m.readUInt32BE(8);
      reply.writeUInt16BE(internal, 8);
      reply.writeUInt16BE(lifetime === 0 ? 0 : internal + 1000, 10);
      reply.writeUInt32BE(lifetime, 12);
    }
    router.send(reply, rinfo.port, rinfo.address);
  });
  // An HTTP tracker that records each announce's query.
  const announces: URLSearchParams[] = [];
  const announced: (() => void)[] = [];
  const tracker = createServer((req, res) => {
    announces.push(new URL(req.url ?? '/', 'http://x').searchParams);
    for (const f of announced.splice(0)) f();
    res.end('d8:intervali1800e5:peers0:e');
  });
  await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', () => r()));
  const trackerPort = (tracker.address() as { port: number }).port;
  let session: Session | undefined;
  try {
    await writeTree(join(dir, 'seed'), { 'a.bin': 40_000 }, 3);
    const t = await createTorrent(join(dir, 'seed', 'a.bin'), {
      version: 'v1',
      pieceLength: 16 * 1024,
      trackers: [[`http://127.0.0.1:${trackerPort}/announce`]],
    });
    session = await Session.create({
      host: '127.0.0.1',
      downloadDir: join(dir, 'seed'),
      hashThreads: 1,
      dht: { bootstrap: [] },
      portMapping: {
        methods: ['natpmp'],
        gateway: '127.0.0.1',
        localAddress: '127.0.0.1',
        natPmpPort: router.address().port,
      },
    });
    const s = session;
    const changed = new Promise<ExternalAddressChanged>((resolve) =>
      s.on('external-address:changed', (e) => e.address !== undefined && resolve(e)),
    );
    await s.addTorrent(t.bytes);
    const e = await changed;
    assert.deepEqual(e, { family: 4, address: '203.0.113.9', source: 'router', port: s.port + 1000 });
    assert.equal(s.externalAddress(), '203.0.113.9');
    assert.equal(s.network.port(), s.port + 1000);
    // The tracker hears the mapped port: at the first announce if the mapping came first, else
    // at once when it came. Never an `ip`.
    while (!announces.some((q) => q.get('port') === String(s.port + 1000)))
      await new Promise<void>((r) => announced.push(r));
    for (const q of announces) assert.equal(q.get('ip'), null);
    // The DHT node id conforms to BEP 42 for the router's address.
    const deadline = performance.now() + 10_000;
    const nodeId = () => Buffer.from(s.dhtStats()?.ids.ipv4 ?? '', 'hex');
    while (!isValidNodeIdForIp(nodeId(), '203.0.113.9')) {
      assert.ok(performance.now() < deadline, 'the node id follows the external address');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await session?.close();
    router.close();
    await new Promise<void>((r) => tracker.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  }
});
