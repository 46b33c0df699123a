/**
 * DhtRuntime on real UDP sockets, 127.0.0.1 / ::1 only: a small loopback DHT where announces are
 * found, pings, the state file, hostile datagrams, aborts and a clean close.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setImmediate as setImmediateP } from 'node:timers/promises';
import { decode, encode } from '../../../src/codec/index.js';
import { DHT_K, decodeKrpc, encodeKrpc } from '../../../src/dht/index.js';
import { DhtRuntime, type DhtRuntimeEvents } from '../../../src/discovery/dht-runtime.js';
import { decodeDhtState, encodeDhtState } from '../../../src/discovery/dht-state-file.js';
import {
  createDhtTestnet,
  type DhtTestnet,
  LOOPBACK_DHT_NODE_OPTIONS,
} from '../../../src/discovery/dht-testnet.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { MAX_DHT_STATE_FILE_BYTES } from '../../../src/shared/limits.js';

const LOOP = '127.0.0.1';
const hash = (n: number) => new Uint8Array(20).fill(n);

/** Resolves when `cond()` holds (checked every 10 ms); rejects after `ms`. */
async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every peer a get_peers lookup yields. */
async function collectPeers(rt: DhtRuntime, h: Uint8Array, ms = 5000): Promise<string[]> {
  const out: string[] = [];
  for await (const p of rt.getPeers(h, { signal: AbortSignal.timeout(ms) })) {
    if (p.type === 'peers') for (const a of p.peers) out.push(`${a.host}:${a.port}`);
  }
  return out;
}

/** A raw UDP socket on 127.0.0.1 for crafted datagrams. */
async function rawSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, LOOP, () => r()));
  return s;
}

function nextDatagram(s: dgram.Socket, ms: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      s.off('message', on);
      reject(new Error('no datagram'));
    }, ms);
    const on = (m: Buffer) => {
      clearTimeout(t);
      resolve(m);
    };
    s.once('message', on);
  });
}

async function closeSocket(s: dgram.Socket): Promise<void> {
  await new Promise<void>((r) => s.close(() => r()));
  // The handle itself goes in the loop's next close phase.
  await setImmediateP();
  await setImmediateP();
}

function handles(): { udp: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return {
    udp: info.filter((x) => x === 'UDPWrap').length,
    timers: info.filter((x) => x === 'Timeout').length,
  };
}

