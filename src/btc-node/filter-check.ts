/**
 * Judging a served BIP 158 filter against its block, to settle which of two peers that disagree on
 * a filter header lies.
 *
 * A basic filter holds the block's output scripts and the scripts of the outputs its inputs spend.
 * A light node has the block but not the spent outputs; it can still recover the spent script of
 * the common input forms from the input itself:
 *
 *   P2WPKH       witness [sig, 33-byte key], empty script_sig      → OP_0 <HASH160(key)>
 *   P2PKH        script_sig <sig> <key>, no witness                → P2PKH(HASH160(key))
 *   P2SH-P2WPKH  script_sig <OP_0 <20>>, witness [sig, key]        → P2SH(HASH160(redeem script))
 *   P2WSH        witness [..., witness script], empty script_sig    → OP_0 <SHA256(witness script)>
 *
 * When every input's spent script is recovered (a block of coinbases and such spends: the whole
 * regtest chain in the tests), the filter is rebuilt and must be byte-identical. Otherwise the
 * filter must contain every item that could be recovered: a filter missing one is false.
 * (A recovered script is what the spend proves about the output, so an honest filter holds it.)
 */
import {
  type Block,
  basicFilter,
  blockHash,
  buildBasicFilter,
  hash160,
  isCoinbase,
  OP_0,
  p2pkhScript,
  p2shScript,
  p2wpkhScript,
  p2wshScript,
  sha256,
  type TxInput,
} from '../bitcoin/index.js';
import { bytesEqual } from '../shared/hash.js';

/** The pushes of a push-only script, or undefined when it holds anything else. */
function pushes(script: Uint8Array): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < script.length) {
    const op = script[i]!;
    let len: number;
    let start: number;
    if (op === OP_0) {
      out.push(new Uint8Array(0));
      i++;
      continue;
    }
    if (op < 0x4c) {
      len = op;
      start = i + 1;
    } else if (op === 0x4c) {
      len = script[i + 1] ?? -1;
      start = i + 2;
    } else if (op === 0x4d) {
      len = (script[i + 1] ?? 0) | ((script[i + 2] ?? 0) << 8);
      start = i + 3;
    } else return undefined;
    if (len < 0 || start + len > script.length) return undefined;
    out.push(script.subarray(start, start + len));
    i = start + len;
  }
  return out;
}

const isKey = (k: Uint8Array | undefined) =>
  k !== undefined && ((k.length === 33 && (k[0] === 2 || k[0] === 3)) || (k.length === 65 && k[0] === 4));

/** The script `input` spends, when its form shows it; undefined otherwise. */
export function recoverSpentScript(input: TxInput): Uint8Array | undefined {
  const w = input.witness;
  const sig = input.scriptSig;
  if (sig.length === 0 && w.length === 2 && isKey(w[1]) && w[1]!.length === 33)
    return p2wpkhScript(hash160(w[1]!));
  if (w.length === 0) {
    const p = pushes(sig);
    if (p !== undefined && p.length === 2 && isKey(p[1])) return p2pkhScript(hash160(p[1]!));
    return undefined;
  }
  if (sig.length > 0) {
    const p = pushes(sig);
    const redeem = p?.length === 1 ? p[0]! : undefined;
    if (redeem !== undefined && redeem.length === 22 && redeem[0] === OP_0 && redeem[1] === 20)
      return p2shScript(hash160(redeem));
    return undefined;
  }
  if (w.length >= 2) return p2wshScript(sha256(w[w.length - 1]!));
  return undefined;
}

/**
 * The basic filter of `block` rebuilt from the block alone, when every input's spent script can
 * be recovered from the input (see the module notes); undefined otherwise.
 */
export function rebuildBasicFilter(block: Block): Uint8Array | undefined {
  const spent: Uint8Array[] = [];
  for (const tx of block.txs) {
    if (isCoinbase(tx)) continue;
    for (const input of tx.inputs) {
      const s = recoverSpentScript(input);
      if (s === undefined) return undefined;
      spent.push(s);
    }
  }
  return buildBasicFilter(block, spent);
}

/** The verdict on a filter. */
export interface FilterVerdict {
  readonly ok: boolean;
  /** The filter was compared byte for byte with one rebuilt from the block. */
  readonly rebuilt: boolean;
  readonly reason?: string;
}

/** Whether `filter` can be the basic filter of `block` (see the module notes). */
export function judgeFilter(filter: Uint8Array, block: Block): FilterVerdict {
  const rebuilt = rebuildBasicFilter(block);
  if (rebuilt !== undefined) {
    return bytesEqual(rebuilt, filter)
      ? { ok: true, rebuilt: true }
      : { ok: false, rebuilt: true, reason: 'differs from the filter rebuilt from the block' };
  }
  let gcs: ReturnType<typeof basicFilter>;
  try {
    gcs = basicFilter(filter, blockHash(block));
  } catch (e) {
    return { ok: false, rebuilt: false, reason: (e as Error).message };
  }
  const items: Uint8Array[] = [];
  for (const tx of block.txs) {
    if (isCoinbase(tx)) continue;
    for (const input of tx.inputs) {
      const s = recoverSpentScript(input);
      if (s !== undefined) items.push(s);
    }
  }
  for (const tx of block.txs)
    for (const o of tx.outputs) if (o.script.length > 0 && o.script[0] !== 0x6a) items.push(o.script);
  for (const item of items) {
    if (!gcs.match(item))
      return { ok: false, rebuilt: false, reason: 'a script of the block is missing from the filter' };
  }
  return { ok: true, rebuilt: false };
}
