/**
 * The BEP 44 item store: every refusal code, every bound crossed (items, bytes, expiry, put
 * rates), and the rule that a refused put never changes what is stored.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '../../../src/codec/index.js';
import {
  bytesToBinary,
  compareDistance,
  type DhtItem,
  ed25519KeyPair,
  type ImmutableItem,
  ItemStore,
  type ItemStoreInit,
  itemStoreBytes,
  itemTarget,
  KrpcErrorCode,
  type MutableItem,
  mutableTarget,
  signMutableItem,
} from '../../../src/dht/index.js';
import {
  DHT_ITEM_TTL_MS,
  DHT_PUT_BURST_GLOBAL,
  DHT_PUT_BURST_PER_IP,
  DHT_PUT_RATE_GLOBAL,
  DHT_PUT_RATE_PER_IP,
  MAX_DHT_ITEM_SALT_BYTES,
  MAX_DHT_ITEM_STORE_BYTES,
  MAX_DHT_ITEM_VALUE_BYTES,
  MAX_DHT_ITEMS,
} from '../../../src/shared/limits.js';
import { SeededRandom } from '../../../src/testing/sim-network.js';

const OWN_ID = new Uint8Array(20);
const IP = '\xc6\x33\x64\x01'; // 198.51.100.1
const UNLIMITED: ItemStoreInit = {
  putRatePerIp: 1e9,
  putBurstPerIp: 1e9,
  putRateGlobal: 1e9,
  putBurstGlobal: 1e9,
};
const pair = ed25519KeyPair(new Uint8Array(32).fill(3));

function imm(s: string): ImmutableItem {
  return { type: 'immutable', value: encode(s) };
}

function mut(value: string, seq: number, salt = ''): MutableItem {
  return signMutableItem(pair, encode(value), seq, new TextEncoder().encode(salt));
}

function refused(r: ReturnType<ItemStore['put']>, code: number): void {
  assert.equal(r.ok, false, 'refused');
  if (!r.ok) assert.equal(r.code, code, r.reason);
}

function stored(r: ReturnType<ItemStore['put']>, how: 'new' | 'updated' | 'refreshed'): void {
  assert.deepEqual(r, { ok: true, stored: how });
}

describe('item store: BEP 44 rules and error codes', () => {
  test('immutable items: stored under SHA-1 of the value, a second put refreshes', () => {
    const s = new ItemStore(OWN_ID, UNLIMITED, 0);
    const item = imm('hello');
    stored(s.put(item, undefined, IP, 0), 'new');
    assert.deepEqual(s.get(itemTarget(item), 1), item);
    stored(s.put(item, undefined, IP, 5), 'refreshed');
    assert.equal(s.size, 1);
  });

  test('mutable items: a higher seq replaces, the same item refreshes', () => {
    const s = new ItemStore(OWN_ID, UNLIMITED, 0);
    const target = mutableTarget(pair.publicKey);
    stored(s.put(mut('a', 1), undefined, IP, 0), 'new');
    stored(s.put(mut('b', 2), undefined, IP, 0), 'updated');
    stored(s.put(mut('b', 2), undefined, IP, 0), 'refreshed');
    const got = s.get(target, 0) as MutableItem;
    assert.equal(got.seq, 2n);
    assert.deepEqual(got.value, encode('b'));
  });

  test('302: a lower seq is refused and never replaces; an equal seq with another value too', () => {
    const s = new ItemStore(OWN_ID, UNLIMITED, 0);
    stored(s.put(mut('five', 5), undefined, IP, 0), 'new');
    refused(s.put(mut('four', 4), undefined, IP, 0), KrpcErrorCode.SeqTooLow);
    refused(s.put(mut('other five', 5), undefined, IP, 0), KrpcErrorCode.SeqTooLow);
    const got = s.get(mutableTarget(pair.publicKey), 0) as MutableItem;
    assert.equal(got.seq, 5n);
    assert.deepEqual(got.value, encode('five'));
    assert.equal(s.refused, 2);
  });

  test('301: cas must name the stored seq; it is ignored when nothing is stored', () => {
    const s = new ItemStore(OWN_ID, UNLIMITED, 0);
    stored(s.put(mut('a', 1), 7n, IP, 0), 'new');
    refused(s.put(mut('b', 2), 0n, IP, 0), KrpcErrorCode.CasMismatch);
    refused(s.put(mut('b', 2), 2n, IP, 0), KrpcErrorCode.CasMismatch);
    stored(s.put(mut('b', 2), 1n, IP, 0), 'updated');
    assert.equal((s.get(mutableTarget(pair.publicKey), 0) as MutableItem).seq, 2n);
  });

  test('206: a forged signature is refused, whatever it claims', () => {
    const s = new ItemStore(OWN_ID, UNLIMITED, 0);
    stored(s.put(mut('genuine', 1), undefined, IP, 0), 'new');
    const forged: MutableItem = { ...mut('genuine', 1), seq: 9n, value: encode('forged') };
    refused(s.put(forged, undefined, IP, 0), KrpcErrorCode.InvalidSignature);
    const other = ed25519KeyPair(new Uint8Array(32).fill(4));
    const stolen: MutableItem = { ...signMutableItem(other, encode('x'), 10), publicKey: pair.publicKey };
    refused(s.put(stolen, undefined, IP, 0), KrpcErrorCode.InvalidSignature);
    const fresh: MutableItem = { ...mut('new slot', 1, 'salt'), signature: new Uint8Array(64) };
    refused(s.put(fresh, undefined, IP, 0), KrpcErrorCode.InvalidSignature);
    assert.deepEqual((s.get(mutableTarget(pair.publicKey), 0) as MutableItem).value, encode('genuine'));
    assert.equal(s.get(mutableTarget(pair.publicKey, new TextEncoder().encode('salt')), 0), undefined);
  });

  test('205 and 207: value over MAX_DHT_ITEM_VALUE_BYTES, salt over MAX_DHT_ITEM_SALT_BYTES', () => {
    const s = new ItemStore(OWN_ID, UNLIMITED, 0);
    const fits = encode(new Uint8Array(MAX_DHT_ITEM_VALUE_BYTES - 4));
    stored(s.put({ type: 'immutable', value: fits }, undefined, IP, 0), 'new');
    const big = encode(new Uint8Array(MAX_DHT_ITEM_VALUE_BYTES - 3));
    refused(s.put({ type: 'immutable', value: big }, undefined, IP, 0), KrpcErrorCode.MessageTooBig);
    refused(s.put({ ...mut('x', 1), value: big }, undefined, IP, 0), KrpcErrorCode.MessageTooBig);
    const saltOk = 'x'.repeat(MAX_DHT_ITEM_SALT_BYTES);
    stored(s.put(mut('v', 1, saltOk), undefined, IP, 0), 'new');
    refused(
      s.put({ ...mut('v', 1), salt: new Uint8Array(MAX_DHT_ITEM_SALT_BYTES + 1) }, undefined, IP, 0),
      KrpcErrorCode.SaltTooBig,
    );
  });

  test('203: wrong key or signature length, a value that is not bencode', () => {
    const s = new ItemStore(OWN_ID, UNLIMITED, 0);
    const item = mut('v', 1);
    refused(
      s.put({ ...item, publicKey: item.publicKey.subarray(0, 31) }, undefined, IP, 0),
      KrpcErrorCode.Protocol,
    );
    refused(s.put({ ...item, publicKey: new Uint8Array(33) }, undefined, IP, 0), KrpcErrorCode.Protocol);
    refused(
      s.put({ ...item, signature: item.signature.subarray(0, 63) }, undefined, IP, 0),
      KrpcErrorCode.Protocol,
    );
    refused(
      s.put({ type: 'immutable', value: new TextEncoder().encode('5:ab') }, undefined, IP, 0),
      KrpcErrorCode.Protocol,
    );
    refused(s.put({ ...item, seq: -1n }, undefined, IP, 0), KrpcErrorCode.Protocol);
    assert.equal(s.size, 0);
  });
});

describe('item store: bounds', () => {
  test(`items expire DHT_ITEM_TTL_MS (${DHT_ITEM_TTL_MS} ms) after their last put`, () => {
    const s = new ItemStore(OWN_ID, UNLIMITED, 0);
    const a = imm('a');
    s.put(a, undefined, IP, 0);
    s.put(a, undefined, IP, 1000);
    assert.ok(s.get(itemTarget(a), 1000 + DHT_ITEM_TTL_MS - 1));
    assert.equal(s.get(itemTarget(a), 1000 + DHT_ITEM_TTL_MS), undefined);
    assert.equal(s.size, 0);
    s.put(imm('b'), undefined, IP, 0);
    s.purge(DHT_ITEM_TTL_MS);
    assert.equal(s.size, 0);
    assert.equal(s.bytes, 0);
  });

  test('an expired mutable item no longer blocks a lower seq (nothing is stored)', () => {
    const s = new ItemStore(OWN_ID, UNLIMITED, 0);
    s.put(mut('new', 9), undefined, IP, 0);
    stored(s.put(mut('old', 2), undefined, IP, DHT_ITEM_TTL_MS), 'new');
  });

  test(`MAX_DHT_ITEMS (${MAX_DHT_ITEMS}): when full, only an item closer to our id gets in, evicting the farthest`, () => {
    const random = new SeededRandom(7);
    const s = new ItemStore(OWN_ID, UNLIMITED, 0);
    const items: ImmutableItem[] = [];
    for (let i = 0; items.length < MAX_DHT_ITEMS; i++) {
      const it = imm(`item ${i}`);
      stored(s.put(it, undefined, IP, 0), 'new');
      items.push(it);
    }
    assert.equal(s.size, MAX_DHT_ITEMS);
    const own = bytesToBinary(OWN_ID);
    const key = (it: DhtItem) => bytesToBinary(itemTarget(it));
    let farthest = items[0]!;
    for (const it of items) if (compareDistance(key(it), key(farthest), own) > 0) farthest = it;
    // Find one item farther than every stored one and one closer than the farthest.
    let far: ImmutableItem | undefined;
    let near: ImmutableItem | undefined;
    for (let i = 0; far === undefined || near === undefined; i++) {
      const it = imm(`probe ${random.int(1e9)} ${i}`);
      const d = compareDistance(key(it), key(farthest), own);
      if (d > 0) far ??= it;
      else if (d < 0) near ??= it;
    }
    refused(s.put(far, undefined, IP, 1), KrpcErrorCode.Server);
    assert.equal(s.get(itemTarget(far), 1), undefined);
    stored(s.put(near, undefined, IP, 1), 'new');
    assert.equal(s.size, MAX_DHT_ITEMS);
    assert.equal(s.get(itemTarget(farthest), 1), undefined, 'the farthest item made room');
    assert.ok(s.get(itemTarget(near), 1));
  });

  test(`MAX_DHT_ITEM_STORE_BYTES (${MAX_DHT_ITEM_STORE_BYTES}): bytes stay within the bound`, () => {
    const s = new ItemStore(OWN_ID, UNLIMITED, 0);
    let refusedCount = 0;
    for (let i = 0; i < 1500; i++) {
      const value = encode(`${i}`.padEnd(MAX_DHT_ITEM_VALUE_BYTES - 4, '.'));
      const r = s.put({ type: 'immutable', value }, undefined, IP, 0);
      if (!r.ok) refusedCount++;
      assert.ok(s.bytes <= MAX_DHT_ITEM_STORE_BYTES, `${s.bytes} bytes stored`);
    }
    const per = itemStoreBytes({ type: 'immutable', value: new Uint8Array(MAX_DHT_ITEM_VALUE_BYTES) });
    assert.equal(s.size, Math.floor(MAX_DHT_ITEM_STORE_BYTES / per));
    assert.ok(refusedCount > 0, 'some were refused: they were not closer than what is stored');
  });

  test(`DHT_PUT_BURST_PER_IP (${DHT_PUT_BURST_PER_IP}) then DHT_PUT_RATE_PER_IP (${DHT_PUT_RATE_PER_IP}/s) puts per source IP`, () => {
    const s = new ItemStore(OWN_ID, {}, 0);
    for (let i = 0; i < DHT_PUT_BURST_PER_IP; i++) stored(s.put(imm(`b${i}`), undefined, IP, 0), 'new');
    refused(s.put(imm('over'), undefined, IP, 0), KrpcErrorCode.Server);
    stored(s.put(imm('another ip'), undefined, '\xc6\x33\x64\x02', 0), 'new');
    const later = 1000 / DHT_PUT_RATE_PER_IP;
    stored(s.put(imm('refilled'), undefined, IP, later), 'new');
    refused(s.put(imm('over again'), undefined, IP, later), KrpcErrorCode.Server);
  });

  test(`DHT_PUT_BURST_GLOBAL (${DHT_PUT_BURST_GLOBAL}) then DHT_PUT_RATE_GLOBAL (${DHT_PUT_RATE_GLOBAL}/s) puts over all sources`, () => {
    const s = new ItemStore(OWN_ID, { putBurstPerIp: 1e9, putRatePerIp: 1e9 }, 0);
    for (let i = 0; i < DHT_PUT_BURST_GLOBAL; i++) {
      stored(s.put(imm(`g${i}`), undefined, String.fromCharCode(198, 51, i >> 8, i & 255), 0), 'new');
    }
    refused(s.put(imm('one more'), undefined, '\xcb\x00\x71\x01', 0), KrpcErrorCode.Server);
    // DHT_PUT_RATE_GLOBAL refills it: one put per 1000 / rate ms over all sources.
    const later = 1000 / DHT_PUT_RATE_GLOBAL;
    stored(s.put(imm('refilled'), undefined, '\xcb\x00\x71\x02', later), 'new');
    refused(s.put(imm('and no more'), undefined, '\xcb\x00\x71\x03', later), KrpcErrorCode.Server);
  });
});
