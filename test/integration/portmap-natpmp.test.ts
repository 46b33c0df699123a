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

/**
 * A scripted NAT-PMP server on 127.0.0.1: maps internal port p to p + 1000, logs every request.
 * With `mute`, the public-address requests made after the first mapping go unanswered.
 */
async function natPmpServer(opts: { mute?: boolean } = {}) {
  let muted = () => {};
  /** Resolves at the first public-address request left unanswered (`mute`). */
  const firstMuted = new Promise<void>((resolve) => {
    muted = resolve;
  });
  const server = createSocket('udp4');
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
  const seen: Request[] = [];
  const waiters: { f: (r: Request) => boolean; resolve: () => void }[] = [];
  const waitFor = (f: (r: Request) => boolean) =>
    new Promise<void>((resolve) => {
      if (seen.some(f)) resolve();
      else waiters.push({ f, resolve });
    });
  server.on('message', (m, rinfo) => {
    const op = m[1]!;
    if (op === 0 && opts.mute === true && seen.length > 0) {
      muted();
      return;
    }
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
  return { server, seen, waitFor, firstMuted };
}

test('NAT-PMP: a new local address deletes the mappings and makes them again', {
  timeout: 20_000,
}, async () => {
  const { server, seen } = await natPmpServer();
  let route = { gateway: '127.0.0.1', localAddress: '127.0.0.1' };
  let lookups = 0;
  let lookedUp = () => {};
  const mapper = new PortMapper([{ protocol: 'TCP', internalPort: 6881 }], {
    methods: ['natpmp'],
    route: async () => {
      lookups++;
      lookedUp();
      return route;
    },
    routeCheckMs: 100, // raised to PORTMAP_MIN_RENEW_MS (1 s)
    natPmpPort: server.address().port,
    leaseSeconds: 3600,
  });
  const failures: string[] = [];
  mapper.on('portmap:failed', (f) => failures.push(f.message));
  try {
    const mapped = () =>
      new Promise<PortMappingStatus>((resolve) =>
        mapper.on('portmap:changed', (s) => s.state === 'mapped' && s.mappings.length > 0 && resolve(s)),
      );
    const first = mapped();
    mapper.start();
    assert.equal((await first).mappings[0]?.externalPort, 7881);
    // Route checks with nothing changed send nothing (the lease is an hour away).
    const quiet = seen.length;
    const checked = lookups + 2;
    await new Promise<void>((r) => {
      lookedUp = () => lookups >= checked && r();
    });
    assert.equal(seen.length, quiet, 'no request while the route is unchanged');
    const again = mapped();
    route = { gateway: '127.0.0.1', localAddress: '127.0.0.2' };
    const s = await again;
    assert.equal(s.mappings[0]?.externalPort, 7881);
    assert.deepEqual(
      seen.slice(quiet).map((r) => [r.op, r.internalPort, r.lifetime]),
      [
        [2, 6881, 0], // the old mapping deleted
        [2, 6881, 3600], // made again
      ],
    );
    assert.ok(
      failures.some((m) => /our address changed from 127\.0\.0\.1 to 127\.0\.0\.2; mapping again/.test(m)),
      failures.join('; '),
    );
  } finally {
    await mapper.close();
    server.close();
  }
  assert.deepEqual(seen.at(-1), { op: 2, internalPort: 6881, lifetime: 0 }, 'deleted on close');
});

test('NAT-PMP: maps TCP and UDP, renews, deletes on close', { timeout: 20_000 }, async () => {
  const { server, seen, waitFor } = await natPmpServer();
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

test('NAT-PMP: closing in the middle of the first round deletes what the router granted', {
  timeout: 20_000,
}, async () => {
  // The mapping is granted, then the router never answers the public-address request that ends
  // the round: the mapping is not in the status yet when the mapper closes.
  const { server, seen, firstMuted } = await natPmpServer({ mute: true });
  const mapper = new PortMapper([{ protocol: 'TCP', internalPort: 6881 }], {
    methods: ['natpmp'],
    gateway: '127.0.0.1',
    localAddress: '127.0.0.1',
    natPmpPort: server.address().port,
  });
  try {
    mapper.start();
    // The mapping was answered: the mapper asks for the public address next.
    await firstMuted;
    assert.deepEqual(mapper.status().mappings, [], 'the round has not ended');
  } finally {
    await mapper.close();
    server.close();
  }
  assert.deepEqual(
    seen.map((r) => [r.op, r.internalPort, r.lifetime > 0]),
    [
      [2, 6881, true],
      [2, 6881, false],
    ],
    'granted, then deleted on close',
  );
  assert.equal(mapper.status().state, 'closed');
});
