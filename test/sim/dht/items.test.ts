/**
 * BEP 44 at scale on the virtual network (no sockets, no real time): 150 pure nodes with 1% loss
 * and 10–100 ms latency. Items one node puts are read by others: immutable, mutable unsalted and
 * salted, updated three times through the read-modify-write (`cas`) flow with readers always
 * seeing the latest seq; two writers racing on one slot (the loser gets 301 and wins on retry);
 * and lying nodes, closest to the target, answering every `get` with forged items that no reader
 * ever returns. Replay a failure with DHT_SIM_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { encode } from '../../../src/codec/index.js';
import {
  type Address,
  DHT_ITEM_MAX_SEQ,
  type DhtItem,
  type DhtItemQuery,
  type DhtLookupFinishedEvent,
  decodeKrpc,
  type Ed25519KeyPair,
  ed25519KeyPair,
  encodeKrpc,
  immutableTarget,
  type KrpcMessage,
  type KrpcResponse,
  type MutableItem,
  mutableTarget,
  signMutableItem,
} from '../../../src/dht/index.js';
import { DhtSimulation, type SimDhtPeer, type SimEndpoint } from '../../../src/testing/sim-network.js';

const SEED = Number(process.env.DHT_SIM_SEED ?? 44_046);
const NODES = 150;
/** Virtual time one lookup may take. */
const LOOKUP_LIMIT_MS = 60_000;
const te = (s: string) => new TextEncoder().encode(s);

/** A node that answers every query, and every `get` with a forged item (see the module docs). */
class Liar implements SimEndpoint {
  readonly #out: { type: 'send'; to: Address; bytes: Uint8Array }[] = [];
  readonly id: Uint8Array;
  readonly #forge: () => NonNullable<KrpcResponse['item']>;
  /** `get` queries answered with a forgery. */
  gets = 0;

  constructor(id: Uint8Array, forge: () => NonNullable<KrpcResponse['item']>) {
    this.id = id;
    this.#forge = forge;
  }

  /** Queries `peers` so they learn of us (then their maintenance pings confirm us). */
  join(peers: readonly SimDhtPeer[]): void {
    for (const [i, p] of peers.entries()) {
      const q: KrpcMessage = {
        y: 'q',
        t: Uint8Array.of(0, i),
        id: this.id,
        method: 'find_node',
        target: this.id,
      };
      this.#out.push({ type: 'send', to: p.address, bytes: encodeKrpc(q) });
    }
  }

