/**
 * Building and signing a simple spend: the coins of one key (its P2WPKH and P2PKH outputs) to
 * one output, change back to the key's P2WPKH script, at a fee rate in sat/vbyte.
 *
 * Coin selection takes the largest spendable coins first until amount and fee are covered; the fee
 * is computed from the signed transaction's virtual size (weight / 4, rounded up), so the rate is
 * never below the one asked. Change below the dust threshold is left to the fee.
 */
import {
  BtcError,
  hash160,
  hashFromHex,
  type PrivateKey,
  p2pkhScript,
  p2wpkhScript,
  signP2pkhInput,
  signP2wpkhInput,
  type Transaction,
  type TxInput,
  weight,
} from '../../bitcoin/index.js';
import { ErrorCode } from '../../shared/errors.js';
import { bytesEqual } from '../../shared/hash.js';
import type { Utxo } from './wallet.js';

/** Outputs below this are not worth creating (Bitcoin Core's dust limit for P2PKH at 3 sat/vB). */
export const DUST_SATS = 546n;
/** Virtual bytes of a signed P2WPKH input, at most. */
const P2WPKH_INPUT_VB = 69;
/** Virtual bytes of a signed P2PKH input (compressed key), at most. */
const P2PKH_INPUT_VB = 149;
/** Version, counts, lock time and the segwit marker, at most. */
const OVERHEAD_VB = 11;

export interface SpendRequest {
  readonly key: PrivateKey;
  /** The output script to pay. */
  readonly to: Uint8Array;
  /** Amount, base units. */
  readonly amount: bigint;
  /** Fee rate, sat per virtual byte. */
  readonly feeRate: number;
  /** The wallet's unspent outputs (only this key's spendable ones are used). */
  readonly utxos: readonly Utxo[];
}

export interface BuiltSpend {
  readonly tx: Transaction;
  readonly fee: bigint;
  /** Change returned to the key, 0 when none. */
  readonly change: bigint;
  /** The coins spent. */
  readonly inputs: readonly Utxo[];
}

/** Builds and signs the spend; `BtcInsufficientFunds` when the key's coins do not cover it. */
export function buildSpend(req: SpendRequest): BuiltSpend {
  if (req.amount < DUST_SATS)
    throw new BtcError(ErrorCode.BtcInvalidArgument, `amount below the dust threshold (${DUST_SATS})`);
  if (!(req.feeRate >= 1 && req.feeRate <= 10_000))
    throw new BtcError(ErrorCode.BtcInvalidArgument, 'fee rate must be 1 to 10,000 sat/vB');
  const pkh = hash160(req.key.publicKey);
  const wpkh = p2wpkhScript(pkh);
  const pk = p2pkhScript(pkh);
  const coins = req.utxos
    .filter((u) => u.spendable && (bytesEqual(u.script, wpkh) || bytesEqual(u.script, pk)))
    .sort((a, b) => (a.value < b.value ? 1 : a.value > b.value ? -1 : 0));
  const outVb = 9 + req.to.length;
  const changeVb = 9 + wpkh.length;
  const chosen: Utxo[] = [];
  let sum = 0n;
  let vb = OVERHEAD_VB + outVb + changeVb;
  const rate = BigInt(Math.ceil(req.feeRate));
  for (const c of coins) {
    chosen.push(c);
    sum += c.value;
    vb += bytesEqual(c.script, wpkh) ? P2WPKH_INPUT_VB : P2PKH_INPUT_VB;
    if (sum >= req.amount + rate * BigInt(vb)) break;
  }
  if (chosen.length === 0 || sum < req.amount + rate * BigInt(vb)) {
    throw new BtcError(
      ErrorCode.BtcInsufficientFunds,
      `the key's spendable coins (${sum}) do not cover ${req.amount} plus the fee`,
    );
  }
  // Sign with the estimate, then fix the fee from the real size (one more round at most).
  let fee = rate * BigInt(vb);
  for (let round = 0; round < 3; round++) {
    let change = sum - req.amount - fee;
    if (change < DUST_SATS) change = 0n;
    const tx = sign(req, chosen, change, wpkh);
    const vsize = BigInt(Math.ceil(weight(tx) / 4));
    const needed = rate * vsize;
    const paid = sum - req.amount - change;
    if (paid >= needed) return { tx, fee: paid, change, inputs: chosen };
    fee = needed;
    if (sum < req.amount + fee)
      throw new BtcError(ErrorCode.BtcInsufficientFunds, `the key's coins do not cover the fee of ${fee}`);
  }
  throw new BtcError(ErrorCode.BtcInsufficientFunds, 'could not settle the fee');
}

function sign(
  req: SpendRequest,
  coins: readonly Utxo[],
  change: bigint,
  changeScript: Uint8Array,
): Transaction {
  const inputs: TxInput[] = coins.map((c) => ({
    prevout: { txid: hashFromHex(c.txid), index: c.vout },
    scriptSig: new Uint8Array(0),
    sequence: 0xfffffffd,
    witness: [],
  }));
  const outputs = [{ value: req.amount, script: req.to }];
  if (change > 0n) outputs.push({ value: change, script: changeScript });
  let tx: Transaction = { version: 2, inputs, outputs, lockTime: 0 };
  coins.forEach((c, i) => {
    tx = c.script.length === 22 ? signP2wpkhInput(tx, i, req.key, c.value) : signP2pkhInput(tx, i, req.key);
  });
  return tx;
}
