import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DHT_QUERY_TIMEOUT_MS,
  DhtError,
  type DhtEvent,
  DhtNode,
  decodeKrpc,
  encodeKrpc,
  isValidNodeIdForIp,
  type KrpcMessage,
  type KrpcResponse,
} from '../../../src/dht/index.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import {
  MAX_DHT_BOOTSTRAP_NODES,
  MAX_DHT_EVENT_QUEUE,
  MAX_DHT_IP_VOTES,
  MAX_DHT_LOOKUPS,
  MAX_DHT_PENDING_QUERIES,
  MAX_DHT_SEND_QUEUE,
  MAX_KRPC_REPLY_BYTES,
} from '../../../src/shared/limits.js';
import { SeededRandom, SimNetwork } from '../../../src/testing/sim-network.js';
import { exchange, id, makeNode, query, sent, te } from './helpers.js';

const remote = { host: '192.0.2.9', port: 7000 };
const asResponse = (m: KrpcMessage | undefined): KrpcResponse => {
  assert.equal(m?.y, 'r', `expected a response, got ${JSON.stringify(m)}`);
  return m as KrpcResponse;
};

describe('DhtNode answers queries (BEP 5)', () => {
  test('ping: echoes t, gives our id, BEP 42 ip and v', () => {
    const node = makeNode();
    const [r] = exchange(node, query({ method: 'ping' }, id(1), te('t1')), remote, 0);
    const res = asResponse(r);
    assert.deepEqual(res.t, te('t1'));
    assert.deepEqual(res.id, node.id);
    assert.deepEqual(res.ip, remote);
    assert.deepEqual(res.v, Uint8Array.of(0x53, 0x48, 0, 1));
    assert.equal(node.stats(0).queriesIn, 1);
    // The querier entered the table, unconfirmed.
    assert.equal(node.table.size, 1);
    assert.equal(node.table.nodes(0)[0]!.confirmed, false);
  });

  test('find_node returns the closest confirmed nodes, never the unconfirmed', () => {
    const node = makeNode();
    for (let i = 1; i <= 12; i++)
      node.table.add({ id: id(i * 1000), host: `198.51.100.${i}`, port: 1 }, 0, 'responded');
    const res = asResponse(
      exchange(node, query({ method: 'find_node', target: id(3000) }, id(99)), remote, 0)[0],
    );
    assert.equal(res.nodes?.length, 8);
    assert.deepEqual(res.nodes?.[0]?.id, id(3000));
    assert.ok(!res.nodes?.some((n) => n.host === remote.host), 'the unconfirmed querier is not handed out');
    assert.equal(res.nodes6, undefined);
  });

  test('get_peers gives a token; announce_peer with it stores the peer; get_peers returns it', () => {
    const node = makeNode();
    const hash = te('mnopqrstuvwxyz123456');
    const gp = asResponse(
      exchange(node, query({ method: 'get_peers', infoHash: hash }, id(1)), remote, 0)[0],
    );
    assert.ok(gp.token !== undefined && gp.values === undefined);
    assert.deepEqual(gp.nodes, []);
    const ann = {
      method: 'announce_peer' as const,
      infoHash: hash,
      port: 51413,
      token: gp.token,
      impliedPort: false,
    };
    asResponse(exchange(node, query(ann, id(1)), remote, 10)[0]);
    // implied_port: the UDP source port is stored instead.
    const other = { host: '192.0.2.8', port: 7001 };
    const tok2 = asResponse(
      exchange(node, query({ method: 'get_peers', infoHash: hash }, id(2)), other, 20)[0],
    ).token!;
    asResponse(
      exchange(node, query({ ...ann, token: tok2, port: 1, impliedPort: true }, id(2)), other, 20)[0],
    );
    const again = asResponse(
      exchange(node, query({ method: 'get_peers', infoHash: hash }, id(3)), remote, 30)[0],
    );
    const got = (again.values ?? []).map((p) => `${p.host}:${p.port}`).sort();
    assert.deepEqual(got, ['192.0.2.8:7001', '192.0.2.9:51413']);
    assert.equal(node.stats(30).storedPeers, 2);
  });

  test('a bogus token is answered with error 203 and stores nothing', () => {
    const node = makeNode();
    const hash = te('mnopqrstuvwxyz123456');
    const tok = asResponse(
      exchange(node, query({ method: 'get_peers', infoHash: hash }, id(1)), remote, 0)[0],
    ).token!;
    const ann = { method: 'announce_peer' as const, infoHash: hash, port: 1, impliedPort: false };
    for (const token of [te('bogus'), new Uint8Array(tok.length), tok]) {
      // The last one is a real token, but presented from another IP.
      const from = token === tok ? { host: '192.0.2.10', port: 7000 } : remote;
      const [r] = exchange(node, query({ ...ann, token }, id(1)), from, 1);
      assert.equal(r?.y, 'e');
      assert.equal(r?.y === 'e' && r.code, 203);
    }
    assert.equal(node.stats(1).storedPeers, 0);
  });

  test('get_peers replies never exceed MAX_KRPC_REPLY_BYTES, however many peers are stored', () => {
    for (const family of [4, 6] as const) {
      const node = makeNode(family === 4 ? {} : { family: 6, externalIp: '2001:db8::1' }, 3);
      const hash = te('mnopqrstuvwxyz123456');
      for (let i = 1; i <= 60; i++)
        node.table.add(
          { id: id(i * 500), host: family === 4 ? `203.0.113.${i}` : `2001:db8::2:${i}`, port: 1 },
          0,
        );
      for (let i = 0; i < 150; i++) {
        const from =
          family === 4
            ? { host: `10.3.${i >> 8}.${i & 255}`, port: 6881 }
            : { host: `2001:db8::3:${i}`, port: 6881 };
        const tok = asResponse(
          exchange(node, query({ method: 'get_peers', infoHash: hash }, id(i)), from, 0)[0],
        ).token!;
        exchange(
          node,
          query(
            { method: 'announce_peer', infoHash: hash, port: 6881, token: tok, impliedPort: false },
            id(i),
          ),
          from,
          0,
        );
      }
      node.handleDatagram(
        query({ method: 'get_peers', infoHash: hash }, id(7)),
        remote.host.includes('.') && family === 4 ? remote : { host: '2001:db8::9', port: 9 },
        1,
      );
      const [out] = node.takeActions();
      assert.ok(out !== undefined);
      assert.ok(out.bytes.length <= MAX_KRPC_REPLY_BYTES, `${out.bytes.length} bytes`);
      assert.ok(out.bytes.length > MAX_KRPC_REPLY_BYTES - (family === 4 ? 8 : 21), 'and filled');
      const r = asResponse(decodeKrpc(out.bytes));
      assert.ok((r.values?.length ?? 0) > 10);
      assert.equal(family === 4 ? r.nodes?.length : r.nodes6?.length, 8);
    }
  });

  test('unknown methods get 204, malformed queries 203, malformed responses nothing', () => {
    const node = makeNode();
    const [u] = exchange(node, te('d1:ad2:id20:abcdefghij0123456789e1:q4:vote1:t2:aa1:y1:qe'), remote, 0);
    assert.equal(u?.y === 'e' && u.code, 204);
    const [m] = exchange(node, te('d1:ad2:id2:abe1:q4:ping1:t2:aa1:y1:qe'), remote, 0);
    assert.equal(m?.y === 'e' && m.code, 203);
    assert.deepEqual(exchange(node, te('d1:rd2:id2:abe1:t2:aa1:y1:re'), remote, 0), []);
    assert.deepEqual(exchange(node, te('garbage'), remote, 0), []);
    assert.equal(node.stats(0).malformed, 4);
  });

  test('BEP 43: a read-only node answers nothing and marks its queries; ro senders stay out of tables', () => {
    const ro = makeNode({ readOnly: true });
    assert.deepEqual(exchange(ro, query({ method: 'ping' }, id(1)), remote, 0), []);
    ro.ping(remote, 0);
    const [q] = sent(ro);
    assert.equal(q?.msg.y === 'q' && q.msg.ro, true);
    const node = makeNode({}, 2);
    asResponse(exchange(node, q!.bytes, { host: '192.0.2.77', port: 1 }, 0)[0]);
    assert.equal(node.table.size, 0);
  });

  test('datagrams of the other family or from port 0 are dropped', () => {
    const node = makeNode();
    assert.deepEqual(exchange(node, query({ method: 'ping' }, id(1)), { host: '::1', port: 5 }, 0), []);
    assert.deepEqual(exchange(node, query({ method: 'ping' }, id(1)), { host: '192.0.2.5', port: 0 }, 0), []);
    assert.deepEqual(exchange(node, query({ method: 'ping' }, id(1)), { host: 'nowhere', port: 5 }, 0), []);
    // A dual-stack socket's IPv4-mapped sender is IPv4.
    assert.equal(
      exchange(node, query({ method: 'ping' }, id(1)), { host: '::ffff:192.0.2.5', port: 5 }, 0).length,
      1,
    );
  });
});