describe('DhtRuntime on a 12-node loopback DHT', () => {
  let net: DhtTestnet;
  before(async () => {
    net = await createDhtTestnet({ size: 12 });
  });
  after(async () => {
    await net?.close();
  });

  test('every node bootstrapped into a routing table', () => {
    for (const rt of net.nodes) {
      const s = rt.stats();
      assert.ok(s.nodes >= 1, `node on ${rt.port} has ${s.nodes} nodes`);
      assert.equal(s.ipv6, undefined, 'no IPv6 DHT on a 127.0.0.1 runtime');
      assert.equal(s.ids.ipv4?.length, 40);
    }
    // Every node bootstrapped through the first, which keeps each one that fits: a bucket of
    // nodes sharing i leading bits with it holds DHT_K of them (with 11 random ids, more than
    // DHT_K can share none: ~0.6 % of runs, which once failed a fixed `>= 10` here).
    const ids = net.nodes.map((n) => BigInt(`0x${n.stats().ids.ipv4}`));
    const perPrefix = new Map<number, number>();
    for (const id of ids.slice(1)) {
      const shared = 160 - (id ^ ids[0]!).toString(2).length;
      perPrefix.set(shared, (perPrefix.get(shared) ?? 0) + 1);
    }
    const room = [...perPrefix.values()].reduce((n, c) => n + Math.min(c, DHT_K), 0);
    assert.ok(net.nodes[0]!.stats().nodes >= room, `the first node heard of all ${room} that fit`);
  });

  test('an announce is found by get_peers from the other nodes', async () => {
    const h = hash(0x42);
    const res = await net.nodes[5]!.announce(h, 7001, { signal: AbortSignal.timeout(5000) });
    assert.ok(res.announcedTo >= 1, `announced to ${res.announcedTo} nodes`);
    assert.ok(res.queries >= 1);
    for (const i of [1, 8, 11]) {
      const peers = await collectPeers(net.nodes[i]!, h);
      assert.ok(peers.includes(`${LOOP}:7001`), `node ${i} found ${JSON.stringify(peers)}`);
    }
  });

  test('impliedPort stores the UDP source port (BEP 5)', async () => {
    const h = hash(0x43);
    const announcer = net.nodes[3]!;
    await announcer.announce(h, 0, { impliedPort: true, signal: AbortSignal.timeout(5000) });
    const peers = await collectPeers(net.nodes[9]!, h);
    assert.ok(peers.includes(`${LOOP}:${announcer.port}`), JSON.stringify(peers));
  });

  test('a lookup yields peers then one finished per family, and ends', async () => {
    const h = hash(0x44);
    await net.nodes[2]!.announce(h, 7002);
    const seen: string[] = [];
    for await (const p of net.nodes[7]!.getPeers(h)) seen.push(p.type);
    assert.equal(seen.at(-1), 'finished');
    assert.equal(seen.filter((t) => t === 'finished').length, 1);
    assert.ok(seen.includes('peers'));
    assert.equal(net.nodes[7]!.stats().operations, 0, 'no operation left behind');
  });

  test('an unknown info-hash finishes with no peers', async () => {
    const peers = await collectPeers(net.nodes[4]!, hash(0x99));
    assert.deepEqual(peers, []);
  });

  test('breaking out of a lookup cancels it', async () => {
    const h = hash(0x45);
    await net.nodes[6]!.announce(h, 7003);
    const rt = net.nodes[10]!;
    for await (const p of rt.getPeers(h)) {
      if (p.type === 'peers') break;
    }
    assert.equal(rt.stats().operations, 0);
    assert.equal(rt.stats().ipv4?.lookupsActive, 0);
  });

  test('ping returns the node id and a round-trip time', async () => {
    const target = net.nodes[4]!;
    const r = await net.nodes[0]!.ping(LOOP, target.port);
    assert.deepEqual(r.id, target.nodeId(4));
    assert.equal(r.port, target.port);
    assert.ok(r.rttMs >= 0 && r.rttMs < 5000);
  });

  test('a host name is resolved before a ping', async () => {
    const rt = new DhtRuntime({
      host: LOOP,
      bootstrap: [],
      resolve: async (h) => (h === 'node.test' ? [{ address: LOOP, family: 4 }] : []),
    });
    await rt.start();
    try {
      const r = await rt.ping('node.test', net.nodes[1]!.port);
      assert.deepEqual(r.id, net.nodes[1]!.nodeId());
      await assert.rejects(rt.ping('unknown.test', 6881), (e) =>
        isShoalError(e, ErrorCode.DhtInvalidArgument),
      );
    } finally {
      await rt.close();
    }
  });

  test('a node heard of outside the DHT (BEP 5 PORT) joins the table once it answers', async () => {
    const rt = await DhtRuntime.create({ host: LOOP, bootstrap: [], node: LOOPBACK_DHT_NODE_OPTIONS });
    try {
      assert.equal(rt.stats().nodes, 0);
      assert.equal(rt.addNode(LOOP, net.nodes[2]!.port), true);
      await waitUntil(() => rt.stats().nodes >= 1, 3000, 'the node to join');
      assert.equal(rt.addNode('::1', 6881), false, 'no IPv6 DHT running');
      assert.equal(rt.addNode('host.name', 6881), false, 'IP literals only');
      assert.equal(rt.addNode(LOOP, 0), false);
    } finally {
      await rt.close();
    }
  });

  test('bootstrap host names go through the resolver; failures are events', async () => {
    const seed = net.nodes[0]!;
    const rt = new DhtRuntime({
      host: LOOP,
      bootstrap: [
        { host: 'seed.test', port: seed.port },
        { host: 'nowhere.test', port: 6881 },
      ],
      node: LOOPBACK_DHT_NODE_OPTIONS,
      resolve: async (h) => {
        if (h === 'seed.test') return [{ address: LOOP, family: 4 }];
        throw new Error(`getaddrinfo ENOTFOUND ${h}`);
      },
    });
    const unresolved: DhtRuntimeEvents['bootstrap:unresolved'][] = [];
    const finished: DhtRuntimeEvents['bootstrap:finished'][] = [];
    rt.on('bootstrap:unresolved', (e) => unresolved.push(e));
    rt.on('bootstrap:finished', (e) => finished.push(e));
    await rt.start();
    try {
      await rt.bootstrapped({ signal: AbortSignal.timeout(5000) });
      assert.deepEqual(
        unresolved.map((u) => u.host),
        ['nowhere.test'],
      );
      assert.equal(finished[0]?.family, 4);
      assert.ok(rt.stats().nodes >= 1);
    } finally {
      await rt.close();
    }
  });
});

