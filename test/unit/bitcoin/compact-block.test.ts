import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { encodeHeader } from '../../../src/bitcoin/chain/index.js';
import { bytesFromHex, bytesToHex } from '../../../src/bitcoin/codec/index.js';
import { siphash24, sipKey } from '../../../src/bitcoin/crypto/index.js';
import {
  decodeBlock,
  encodeBlock,
  finishReconstruction,
  makeCompactBlock,
  shortId,
  shortIdKey,
  startReconstruction,
  type Transaction,
  txid,
  wtxid,
} from '../../../src/bitcoin/tx/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';

/** SipHash-2-4 written the slow, obvious way with BigInt, as a reference. */
function refSiphash(key: Uint8Array, msg: Uint8Array): bigint {
  const M = (1n << 64n) - 1n;
  const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M;
  const le = (b: Uint8Array, at: number) => {
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i] ?? 0);
    return v;
  };
  const k0 = le(key, 0);
  const k1 = le(key, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & M;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const padded = new Uint8Array(Math.floor(msg.length / 8) * 8 + 8);
  padded.set(msg);
  padded[padded.length - 1] = msg.length & 0xff;
  for (let i = 0; i < padded.length; i += 8) {
    const m = le(padded, i);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

const vectors = JSON.parse(
  readFileSync(new URL('../../fixtures/bitcoin/bip158-testnet-19.json', import.meta.url), 'utf8'),
) as string[][];
// The vector block with the most transactions.
const block = vectors
  .slice(1)
  .map((r) => decodeBlock(bytesFromHex(r[2]!)))
  .sort((a, b) => b.txs.length - a.txs.length)[0]!;

describe('SipHash-2-4', () => {
  test('the SipHash paper vectors, and agreement with a BigInt reference on every length', () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i);
    assert.equal(siphash24(sipKey(key), new Uint8Array(0)), 0x726fdb47dd0e0e31n);
    assert.equal(
      siphash24(
        sipKey(key),
        Uint8Array.from({ length: 15 }, (_, i) => i),
      ),
      0xa129ca6149be45e5n,
    );
    for (let n = 0; n < 70; n++) {
      const msg = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      const k = Uint8Array.from({ length: 16 }, (_, i) => (i * 91 + n * 7) & 0xff);
      assert.equal(siphash24(sipKey(k), msg), refSiphash(k, msg), `length ${n}`);
    }
  });
});

describe('BIP 152 short ids', () => {
  test('key = first 16 bytes of SHA-256(header ‖ nonce LE), id = low 48 bits of SipHash(txid)', () => {
    const nonce = 0x0123456789abcdefn;
    const n = Buffer.alloc(8);
    n.writeBigUInt64LE(nonce);
    const keyBytes = createHash('sha256')
      .update(encodeHeader(block.header))
      .update(n)
      .digest()
      .subarray(0, 16);
    const key = shortIdKey(block.header, nonce);
    for (const tx of block.txs) {
      for (const id of [txid(tx), wtxid(tx)]) {
        const want = Number(refSiphash(keyBytes, id) & 0xffffffffffffn);
        assert.equal(shortId(key, id), want);
        assert.ok(want < 2 ** 48);
      }
    }
  });
});

describe('BIP 152 reconstruction', () => {
  const nonce = 42n;
  assert.ok(block.txs.length >= 4, 'a block with a few transactions');

  for (const version of [1, 2] as const) {
    test(`version ${version}: from the mempool, asking only for what is missing`, () => {
      const cmpct = makeCompactBlock(block, nonce, version);
      assert.equal(cmpct.prefilled.length, 1);
      assert.equal(cmpct.shortIds.length, block.txs.length - 1);
      // The mempool has every transaction but the second, plus an unrelated one.
      const mempool = new Map<string, Transaction>();
      for (const tx of block.txs.slice(2)) mempool.set(bytesToHex(wtxid(tx)), tx);
      const unrelated = { ...block.txs[1]!, lockTime: 12345 };
      mempool.set('x', unrelated);
      const partial = startReconstruction(cmpct, mempool, version);
      assert.deepEqual(partial.missing, [1]);
      const rebuilt = finishReconstruction(partial, [block.txs[1]!]);
      assert.equal(bytesToHex(encodeBlock(rebuilt)), bytesToHex(encodeBlock(block)));
      // Everything in the mempool: nothing missing.
      const full = startReconstruction(cmpct, block.txs.slice(1), version);
      assert.deepEqual(full.missing, []);
      assert.equal(bytesToHex(encodeBlock(finishReconstruction(full))), bytesToHex(encodeBlock(block)));
    });
  }

  test('a wrong blocktxn (a collision) or a wrong count fails: fetch the full block', () => {
    const cmpct = makeCompactBlock(block, nonce, 2, [0, 2]);
    assert.equal(cmpct.prefilled[1]!.index, 2);
    const partial = startReconstruction(cmpct, [], 2);
    assert.equal(partial.missing.length, block.txs.length - 2);
    const txs = block.txs.filter((_, i) => i !== 0 && i !== 2);
    const wrong = [{ ...txs[0]!, lockTime: 99 }, ...txs.slice(1)];
    const isCompact = (e: unknown) => isShoalError(e, ErrorCode.BtcCompactBlock);
    assert.throws(() => finishReconstruction(partial, wrong), isCompact);
    assert.throws(() => finishReconstruction(partial, txs.slice(1)), isCompact);
    assert.equal(finishReconstruction(partial, txs).txs.length, block.txs.length);
  });

  test('inconsistent compact blocks: duplicate short ids, prefilled out of range or order, empty', () => {
    const cmpct = makeCompactBlock(block, nonce, 2);
    const isCompact = (e: unknown) => isShoalError(e, ErrorCode.BtcCompactBlock);
    const dup = { ...cmpct, shortIds: [cmpct.shortIds[0]!, ...cmpct.shortIds.slice(0, -1)] };
    assert.throws(() => startReconstruction(dup, [], 2), isCompact);
    const far = { ...cmpct, prefilled: [{ index: 99, tx: block.txs[0]! }] };
    assert.throws(() => startReconstruction(far, [], 2), isCompact);
    const twice = {
      ...cmpct,
      shortIds: cmpct.shortIds.slice(1),
      prefilled: [cmpct.prefilled[0]!, cmpct.prefilled[0]!],
    };
    assert.throws(() => startReconstruction(twice, [], 2), isCompact);
    assert.throws(() => startReconstruction({ ...cmpct, shortIds: [], prefilled: [] }, [], 2), isCompact);
  });
});
