/**
 * The watch-only wallet on disk: one JSON file (`wallet.json` in the network's folder), written
 * atomically (temp file, fsync, rename) after every change that matters, so a crash keeps the
 * previous state or the new one.
 *
 *   { format: "shoal-btc-wallet", version: 1, network, scannedHeight,
 *     watched: [{ descriptor, label, rescanFrom }],
 *     txs: [{ raw (hex, with witness), firstSeen, height?, blockHash?, blockIndex?, blockTime?,
 *             proof?: { index, siblings: [hex] } }] }
 *
 * Loading parses every descriptor and transaction again; a file that does not check out is
 * refused with `BtcBadState` (the user's file is never overwritten silently).
 */
import {
  BtcError,
  bytesToHex,
  type ChainParams,
  decodeTransaction,
  encodeTransaction,
  hashToHex,
  txid,
} from '../../bitcoin/index.js';
import { ErrorCode } from '../../shared/errors.js';
import { BTC_MAX_WALLET_FILE_BYTES } from '../../shared/limits.js';
import { readFileBounded, writeFileAtomic } from '../atomic-file.js';
import { Wallet, type WalletTx } from './wallet.js';

const FORMAT = 'shoal-btc-wallet';
const VERSION = 1;

interface TxJson {
  raw: string;
  firstSeen: number;
  height?: number;
  blockHash?: string;
  blockIndex?: number;
  blockTime?: number;
  proof?: { index: number; siblings: string[] };
}

interface WalletJson {
  format: string;
  version: number;
  network: string;
  scannedHeight: number;
  watched: { descriptor: string; label: string; rescanFrom: number }[];
  txs: TxJson[];
}

/** The wallet as JSON text. */
export function encodeWallet(w: Wallet): string {
  const body: WalletJson = {
    format: FORMAT,
    version: VERSION,
    network: w.params.name,
    scannedHeight: w.scannedHeight,
    watched: w.watched().map((i) => ({ descriptor: i.descriptor, label: i.label, rescanFrom: i.rescanFrom })),
    txs: w.transactions().map((t) => ({
      raw: bytesToHex(encodeTransaction(t.tx)),
      firstSeen: t.firstSeen,
      ...(t.height !== undefined ? { height: t.height } : {}),
      ...(t.blockHash !== undefined ? { blockHash: t.blockHash } : {}),
      ...(t.blockIndex !== undefined ? { blockIndex: t.blockIndex } : {}),
      ...(t.blockTime !== undefined ? { blockTime: t.blockTime } : {}),
      ...(t.proof !== undefined
        ? { proof: { index: t.proof.index, siblings: t.proof.siblings.map((s) => bytesToHex(s)) } }
        : {}),
    })),
  };
  return `${JSON.stringify(body)}\n`;
}

/** Parses wallet JSON for `params`; `BtcBadState` when it does not check out. */
export function decodeWallet(text: string, params: ChainParams): Wallet {
  const bad = (why: string): never => {
    throw new BtcError(ErrorCode.BtcBadState, `wallet file: ${why}`);
  };
  let j: WalletJson;
  try {
    j = JSON.parse(text) as WalletJson;
  } catch (e) {
    return bad(`not JSON (${(e as Error).message})`);
  }
  if (j === null || typeof j !== 'object' || j.format !== FORMAT) bad('not a Shoal wallet');
  if (j.version !== VERSION) bad(`format version ${j.version} is not supported`);
  if (j.network !== params.name) bad(`written for ${j.network}, not ${params.name}`);
  if (!Array.isArray(j.watched) || !Array.isArray(j.txs)) bad('missing lists');
  const w = new Wallet(params);
  for (const item of j.watched) {
    if (typeof item?.descriptor !== 'string' || !Number.isInteger(item.rescanFrom)) bad('bad watched item');
    w.watch(item.descriptor, { label: String(item.label ?? ''), rescanFrom: item.rescanFrom });
  }
  if (!Number.isInteger(j.scannedHeight)) bad('bad scannedHeight');
  w.scannedHeight = j.scannedHeight;
  for (const t of j.txs) {
    if (typeof t?.raw !== 'string' || !/^([0-9a-f]{2})+$/.test(t.raw)) bad('bad transaction');
    let tx: ReturnType<typeof decodeTransaction>;
    try {
      tx = decodeTransaction(new Uint8Array(Buffer.from(t.raw, 'hex')));
    } catch (e) {
      return bad(`transaction does not parse: ${(e as Error).message}`);
    }
    const rec: WalletTx = {
      txid: hashToHex(txid(tx)),
      tx,
      firstSeen: Number(t.firstSeen) || 0,
      height: Number.isInteger(t.height) ? t.height : undefined,
      blockHash: typeof t.blockHash === 'string' ? t.blockHash : undefined,
      blockIndex: Number.isInteger(t.blockIndex) ? t.blockIndex : undefined,
      blockTime: Number.isInteger(t.blockTime) ? t.blockTime : undefined,
      proof:
        t.proof !== undefined && Array.isArray(t.proof.siblings)
          ? {
              index: t.proof.index,
              siblings: t.proof.siblings.map((s) => new Uint8Array(Buffer.from(s, 'hex'))),
            }
          : undefined,
    };
    w.restore(rec);
  }
  return w;
}

/** Loads the wallet at `path`, or a new empty one when the file does not exist. */
export async function loadWallet(path: string, params: ChainParams): Promise<Wallet> {
  const bytes = await readFileBounded(path, BTC_MAX_WALLET_FILE_BYTES);
  return bytes === undefined ? new Wallet(params) : decodeWallet(bytes.toString('utf8'), params);
}

/** Saves wallets, one write in flight, later saves coalesced into the next write. */
export class WalletSaver {
  readonly path: string;
  readonly #wallet: Wallet;
  #running: Promise<void> | undefined;
  #again = false;
  #error: Error | undefined;

  constructor(path: string, wallet: Wallet) {
    this.path = path;
    this.#wallet = wallet;
  }

  /** The last save failure, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Schedules a save; resolves once the wallet as it is now is on disk. */
  save(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await writeFileAtomic(this.path, encodeWallet(this.#wallet));
          this.#error = undefined;
        } catch (e) {
          this.#error = e as Error;
        }
      } while (this.#again);
      this.#running = undefined;
    })();
    return this.#running;
  }
}
