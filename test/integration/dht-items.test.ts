/**
 * BEP 44 on real runtimes: a 12-node DHT on 127.0.0.1 (createDhtTestnet). `DhtRuntime.put` and
 * `get` for immutable items, mutable items with a seq, read-modify-write updates with `cas`, the
 * republishing of an item someone else signed, and the argument, abort and close paths.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encode } from '../../src/codec/index.js';
import { DhtError, immutableTarget, type MutableItem, mutableTarget } from '../../src/dht/index.js';
import { createDhtKeyPair } from '../../src/discovery/dht-items.js';
import { createDhtTestnet, type DhtTestnet } from '../../src/discovery/dht-testnet.js';
import { ErrorCode, isShoalError } from '../../src/shared/errors.js';
import { SeededRandom } from '../../src/testing/sim-network.js';

const SIZE = 12;
const OP_TIMEOUT_MS = 10_000;
const te = (s: string) => new TextEncoder().encode(s);
const signal = () => AbortSignal.timeout(OP_TIMEOUT_MS);

describe(`BEP 44 items on a ${SIZE}-node loopback DHT`, { timeout: 60_000 }, () => {
  let net: DhtTestnet;

  before(async () => {
    net = await createDhtTestnet({ size: SIZE, random: new SeededRandom(44) });
    for (const n of net.nodes) await n.refresh();
  });
  after(async () => {
    await net?.close();
  });

  test('an immutable item put by one node is read by the others', async () => {
    const value = { name: 'hello', list: [1, 2, 3] };
    const put = await net.nodes[1]!.put({ value }, { signal: signal() });
    assert.ok(put.storedTo >= 4, `stored on ${put.storedTo}`);
    assert.deepEqual(put.target, immutableTarget(encode(value)));
    for (const reader of [net.nodes[5]!, net.nodes[9]!]) {
      const got = await reader.get(put.target, { signal: signal() });
      assert.deepEqual(got?.item, { type: 'immutable', value: encode(value) });
    }
  });

  test('a mutable item (salted) with an explicit seq, then read-modify-write updates with cas', async () => {
    const keyPair = createDhtKeyPair();
    const salt = te('feed');
    const first = await net.nodes[2]!.put({ keyPair, salt, value: { n: 1 }, seq: 1 }, { signal: signal() });
    assert.ok(first.storedTo >= 4);
    assert.deepEqual(first.target, mutableTarget(keyPair.publicKey, salt));
    for (let n = 2; n <= 4; n++) {
      const up = await net.nodes[2 + n]!.put(
        {
          keyPair,
          salt,
          update: (cur) => {
            assert.equal(cur?.seq, BigInt(n - 1), 'update sees the current seq');
            return { n };
          },
        },
        { signal: signal() },
      );
      assert.ok(up.storedTo >= 4, `update ${n} stored on ${up.storedTo}`);
      assert.equal(up.refused.seqTooLow, 0, 'no node holds a newer item');
      const got = await net.nodes[11]!.get({ publicKey: keyPair.publicKey, salt }, { signal: signal() });
      assert.equal((got!.item as MutableItem).seq, BigInt(n));
      assert.deepEqual(encode(got!.value), encode({ n }));
    }
    // A stale explicit seq is refused by every node that holds the newer one (a node that never
    // got the item may take it: readers still pick the highest seq).
    const stale = await net.nodes[3]!.put({ keyPair, salt, value: { n: 0 }, seq: 2 }, { signal: signal() });
    assert.ok(stale.refused.seqTooLow >= 4, `${stale.refused.seqTooLow} refusals`);
    assert.ok(stale.storedTo < stale.refused.seqTooLow);
    const stillNew = await net.nodes[0]!.get({ publicKey: keyPair.publicKey, salt }, { signal: signal() });
    assert.equal((stillNew!.item as MutableItem).seq, 4n);
  });

  test('an update with no current item starts at seq 1; a stale cas is refused (301) by the nodes that hold the item', async () => {
    const keyPair = createDhtKeyPair();
    const up = await net.nodes[4]!.put(
      { keyPair, update: (cur) => (cur === undefined ? 'first' : 'later') },
      { signal: signal() },
    );
    assert.equal((up.item as MutableItem).seq, 1n);
    const raced = await net.nodes[6]!.put({ keyPair, value: 'other', seq: 2, cas: 0 }, { signal: signal() });
    assert.ok(raced.refused.casMismatch >= 4, `${raced.refused.casMismatch} cas refusals`);
    assert.ok(raced.storedTo < raced.refused.casMismatch, 'only nodes without the item may take it');
  });

  test('anyone can keep a signed item alive by putting it again', async () => {
    const keyPair = createDhtKeyPair();
    await net.nodes[1]!.put({ keyPair, value: 'kept', seq: 7 }, { signal: signal() });
    const got = await net.nodes[8]!.get({ publicKey: keyPair.publicKey }, { signal: signal() });
    const again = await net.nodes[8]!.put({ item: got!.item }, { signal: signal() });
    assert.ok(again.storedTo >= 4, `refreshed on ${again.storedTo}`);
  });

  test('unknown items resolve undefined; bad arguments, abort and close reject with typed errors', async () => {
    assert.equal(await net.nodes[3]!.get(new Uint8Array(20).fill(1), { signal: signal() }), undefined);
    const bad = (e: unknown, code: string) => isShoalError(e) && e.code === code;
    await assert.rejects(net.nodes[3]!.get(new Uint8Array(19)), (e) => bad(e, ErrorCode.DhtInvalidArgument));
    await assert.rejects(net.nodes[3]!.get({ publicKey: new Uint8Array(31) }), (e) =>
      bad(e, ErrorCode.DhtInvalidArgument),
    );
    await assert.rejects(
      net.nodes[3]!.put({ value: new Uint8Array(1000) }),
      (e) => e instanceof DhtError && e.code === ErrorCode.DhtItemInvalid,
    );
    await assert.rejects(
      net.nodes[3]!.put({ keyPair: createDhtKeyPair(), salt: new Uint8Array(65), value: 1, seq: 1 }),
      (e) => bad(e, ErrorCode.DhtItemInvalid),
    );
    const ac = new AbortController();
    const aborted = net.nodes[3]!.get(new Uint8Array(20).fill(2), { signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    const throwing = net.nodes[3]!.put({
      keyPair: createDhtKeyPair(),
      update: () => {
        throw new Error('update failed');
      },
    });
    await assert.rejects(throwing, /update failed/);
    assert.equal(net.nodes[3]!.stats().operations, 0, 'no operation left waiting');
    const extra = await net.add();
    const pending = assert.rejects(extra.put({ value: 'closing' }), (e) => bad(e, ErrorCode.DhtClosed));
    await extra.close();
    await pending;
  });
});
