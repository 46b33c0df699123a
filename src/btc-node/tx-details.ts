/**
 * What {@link BtcNode.transaction} reports of a wallet transaction: its raw bytes, confirmations
 * and the merkle inclusion proof, checked against the header of its block in our chain.
 */
import {
  bytesToHex,
  decodeHeader,
  encodeTransaction,
  hashFromHex,
  hashToHex,
  headerHash,
  verifyMerkleProof,
} from '../bitcoin/index.js';
import type { HistoryEntry, WalletTx } from './wallet/wallet.js';

/** A wallet transaction with its proof, as {@link BtcNode.transaction} reports it. */
export interface TxDetails {
  readonly txid: string;
  readonly raw: string;
  readonly confirmations: number;
  readonly height: number | undefined;
  readonly blockHash: string | undefined;
  readonly delta: number;
  /** Merkle inclusion proof: the transaction's position and the sibling hashes bottom-up (display hex). */
  readonly proof: { readonly index: number; readonly siblings: readonly string[] } | undefined;
  /** The proof leads from the txid to the merkle root of the block header in our chain. */
  readonly proofVerified: boolean;
}

/** Builds the details of `rec`; `headerAt` reads the best chain's 80-byte header at a height. */
export async function txDetails(
  rec: WalletTx,
  entry: HistoryEntry | undefined,
  headerAt: (height: number) => Promise<Uint8Array | undefined>,
): Promise<TxDetails> {
  let proofVerified = false;
  if (rec.proof !== undefined && rec.height !== undefined && rec.blockHash !== undefined) {
    const raw = await headerAt(rec.height);
    if (raw !== undefined && hashToHex(headerHash(raw)) === rec.blockHash) {
      proofVerified = verifyMerkleProof(hashFromHex(rec.txid), rec.proof, decodeHeader(raw).merkleRoot);
    }
  }
  return {
    txid: rec.txid,
    raw: bytesToHex(encodeTransaction(rec.tx)),
    confirmations: entry?.confirmations ?? 0,
    height: rec.height,
    blockHash: rec.blockHash,
    delta: Number(entry?.delta ?? 0n),
    proof:
      rec.proof === undefined
        ? undefined
        : { index: rec.proof.index, siblings: rec.proof.siblings.map((s) => hashToHex(s)) },
    proofVerified,
  };
}