  handleDatagram(bytes: Uint8Array, from: Address): void {
    let m: KrpcMessage;
    try {
      m = decodeKrpc(bytes);
    } catch {
      return;
    }
    if (m.y !== 'q') return;
    if (m.method === 'get') this.gets++;
    const base: KrpcResponse = { y: 'r', t: m.t, id: this.id };
    const reply: KrpcResponse =
      m.method === 'get'
        ? { ...base, token: te('liar'), nodes: [], item: this.#forge() }
        : m.method === 'get_peers'
          ? { ...base, token: te('liar'), nodes: [] }
          : m.method === 'find_node'
            ? { ...base, nodes: [] }
            : base; // ping, and put/announce_peer "accepted" and dropped
    this.#out.push({ type: 'send', to: from, bytes: encodeKrpc(reply) });
  }

  tick(): void {}

  nextDeadline(): undefined {
    return undefined;
  }

  takeActions(): { type: 'send'; to: Address; bytes: Uint8Array }[] {
    return this.#out.splice(0);
  }
}

describe(`DHT simulation: BEP 44 items on ${NODES} nodes (seed ${SEED})`, { timeout: 180_000 }, () => {
  let sim: DhtSimulation;

  before(() => {
    console.log(`# BEP 44 simulation seed ${SEED} (replay with DHT_SIM_SEED=${SEED})`);
    sim = new DhtSimulation({ nodes: NODES, seed: SEED, joinIntervalMs: 100, lossRate: 0.01 });
    sim.build(30_000);
  });

  /** A live node other than those in `not`. */
  function pick(...not: SimDhtPeer[]): SimDhtPeer {
    const alive = sim.alive().filter((p) => !not.includes(p));
    return alive[sim.random.int(alive.length)]!;
  }

  function run(peer: SimDhtPeer, lookupId: number): DhtLookupFinishedEvent {
    assert.ok(sim.waitFor([{ peer, lookupId }], LOOKUP_LIMIT_MS), 'the lookup finishes');
    return peer.finished.get(lookupId)!;
  }

  function read(peer: SimDhtPeer, query: DhtItemQuery): DhtItem | undefined {
    return run(peer, sim.getItem(peer, query)).item;
  }

  function keyPair(): Ed25519KeyPair {
    return ed25519KeyPair(sim.random.bytes(32));
  }

  /** The read-modify-write flow: look up the current item, sign `value` as seq + 1 with `cas`. */
  function update(
    writer: SimDhtPeer,
    pair: Ed25519KeyPair,
    salt: Uint8Array,
    value: string,
  ): DhtLookupFinishedEvent {
    const query: DhtItemQuery = { type: 'mutable', publicKey: pair.publicKey, salt };
    const lookupId = sim.putItem(writer, query);
    const ready = sim.waitForReady(writer, lookupId, LOOKUP_LIMIT_MS);
    assert.ok(ready !== undefined, 'put:ready');
    const current = ready.current?.type === 'mutable' ? ready.current.seq : undefined;
    const next = signMutableItem(pair, encode(value), (current ?? 0n) + 1n, salt);
    sim.completePut(writer, lookupId, next, current);
    return run(writer, lookupId);
  }

  test('an immutable item one node puts is read by other nodes', () => {
    for (let i = 0; i < 5; i++) {
      const value = encode({ n: i, text: `immutable item ${i}` });
      const writer = pick();
      const put = run(
        writer,
        sim.putItem(
          writer,
          { type: 'immutable', target: immutableTarget(value) },
          { item: { type: 'immutable', value } },
        ),
      );
      assert.ok(put.announcedTo >= 4, `stored on ${put.announcedTo} nodes`);
      for (const reader of [pick(writer), pick(writer), pick(writer)]) {
        const got = read(reader, { type: 'immutable', target: immutableTarget(value) });
        assert.deepEqual(got, { type: 'immutable', value });
      }
    }
  });

  for (const salt of [new Uint8Array(0), te('bep46 salt')]) {
    test(`a mutable item (${salt.length === 0 ? 'no salt' : 'salted'}) updated three times: readers see the latest seq`, () => {
      const pair = keyPair();
      const query: DhtItemQuery = { type: 'mutable', publicKey: pair.publicKey, salt };
      const writer = pick();
      const first = signMutableItem(pair, encode('version 1'), 1, salt);
      const put = run(writer, sim.putItem(writer, query, { item: first }));
      assert.ok(put.announcedTo >= 4, `stored on ${put.announcedTo} nodes`);
      assert.deepEqual(read(pick(writer), query), first);
      for (let v = 2; v <= 4; v++) {
        const done = update(writer, pair, salt, `version ${v}`);
        assert.ok(done.announcedTo >= 4, `update ${v} stored on ${done.announcedTo} nodes`);
        assert.equal(done.putRefusals?.seqTooLow, 0, 'no node holds a newer item');
        for (const reader of [pick(writer), pick(writer), pick(writer)]) {
          const got = read(reader, query) as MutableItem;
          assert.equal(got.seq, BigInt(v), 'the latest seq');
          assert.deepEqual(got.value, encode(`version ${v}`));
          assert.deepEqual(got.salt, salt);
        }
      }
    });
  }

  test('CAS: of two writers that read the same seq, the second gets 301 and wins only after re-reading', () => {
    const pair = keyPair();
    const salt = te('shared slot');
    const query: DhtItemQuery = { type: 'mutable', publicKey: pair.publicKey, salt };
    const a = pick();
    const b = pick(a);
    run(a, sim.putItem(a, query, { item: signMutableItem(pair, encode('base'), 10, salt) }));
    // Both read seq 10, then A writes 11 first; B's 11 (cas 10) must be refused.
    const la = sim.putItem(a, query);
    const lb = sim.putItem(b, query);
    const ra = sim.waitForReady(a, la, LOOKUP_LIMIT_MS)!;
    const rb = sim.waitForReady(b, lb, LOOKUP_LIMIT_MS)!;
    assert.equal((ra.current as MutableItem).seq, 10n);
    assert.equal((rb.current as MutableItem).seq, 10n);
    sim.completePut(a, la, signMutableItem(pair, encode('A wrote 11'), 11, salt), 10n);
    const doneA = run(a, la);
    assert.ok(doneA.announcedTo >= 4, `A stored on ${doneA.announcedTo}`);
    sim.completePut(b, lb, signMutableItem(pair, encode('B wrote 11'), 11, salt), 10n);
    const doneB = run(b, lb);
    const refusals = doneB.putRefusals!;
    assert.ok(refusals.casMismatch >= 4, `B refused for cas by ${refusals.casMismatch} nodes`);
    assert.ok(doneB.announcedTo < doneA.announcedTo, `B stored on ${doneB.announcedTo}`);
    assert.deepEqual((read(pick(a, b), query) as MutableItem).value, encode('A wrote 11'));
    // B re-reads, builds on A's item, and wins.
    const retry = update(b, pair, salt, 'B wrote 12 after reading 11');
    assert.ok(retry.announcedTo >= 4);
    const got = read(pick(a, b), query) as MutableItem;
    assert.equal(got.seq, 12n);
    assert.deepEqual(got.value, encode('B wrote 12 after reading 11'));
  });

  test('liars closest to the target answer every get with forged items: readers never return one', () => {
    const pair = keyPair();
    const query: DhtItemQuery = { type: 'mutable', publicKey: pair.publicKey, salt: new Uint8Array(0) };
    const target = mutableTarget(pair.publicKey);
    const genuine = signMutableItem(pair, encode('genuine'), 5);
    const forgeries: (() => NonNullable<KrpcResponse['item']>)[] = [
      // A higher seq with a random signature.
      () => ({ k: pair.publicKey, seq: DHT_ITEM_MAX_SEQ, sig: sim.random.bytes(64), v: encode('forged') }),
      // The genuine signature over another value.
      () => ({ k: pair.publicKey, seq: 5n, sig: genuine.signature, v: encode('tampered') }),
      // Another key that does not hash to the target, validly signed.
      () => {
        const other = signMutableItem(ed25519KeyPair(new Uint8Array(32).fill(7)), encode('wrong key'), 99);
        return { k: other.publicKey, seq: 99n, sig: other.signature, v: other.value };
      },
    ];
    const liars = forgeries.map((forge, i) => {
      const id = target.slice();
      id[19]! ^= i + 1;
      const liar = new Liar(id, forge);
      sim.net.attach({ host: `203.0.113.${i + 1}`, port: 6881 }, liar);
      liar.join(sim.alive());
      sim.net.flush({ host: `203.0.113.${i + 1}`, port: 6881 });
      return liar;
    });
    assert.equal(liars.length, 3);
    sim.runFor(60_000); // maintenance confirms the liars
    const writer = pick();
    run(writer, sim.putItem(writer, query, { item: genuine }));
    const forgedBefore = sim.alive().reduce((n, p) => n + p.node.stats(sim.now).forgedItems, 0);
    for (let i = 0; i < 6; i++) {
      const got = read(pick(writer), query);
      assert.deepEqual(got, genuine);
    }
    const forged = sim.alive().reduce((n, p) => n + p.node.stats(sim.now).forgedItems, 0) - forgedBefore;
    const asked = liars.reduce((n, l) => n + l.gets, 0);
    assert.ok(
      forged >= 6,
      `readers met ${forged} forged answers (liars asked ${asked} times) and returned none`,
    );
  });
});