describe('DhtRuntime state file', () => {
  let dir: string;
  let net: DhtTestnet;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-dht-state-'));
    net = await createDhtTestnet({ size: 6 });
  });
  after(async () => {
    await net?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('saved on close (atomically) and reloaded on start: same id, same nodes', async () => {
    const path = join(dir, 'sub', 'dht.state');
    const first = await DhtRuntime.create({
      host: LOOP,
      bootstrap: net.bootstrap,
      statePath: path,
      node: LOOPBACK_DHT_NODE_OPTIONS,
    });
    await first.bootstrapped();
    await waitUntil(() => first.stats().ipv4!.goodNodes >= 2, 5000, 'confirmed nodes');
    const nodesBefore = first.stats().nodes;
    const id = first.nodeId()!;
    await first.close();
    const saved = decodeDhtState(await readFile(path));
    assert.ok(saved.ipv4 !== undefined && saved.ipv4.length > 26);
    assert.equal(saved.ipv6, undefined);
    assert.equal((await stat(path)).mode & 0o777, 0o600);

    // No bootstrap nodes at all: the only way in is the saved table.
    const h = hash(0x51);
    await net.nodes[3]!.announce(h, 7101);
    const second = await DhtRuntime.create({
      host: LOOP,
      bootstrap: [],
      statePath: path,
      node: LOOPBACK_DHT_NODE_OPTIONS,
    });
    try {
      assert.deepEqual(second.nodeId(), id);
      assert.equal(second.stats().nodes, nodesBefore, 'every saved node is back');
      const peers = await collectPeers(second, h);
      assert.ok(peers.includes(`${LOOP}:7101`), JSON.stringify(peers));
    } finally {
      await second.close();
    }
  });

  test('saved periodically while running', async () => {
    const path = join(dir, 'periodic.state');
    const rt = new DhtRuntime({
      host: LOOP,
      bootstrap: net.bootstrap,
      statePath: path,
      saveIntervalMs: 50,
      node: LOOPBACK_DHT_NODE_OPTIONS,
    });
    await rt.start();
    try {
      const ev = await rt.next('state:saved', AbortSignal.timeout(5000));
      assert.equal(ev.path, path);
      assert.ok(decodeDhtState(await readFile(path)).ipv4 !== undefined);
    } finally {
      await rt.close();
    }
  });

  test('a corrupt state file is reported and ignored', async () => {
    const cases: [string, Uint8Array][] = [
      ['garbage', new TextEncoder().encode('not bencode at all')],
      ['wrong format', encode({ format: 'other', v: 1 })],
      ['bad table', encodeDhtState({ ipv4: new TextEncoder().encode('d1:vi99ee') })],
      ['too large', new Uint8Array(MAX_DHT_STATE_FILE_BYTES + 1)],
    ];
    for (const [name, bytes] of cases) {
      const path = join(dir, `corrupt-${name.replace(' ', '-')}.state`);
      await writeFile(path, bytes);
      const rt = new DhtRuntime({ host: LOOP, bootstrap: [], statePath: path, saveIntervalMs: 0 });
      const failed: DhtRuntimeEvents['state:failed'][] = [];
      rt.on('state:failed', (e) => failed.push(e));
      await rt.start();
      try {
        assert.equal(failed.length, 1, name);
        assert.equal(failed[0]!.op, 'load');
        assert.equal(rt.stats().nodes, 0);
      } finally {
        await rt.close();
      }
      // close() replaced the corrupt file with a good one.
      assert.ok(decodeDhtState(await readFile(path)).ipv4 !== undefined, name);
    }
  });

  test('a state file that cannot be written is an event, not a crash', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'x');
    const rt = new DhtRuntime({ host: LOOP, bootstrap: [], statePath: join(blocker, 'dht.state') });
    const failed: DhtRuntimeEvents['state:failed'][] = [];
    rt.on('state:failed', (e) => failed.push(e));
    await rt.start();
    assert.equal(await rt.saveState(), false);
    await rt.close();
    assert.ok(failed.some((f) => f.op === 'save'));
  });

  test('decodeDhtState rejects a wrong version with DhtBadState', () => {
    const bytes = encode({ format: 'shoal-dht', v: 2 });
    assert.throws(
      () => decodeDhtState(bytes),
      (e) => isShoalError(e, ErrorCode.DhtBadState),
    );
    assert.ok(decode(encodeDhtState({})));
  });
});

