/** Test helper: grinds nonces to make valid headers on cheap-proof-of-work networks (regtest). */
import {
  type BlockHeader,
  type ChainParams,
  encodeHeader,
  type HeaderEntry,
  hashToBigInt,
  headerHash,
  powHash,
  validTarget,
} from '../../../src/bitcoin/chain/index.js';

/** Bytes of a header on `prev` whose proof of work meets `bits` (nonce ground from `salt`). */
export function mine(
  params: ChainParams,
  prev: { hash: Uint8Array },
  fields: { time: number; bits: number; version?: number; salt?: number; merkleRoot?: Uint8Array },
): Uint8Array {
  const target = validTarget(fields.bits, params.powLimit);
  if (target === undefined) throw new Error('invalid bits');
  for (let nonce = (fields.salt ?? 0) * 1_000_003; ; nonce++) {
    const h: BlockHeader = {
      version: fields.version ?? 0x20000000,
      prevHash: prev.hash,
      merkleRoot: fields.merkleRoot ?? new Uint8Array(32).fill(fields.salt ?? 0),
      time: fields.time,
      bits: fields.bits,
      nonce: nonce >>> 0,
    };
    const raw = encodeHeader(h);
    if (hashToBigInt(powHash(raw, params.pow)) <= target) return raw;
  }
}

/** `n` regtest headers on `tip`, 10 minutes apart, at the pow limit bits. */
export function mineChain(
  params: ChainParams,
  tip: HeaderEntry | { hash: Uint8Array; time: number; bits: number },
  n: number,
  salt = 0,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = { hash: tip.hash, time: tip.time };
  for (let i = 0; i < n; i++) {
    const time = prev.time + 600;
    const raw = mine(params, prev, { time, bits: tip.bits, salt });
    out.push(raw);
    prev = { hash: headerHash(raw), time };
  }
  return out;
}