describe('DhtNode queries and lookups', () => {
  test('ping: a response from the right address finishes it; the table learns the node', () => {
    const node = makeNode();
    const pingId = node.ping(remote, 100);
    const [q] = sent(node);
    assert.equal(q?.msg.y === 'q' && q.msg.method, 'ping');
    const reply = encodeKrpc({ y: 'r', t: q!.msg.t, id: id(5) });
    // From another address: ignored.
    node.handleDatagram(reply, { host: '192.0.2.1', port: 7000 }, 150);
    assert.equal(node.stats(150).unexpected, 1);
    assert.deepEqual(node.takeEvents(), []);
    node.handleDatagram(reply, remote, 180);
    const [e] = node.takeEvents();
    assert.deepEqual(e, { type: 'ping:finished', pingId, to: remote, ok: true, id: id(5), rttMs: 80 });
    assert.equal(node.table.nodes(180)[0]?.confirmed, true);
    // A second copy is unexpected.
    node.handleDatagram(reply, remote, 190);
    assert.equal(node.stats(190).unexpected, 2);
  });

  test('ping: times out at nextDeadline', () => {
    const node = makeNode();
    node.ping(remote, 0);
    node.takeActions();
    const d = node.nextDeadline();
    assert.equal(d, DHT_QUERY_TIMEOUT_MS);
    node.tick(d - 1);
    assert.deepEqual(node.takeEvents(), []);
    node.tick(d);
    const [e] = node.takeEvents() as Extract<DhtEvent, { type: 'ping:finished' }>[];
    assert.equal(e?.ok, false);
    assert.equal(node.stats(d).timeouts, 1);
  });

  test('a lookup with an empty table and no bootstrap finishes at once', () => {
    const node = makeNode();
    const lookupId = node.getPeers(id(1), 0);
    const [e] = node.takeEvents();
    assert.equal(e?.type === 'lookup:finished' && e.lookupId, lookupId);
    assert.deepEqual(node.takeActions(), []);
  });

  test('bootstrap asks every bootstrap address (at most MAX_DHT_BOOTSTRAP_NODES)', () => {
    const node = makeNode();
    const addrs = Array.from({ length: MAX_DHT_BOOTSTRAP_NODES + 8 }, (_, i) => ({
      host: `198.51.100.${i + 101}`,
      port: 6881,
    }));
    node.bootstrap(addrs, 0);
    const out = sent(node);
    assert.equal(out.length, MAX_DHT_BOOTSTRAP_NODES);
    assert.ok(out.every((s) => s.msg.y === 'q' && s.msg.method === 'find_node'));
  });

  test('arguments are checked', () => {
    const node = makeNode();
    const invalid = (f: () => unknown) =>
      assert.throws(f, (e: unknown) => e instanceof DhtError && e.code === ErrorCode.DhtInvalidArgument);
    invalid(() => node.getPeers(new Uint8Array(19), 0));
    invalid(() => node.findNode(new Uint8Array(21), 0));
    invalid(() => node.announce(id(1), 0, 0));
    invalid(() => node.announce(id(1), 65536, 0));
    invalid(() => node.ping({ host: '::1', port: 1 }, 0));
    invalid(() => node.ping({ host: '192.0.2.1', port: 0 }, 0));
    invalid(() => makeNode({ externalIp: 'nope' }));
    invalid(() => makeNode({ id: new Uint8Array(3) }));
    assert.equal(typeof node.announce(id(1), 0, 0, { impliedPort: true }), 'number');
  });

  test('MAX_DHT_LOOKUPS: one more lookup is a DhtLimit', () => {
    const node = makeNode();
    node.table.add({ id: id(1), host: '198.51.100.201', port: 1 }, 0);
    for (let i = 0; i < MAX_DHT_LOOKUPS; i++) node.getPeers(id(i + 2), 0);
    assert.equal(node.stats(0).lookupsActive, MAX_DHT_LOOKUPS);
    assert.throws(
      () => node.getPeers(id(9), 0),
      (e: unknown) => e instanceof DhtError && e.code === ErrorCode.DhtLimit,
    );
  });

  test('MAX_DHT_PENDING_QUERIES: one more query is a DhtLimit', () => {
    const node = makeNode();
    for (let i = 0; i < MAX_DHT_PENDING_QUERIES; i++)
      node.ping({ host: `10.7.${i >> 8}.${i & 255}`, port: 1 }, 0);
    assert.equal(node.stats(0).pendingQueries, MAX_DHT_PENDING_QUERIES);
    assert.throws(
      () => node.ping({ host: '198.51.100.202', port: 1 }, 0),
      (e: unknown) => e instanceof DhtError && e.code === ErrorCode.DhtLimit,
    );
    // Transaction ids are distinct.
    const tids = new Set(sent(node).map((s) => Buffer.from(s.msg.t).toString('hex')));
    assert.equal(tids.size, MAX_DHT_PENDING_QUERIES);
  });

  test('MAX_DHT_SEND_QUEUE and MAX_DHT_EVENT_QUEUE: undrained queues stop growing and count drops', () => {
    const node = makeNode({ rateGlobal: 1e9, burstGlobal: 1e9 });
    for (let i = 0; i < MAX_DHT_SEND_QUEUE + 10; i++) {
      node.handleDatagram(
        query({ method: 'ping' }, id(1)),
        { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1 },
        0,
      );
    }
    assert.equal(node.takeActions().length, MAX_DHT_SEND_QUEUE);
    assert.equal(node.stats(0).sendsDropped, 10);
    let now = 0;
    while (node.stats(now).eventsDropped === 0) {
      for (let i = 0; i < 1000; i++) node.ping({ host: `10.6.${i >> 8}.${i & 255}`, port: 1 }, now);
      node.takeActions();
      now += DHT_QUERY_TIMEOUT_MS;
      node.tick(now);
    }
    assert.equal(node.takeEvents().length, MAX_DHT_EVENT_QUEUE);
  });
});