describe('DhtRuntime under hostile input and failures', () => {
  test('malformed datagrams are dropped or answered with a KRPC error; the node keeps working', async () => {
    const rt = await DhtRuntime.create({ host: LOOP, bootstrap: [], node: LOOPBACK_DHT_NODE_OPTIONS });
    const raw = await rawSocket();
    try {
      for (const junk of ['', 'x', 'd1:y1:qe', 'i42e', 'd1:t2:aa1:y1:r1:rd2:id3:abcee']) {
        raw.send(junk, rt.port, LOOP);
      }
      raw.send(new Uint8Array(3000).fill(0x64), rt.port, LOOP);
      // A readable query with an unknown method gets a 204 error (BEP 5).
      const reply = nextDatagram(raw, 3000);
      raw.send('d1:ad2:id20:abcdefghij0123456789e1:q4:nope1:t2:zz1:y1:qe', rt.port, LOOP);
      const msg = decodeKrpc(await reply);
      assert.equal(msg.y, 'e');
      if (msg.y === 'e') assert.equal(msg.code, 204);
      // Still answers a real ping.
      const pong = nextDatagram(raw, 3000);
      raw.send(encodeKrpc({ y: 'q', t: Uint8Array.of(1, 2), id: hash(9), method: 'ping' }), rt.port, LOOP);
      const p = decodeKrpc(await pong);
      assert.equal(p.y, 'r');
      assert.ok(rt.stats().ipv4!.malformed >= 5);
    } finally {
      await closeSocket(raw);
      await rt.close();
    }
  });

  test('send failures become throttled socket:failed events', async () => {
    // A broadcast address without SO_BROADCAST: the kernel refuses the send (EACCES) before
    // anything leaves the host.
    const rt = new DhtRuntime({ host: LOOP, bootstrap: [{ host: '255.255.255.255', port: 6881 }] });
    const failed: DhtRuntimeEvents['socket:failed'][] = [];
    rt.on('socket:failed', (e) => failed.push(e));
    await rt.start();
    try {
      await waitUntil(() => failed.length >= 1, 3000, 'a send failure');
      assert.equal(failed[0]!.op, 'send');
      assert.equal(failed[0]!.family, 4);
      assert.equal(failed[0]!.code, 'EACCES');
      assert.equal(rt.addNode('255.255.255.255', 6882), true);
      await waitUntil(() => rt.stats().ipv4!.sendErrors >= 2, 3000, 'a second send failure');
      assert.equal(failed.length, 1, 'reported once per DHT_SEND_ERROR_REPORT_MS');
    } finally {
      await rt.close();
    }
  });

  test('an IPv6 socket that cannot bind is an event; IPv4 runs alone', async () => {
    // 2001:db8::/32 is the documentation prefix: never an address of this host.
    const rt = new DhtRuntime({ host: LOOP, host6: '2001:db8::1', bootstrap: [] });
    const failed: DhtRuntimeEvents['socket:failed'][] = [];
    rt.on('socket:failed', (e) => failed.push(e));
    await rt.start();
    try {
      assert.deepEqual(rt.families, [4]);
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.op, 'bind');
      assert.equal(failed[0]!.family, 6);
    } finally {
      await rt.close();
    }
  });

  test('a silent node makes ping fail with DhtTimeout', async () => {
    const raw = await rawSocket();
    const rt = await DhtRuntime.create({ host: LOOP, bootstrap: [], node: { queryTimeoutMs: 200 } });
    try {
      const port = (raw.address() as { port: number }).port;
      await assert.rejects(rt.ping(LOOP, port), (e) => isShoalError(e, ErrorCode.DhtTimeout));
      assert.equal(rt.stats().operations, 0);
    } finally {
      await rt.close();
      await closeSocket(raw);
    }
  });

  test('abort and close end a lookup that waits on silent nodes', async () => {
    const raw = await rawSocket();
    const silent = { host: LOOP, port: (raw.address() as { port: number }).port };
    const rt = await DhtRuntime.create({ host: LOOP, bootstrap: [silent] });
    try {
      const ac = new AbortController();
      const it = rt.getPeers(hash(1), { signal: ac.signal });
      const first = it.next();
      ac.abort();
      await assert.rejects(first, (e) => (e as Error).name === 'AbortError');
      assert.equal(rt.stats().operations, 0);
      await assert.rejects(
        rt.announce(hash(1), 6881, { signal: AbortSignal.abort() }),
        (e) => (e as Error).name === 'AbortError',
      );

      const pending = assert.rejects(collectPeers(rt, hash(2), 20_000), (e) =>
        isShoalError(e, ErrorCode.DhtClosed),
      );
      const announcing = assert.rejects(rt.announce(hash(3), 6881), (e) =>
        isShoalError(e, ErrorCode.DhtClosed),
      );
      await waitUntil(() => rt.stats().operations === 2, 2000, 'both operations to start');
      await rt.close();
      await pending;
      await announcing;
      assert.equal(rt.stats().operations, 0);
    } finally {
      await rt.close();
      await closeSocket(raw);
    }
  });

  test('operations check their arguments and the runtime state', async () => {
    const rt = new DhtRuntime({ host: LOOP, bootstrap: [] });
    await assert.rejects(
      collectPeers(rt, hash(1)),
      (e) => isShoalError(e, ErrorCode.DhtInvalidArgument),
      'not started',
    );
    await rt.start();
    await assert.rejects(collectPeers(rt, new Uint8Array(19)), (e) =>
      isShoalError(e, ErrorCode.DhtInvalidArgument),
    );
    await assert.rejects(rt.announce(hash(1), 0), (e) => isShoalError(e, ErrorCode.DhtInvalidArgument));
    await assert.rejects(rt.announce(hash(1), 70_000), (e) => isShoalError(e, ErrorCode.DhtInvalidArgument));
    await assert.rejects(rt.ping(LOOP, 0), (e) => isShoalError(e, ErrorCode.DhtInvalidArgument));
    await assert.rejects(rt.ping('::1', 6881), (e) => isShoalError(e, ErrorCode.DhtInvalidArgument));
    await assert.rejects(rt.start(), (e) => isShoalError(e, ErrorCode.DhtInvalidArgument));
    assert.throws(
      () => new DhtRuntime({ port: 65536 }),
      (e) => isShoalError(e, ErrorCode.DhtInvalidArgument),
    );
    await rt.close();
    await rt.close();
    await assert.rejects(collectPeers(rt, hash(1)), (e) => isShoalError(e, ErrorCode.DhtClosed));
    await assert.rejects(rt.ping(LOOP, 6881), (e) => isShoalError(e, ErrorCode.DhtClosed));
    assert.equal(rt.addNode(LOOP, 6881), false);
  });

  test('a taken port makes start() reject and leaks nothing', async () => {
    const before = handles();
    const a = await DhtRuntime.create({ host: LOOP, bootstrap: [] });
    await assert.rejects(DhtRuntime.create({ host: LOOP, port: a.port, bootstrap: [] }), /EADDRINUSE/);
    await a.close();
    assert.deepEqual(handles(), before);
  });

  test('close() releases every socket and timer', async () => {
    const before = handles();
    const net = await createDhtTestnet({ size: 5, runtime: { saveIntervalMs: 10 } });
    const h = hash(0x61);
    await net.nodes[1]!.announce(h, 7201);
    assert.ok((await collectPeers(net.nodes[4]!, h)).includes(`${LOOP}:7201`));
    assert.ok(handles().udp >= before.udp + 5);
    await net.close();
    assert.deepEqual(handles(), before);
  });
});

