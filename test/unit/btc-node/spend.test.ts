/**
 * Building and signing spends: coin selection, the fee from the signed size, change and dust,
 * P2WPKH and P2PKH inputs whose signatures verify, and refusals.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  hashToHex,
  legacySighashPreimage,
  PrivateKey,
  p2pkhScript,
  p2wpkhScript,
  SighashType,
  verifyPreimage,
  weight,
  witnessV0SighashPreimage,
} from '../../../src/bitcoin/index.js';
import { buildSpend, DUST_SATS, type Utxo } from '../../../src/btc-node/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';

const KEY = PrivateKey.fromBytes(new Uint8Array(32).fill(0x31));
const WPKH = p2wpkhScript(KEY.publicKeyHash);
const PKH = p2pkhScript(KEY.publicKeyHash);
const TO = Uint8Array.of(0x00, 0x14, ...new Uint8Array(20).fill(9));

const coin = (n: number, value: bigint, script: Uint8Array, spendable = true): Utxo => ({
  txid: hashToHex(new Uint8Array(32).fill(n)),
  vout: n,
  value,
  script,
  address: undefined,
  confirmations: 10,
  height: 1,
  coinbase: false,
  spendable,
});

test('largest coins first, the fee from the signed size, change back to the key, valid signatures', () => {
  const utxos = [coin(1, 30_000n, WPKH), coin(2, 80_000n, PKH), coin(3, 1_000_000n, WPKH, false)];
  const s = buildSpend({ key: KEY, to: TO, amount: 90_000n, feeRate: 3, utxos });
  assert.deepEqual(
    s.inputs.map((i) => i.vout),
    [2, 1],
  );
  const vsize = Math.ceil(weight(s.tx) / 4);
  assert.ok(s.fee >= BigInt(vsize * 3), `fee ${s.fee} for ${vsize} vB`);
  assert.ok(s.fee <= BigInt(vsize * 3 + 200));
  assert.equal(s.tx.outputs[0]!.value, 90_000n);
  assert.equal(s.tx.outputs[1]!.value, s.change);
  assert.deepEqual(s.tx.outputs[1]!.script, WPKH);
  assert.equal(110_000n, 90_000n + s.change + s.fee);
  // Input 0 is the P2PKH coin (script_sig), input 1 the P2WPKH coin (witness); both verify.
  const [sigScript] = [s.tx.inputs[0]!.scriptSig];
  const legacySig = sigScript.subarray(1, 1 + sigScript[0]! - 1);
  assert.ok(verifyPreimage(KEY.publicKey, legacySighashPreimage(s.tx, 0, PKH, SighashType.All), legacySig));
  const w = s.tx.inputs[1]!.witness;
  const segwitSig = w[0]!.subarray(0, w[0]!.length - 1);
  assert.ok(
    verifyPreimage(
      KEY.publicKey,
      witnessV0SighashPreimage(s.tx, 1, PKH, 30_000n, SighashType.All),
      segwitSig,
    ),
  );
});

test('change below the dust threshold goes to the fee', () => {
  const s = buildSpend({ key: KEY, to: TO, amount: 99_500n, feeRate: 1, utxos: [coin(1, 100_000n, WPKH)] });
  assert.equal(s.change, 0n);
  assert.equal(s.tx.outputs.length, 1);
  assert.equal(s.fee, 500n);
});

test('refusals: not enough coins, dust amounts, absurd fee rates, coins of other keys', () => {
  const other = p2wpkhScript(new Uint8Array(20).fill(1));
  const cases: [Parameters<typeof buildSpend>[0], string][] = [
    [
      { key: KEY, to: TO, amount: 200_000n, feeRate: 1, utxos: [coin(1, 100_000n, WPKH)] },
      ErrorCode.BtcInsufficientFunds,
    ],
    [
      { key: KEY, to: TO, amount: 10_000n, feeRate: 1, utxos: [coin(1, 100_000n, other)] },
      ErrorCode.BtcInsufficientFunds,
    ],
    [
      { key: KEY, to: TO, amount: DUST_SATS - 1n, feeRate: 1, utxos: [coin(1, 100_000n, WPKH)] },
      ErrorCode.BtcInvalidArgument,
    ],
    [
      { key: KEY, to: TO, amount: 10_000n, feeRate: 0, utxos: [coin(1, 100_000n, WPKH)] },
      ErrorCode.BtcInvalidArgument,
    ],
  ];
  for (const [req, code] of cases)
    assert.throws(
      () => buildSpend(req),
      (e) => isShoalError(e) && e.code === code,
    );
});