describe('DhtNode identity and state', () => {
  test('saveState restores the id and the nodes; a non-conforming saved id is replaced', () => {
    const node = makeNode({ externalIp: '203.0.113.7' });
    assert.ok(isValidNodeIdForIp(node.id, '203.0.113.7'));
    for (let i = 1; i <= 20; i++)
      node.table.add({ id: id(i * 3000), host: `203.0.113.${i + 100}`, port: 1 }, 0);
    const state = node.saveState(0);
    const again = new DhtNode(
      { random: new SeededRandom(9) },
      { savedState: state, externalIp: '203.0.113.7' },
      5,
    );
    assert.deepEqual(again.id, node.id);
    assert.equal(again.table.size, node.table.size);
    const moved = new DhtNode(
      { random: new SeededRandom(9) },
      { savedState: state, externalIp: '198.51.100.1' },
      5,
    );
    assert.notDeepEqual(moved.id, node.id);
    assert.ok(isValidNodeIdForIp(moved.id, '198.51.100.1'));
    assert.throws(
      () => new DhtNode({ random: new SeededRandom(9) }, { savedState: te('x') }, 0),
      (e: unknown) => e instanceof DhtError && e.code === ErrorCode.DhtBadState,
    );
  });

  test('BEP 42: a majority of ip votes reports our external address (window MAX_DHT_IP_VOTES)', () => {
    const node = makeNode({ externalIp: '203.0.113.7' });
    const vote = (voter: number, host: string): DhtEvent[] => {
      const from = { host: `10.${voter >> 8}.${voter & 255}.1`, port: 1 };
      node.ping(from, 0);
      const [q] = sent(node);
      node.handleDatagram(encodeKrpc({ y: 'r', t: q!.msg.t, id: id(voter), ip: { host, port: 1 } }), from, 0);
      return node.takeEvents().filter((e) => e.type === 'external-address:changed');
    };
    for (let v = 1; v <= 20; v++) assert.deepEqual(vote(v, '203.0.113.7'), []);
    assert.ok(20 < MAX_DHT_IP_VOTES);
    // B needs a majority of the window: with a window of 32 that is its 17th vote (it would be its
    // 21st if old votes were never forgotten).
    let at = 0;
    for (let v = 1; v <= 20 && at === 0; v++) {
      const ev = vote(100 + v, '198.51.100.1');
      if (ev.length > 0) {
        at = v;
        assert.deepEqual(ev[0], {
          type: 'external-address:changed',
          host: '198.51.100.1',
          idConforms: false,
        });
      }
    }
    assert.equal(at, MAX_DHT_IP_VOTES / 2 + 1);
    assert.equal(node.externalAddress, '198.51.100.1');
  });
});