describe('DhtRuntime over IPv6 (BEP 32, ::1)', () => {
  test('an announce on the IPv6 DHT is found there', async (t) => {
    let net: DhtTestnet;
    try {
      net = await createDhtTestnet({ size: 5, family: 6 });
    } catch (e) {
      t.skip(`no ::1 here: ${(e as Error).message}`);
      return;
    }
    try {
      const rt = net.nodes[4]!;
      assert.deepEqual(rt.families, [4, 6]);
      assert.ok(rt.stats().ipv6!.nodes >= 1);
      const h = hash(0x66);
      const res = await net.nodes[1]!.announce(h, 7301);
      assert.ok(res.announcedTo >= 1);
      const seen: { family: number; peers: string[] }[] = [];
      for await (const p of rt.getPeers(h, { signal: AbortSignal.timeout(5000) })) {
        if (p.type === 'peers')
          seen.push({ family: p.family, peers: p.peers.map((a) => `[${a.host}]:${a.port}`) });
      }
      assert.ok(
        seen.some((s) => s.family === 6 && s.peers.includes('[::1]:7301')),
        JSON.stringify(seen),
      );
      const pong = await net.nodes[0]!.ping('::1', rt.port);
      assert.deepEqual(pong.id, rt.nodeId(6));
    } finally {
      await net.close();
    }
  });
});
