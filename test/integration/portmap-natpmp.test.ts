/**
 * PortMapper against a scripted NAT-PMP server on loopback: both ports mapped, the external
 * address learned, renewals before the lease ends, and the mappings deleted (lifetime 0) on close.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { PortMapper, type PortMappingStatus } from '../../src/portmap/index.js';

interface Request {
  readonly op: number;
  readonly internalPort: number;
  readonly lifetime: number;
}

test('NAT-PMP: maps TCP and UDP, renews, deletes on close', { timeout: 20_000 }, async () => {
  const server = createSocket('udp4');
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
  const seen: Request[] = [];
  const waiters: { f: (r: Request) => boolean; resolve: () => void }[] = [];
  const waitFor = (f: (r: Request) => boolean) =>
    new Promise<void>((resolve) => waiters.push({ f, resolve }));
  server.on('message', (m, rinfo) => {
    const op = m[1]!;
    const reply = Buffer.alloc(op === 0 ? 12 : 16);
    reply[1] = 128 + op;
    reply.writeUInt32BE(1000 + seen.length, 4); // epoch moves forward: no restart
    if (op === 0) reply.set([203, 0, 113, 9], 8);
    else {
      const req = { op, internalPort: m.readUInt16BE(4), lifetime: m.readUInt32BE(8) };
      seen.push(req);
      reply.writeUInt16BE(req.internalPort, 8);
      reply.writeUInt16BE(req.lifetime === 0 ? 0 : req.internalPort + 1000, 10);
      reply.writeUInt32BE(req.lifetime, 12);
      for (const w of [...waiters]) if (w.f(req)) w.resolve();
    }
    server.send(reply, rinfo.port, rinfo.address);
  });
  const mapper = new PortMapper(
    [
      { protocol: 'TCP', internalPort: 6881 },
      { protocol: 'UDP', internalPort: 6882 },
    ],
    {
      methods: ['natpmp'],
      gateway: '127.0.0.1',
      localAddress: '127.0.0.1',
      natPmpPort: server.address().port,
      leaseSeconds: 2,
    },
  );
  try {
    const mapped = new Promise<PortMappingStatus>((resolve) =>
      mapper.on('portmap:changed', (s) => s.state === 'mapped' && resolve(s)),
    );
    mapper.start();
    const s = await mapped;
    assert.equal(s.method, 'natpmp');
    assert.equal(s.externalIp, '203.0.113.9');
    assert.deepEqual(s.mappings, [
      { protocol: 'TCP', internalPort: 6881, externalPort: 7881, lifetimeSeconds: 2 },
      { protocol: 'UDP', internalPort: 6882, externalPort: 7882, lifetimeSeconds: 2 },
    ]);
    assert.equal(mapper.externalPort('TCP', 6881), 7881);
    // A renewal comes at half the 2 s lease, asking for the port it holds.
    const before = seen.length;
    await waitFor(() => seen.length >= before + 2);
    assert.deepEqual(
      seen.slice(before, before + 2).map((r) => [r.op, r.internalPort, r.lifetime]),
      [
        [2, 6881, 2],
        [1, 6882, 2],
      ],
    );
  } finally {
    await mapper.close();
    server.close();
  }
  assert.deepEqual(
    seen.slice(-2).map((r) => [r.op, r.internalPort, r.lifetime]),
    [
      [2, 6881, 0],
      [1, 6882, 0],
    ],
  );
  assert.equal(mapper.status().state, 'closed');
  assert.deepEqual(mapper.status().mappings, []);
});