describe('DhtNode on IPv6 (BEP 32)', () => {
  test('a small IPv6 DHT: nodes6 replies, 18-byte peers, announce then get_peers', () => {
    const net = new SimNetwork({ seed: 6, latencyMs: [5, 20] });
    const random = new SeededRandom(6);
    const nodes = Array.from({ length: 30 }, (_, i) => {
      const address = { host: `2001:db8::${(i + 1).toString(16)}`, port: 6881 };
      const node = new DhtNode({ random }, { family: 6, externalIp: address.host }, 0);
      const events: DhtEvent[] = [];
      net.attach(address, node, (e) => events.push(...e));
      return { address, node, events };
    });
    for (const [i, n] of nodes.entries()) {
      if (i === 0) continue;
      n.node.bootstrap([nodes[Math.floor(i / 2)]!.address], net.now);
      net.flush(n.address);
      net.clock.runFor(200);
    }
    net.clock.runFor(30_000);
    assert.ok(nodes.every((n) => n.node.table.size > 0));
    const hash = te('mnopqrstuvwxyz123456');
    const a = nodes[3]!;
    a.node.announce(hash, 51413, net.now);
    net.flush(a.address);
    net.clock.runFor(20_000);
    const announced = a.events.find((e) => e.type === 'lookup:finished' && e.purpose === 'user');
    assert.ok(announced?.type === 'lookup:finished' && announced.announcedTo > 0);
    const b = nodes[27]!;
    const lookupId = b.node.getPeers(hash, net.now);
    net.flush(b.address);
    net.clock.runFor(20_000);
    const found = b.events.find((e) => e.type === 'lookup:peers-found' && e.lookupId === lookupId);
    assert.deepEqual(found?.type === 'lookup:peers-found' && found.peers, [
      { host: '2001:db8::4', port: 51413 },
    ]);
    // IPv4 addresses are not part of this DHT.
    assert.throws(() => b.node.ping({ host: '192.0.2.1', port: 1 }, net.now), DhtError);
  });
});
