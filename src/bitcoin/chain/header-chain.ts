/**
 * DEV DOCS — the header chain of a light node.
 *
 * What it owns: every block header the node has accepted, which of them form the best chain
 * (the most cumulative work), and the checks a header must pass to be accepted. It is pure: the
 * runtime feeds it the headers of `headers` messages with the time (Unix seconds) and acts on the
 * returned changes (fetch filters for the blocks that joined, forget those that left).
 *
 * Checks, per header, in this order (Bitcoin Core's names in brackets):
 *   1. it connects: to the previous header of the batch, else to a known header [prev-blk-not-found];
 *   2. checkpoints: a checkpoint height carries the checkpoint's hash, and no header forks below the
 *      last checkpoint the best chain passed [checkpoint mismatch, bad-fork-prior-to-checkpoint];
 *   3. its version is at least 2/3/4 past the BIP 34/66/65 heights [bad-version];
 *   4. its bits are the ones the difficulty rules require [bad-diffbits];
 *   5. its bits decode to a valid target under the pow limit, and its proof-of-work hash is at most
 *      that target [high-hash] (SHA-256d on Bitcoin, scrypt on Litecoin);
 *   6. its time is above the median time past [time-too-old] and at most two hours past `now`
 *      [time-too-new]; on testnet4 the first header of a period is at most 600 s older than its
 *      parent [time-timewarp-attack].
 *
 * Memory is bounded:
 * - Full entries (header, work, parent link) are kept for the last `window` heights below the tip,
 *   on every branch; older ones are dropped. The best chain's older heights keep only their hash in
 *   a {@link HeightIndex} (locators, height lookups, filter requests by height).
 * - Side-branch entries are capped ({@link BTC_MAX_SIDE_HEADERS}).
 * - An entry is compact: its 80 bytes and its hash share one 112-byte buffer (one native
 *   allocation, not four copies of fields), and the map key is the hash as a 32-character latin1
 *   string. A sync of 20,000 headers holds the window's 6,048 entries in about a third of what
 *   full decoded headers took.
 * - A header whose checks need an ancestor below the window, or a reorganisation whose fork point
 *   is below it, is refused with `BtcForkTooDeep`.
 *
 * Batches: a batch is processed header by header. The first failing header stops it: the headers
 * before it stay accepted, and the result carries the error (the peer that sent it should be
 * disconnected, except for `BtcUnconnected`, which asks for a `getheaders`, and `BtcTimeTooNew`).
 * The result reports the net change of the best chain over the batch: the entries that left it
 * (from the old tip down) and those that joined it (ascending).
 */

import { ErrorCode } from '../../shared/errors.js';
import { bytesEqual } from '../../shared/hash.js';
import { BTC_HEADER_WINDOW, BTC_MAX_SIDE_HEADERS } from '../../shared/limits.js';
import { hashToHex } from '../codec/hex.js';
import { BtcError } from '../errors.js';
import { type HeaderLink, nextBitsRequired, walkBackBits } from './difficulty.js';
import { HEADER_BYTES, headerHash, powHash } from './header.js';
import { HeightIndex } from './height-index.js';
import { medianTimeIncomplete, medianTimePast } from './median-time.js';
import { BIP94_MAX_TIMEWARP_S, type ChainParams, MAX_FUTURE_BLOCK_TIME_S } from './params.js';
import { hashToBigInt, validTarget, workForBits } from './target.js';

/** An accepted header with its place in the chain. */
export interface HeaderEntry extends HeaderLink {
  /** Block hash, internal byte order (a view that shares its buffer with {@link raw}). */
  readonly hash: Uint8Array;
  /** The 80 serialized bytes. */
  readonly raw: Uint8Array;
  readonly version: number;
  readonly height: number;
  /** Block time, Unix seconds. */
  readonly time: number;
  readonly bits: number;
  /** Cumulative expected hashes from genesis up to and including this header. */
  readonly chainWork: bigint;
  /** The parent entry, or undefined at genesis or once the parent left the window. */
  readonly parent: HeaderEntry | undefined;
}

type Entry = { -readonly [K in keyof HeaderEntry]: HeaderEntry[K] } & { parent: Entry | undefined };

/** Options of a {@link HeaderChain}. */
export interface HeaderChainOptions {
  /**
   * Heights below the tip whose full entries stay in memory; at least the retarget interval
   * plus 12 (the difficulty and median-time rules look that far back).
   * @default BTC_HEADER_WINDOW
   */
  readonly window?: number;
  /** Most side-branch entries kept at once. @default BTC_MAX_SIDE_HEADERS */
  readonly maxSideHeaders?: number;
}

/** Options of one {@link HeaderChain.acceptHeaders} call. */
export interface AcceptOptions {
  /**
   * Check each header's proof-of-work hash against its target. Off only for headers this node
   * validated before (its own header file); the bits are still checked. @default true
   */
  readonly checkPow?: boolean;
}

/** What one batch changed. */
export interface AcceptResult {
  /** Headers stored by this batch (new to the chain, on any branch). */
  readonly added: readonly HeaderEntry[];
  /** Headers of the batch that were already known. */
  readonly known: number;
  /** Entries that left the best chain, from the old tip down. */
  readonly disconnected: readonly HeaderEntry[];
  /** Entries that joined the best chain, ascending by height. */
  readonly connected: readonly HeaderEntry[];
  /** The best chain's tip after the batch. */
  readonly tip: HeaderEntry;
  /** The check that stopped the batch, if one failed; the headers before it stay accepted. */
  readonly error: BtcError | undefined;
}

/** Best-chain tracking, header validation and bounded storage of a light node's headers. */
export class HeaderChain {
  readonly params: ChainParams;
  readonly window: number;
  readonly maxSideHeaders: number;
  readonly #entries = new Map<string, Entry>();
  readonly #index = new HeightIndex();
  readonly #checkpoints = new Map<number, string>();
  #tip: Entry;
  /** Lowest height whose entries are still held. */
  #lowest = 0;

  constructor(params: ChainParams, options: HeaderChainOptions = {}) {
    const window = options.window ?? BTC_HEADER_WINDOW;
    if (!Number.isInteger(window) || window < params.retargetInterval + 12) {
      throw new RangeError(
        `window must be an integer of at least ${params.retargetInterval + 12}, got ${window}`,
      );
    }
    const maxSide = options.maxSideHeaders ?? BTC_MAX_SIDE_HEADERS;
    if (!Number.isInteger(maxSide) || maxSide < 0)
      throw new RangeError(`maxSideHeaders must be >= 0, got ${maxSide}`);
    this.params = params;
    this.window = window;
    this.maxSideHeaders = maxSide;
    for (const c of params.checkpoints) this.#checkpoints.set(c.height, keyOf(c.hash));
    const g = params.genesisHeader;
    const { raw, hash } = ownBytes(g, headerHash(g));
    const bits = u32(g, 72);
    const genesis: Entry = {
      hash,
      raw,
      version: i32(g, 0),
      height: 0,
      time: u32(g, 68),
      bits,
      chainWork: workForBits(bits),
      parent: undefined,
      walkBackBits: bits,
    };
    this.#entries.set(keyOf(genesis.hash), genesis);
    this.#index.push(genesis.hash);
    this.#tip = genesis;
  }

  /**
   * A chain rebuilt from headers this node stored earlier (its header file, genesis excluded,
   * ascending): every rule is checked again except the proof-of-work hash. Throws the first
   * `BtcError` met (a damaged or foreign file).
   */
  static restore(
    params: ChainParams,
    headers: readonly Uint8Array[],
    options: HeaderChainOptions = {},
  ): HeaderChain {
    const chain = new HeaderChain(params, options);
    for (let i = 0; i < headers.length; i += 2000) {
      const r = chain.acceptHeaders(headers.slice(i, i + 2000), Number.POSITIVE_INFINITY, {
        checkPow: false,
      });
      if (r.error !== undefined) throw r.error;
    }
    return chain;
  }

  /** The best chain's tip. */
  get tip(): HeaderEntry {
    return this.#tip;
  }

  /** The best chain's height (genesis is 0). */
  get height(): number {
    return this.#tip.height;
  }

  /** Full entries held in memory, on every branch. */
  get entryCount(): number {
    return this.#entries.size;
  }

  /** Entries held that are not on the best chain. */
  get sideCount(): number {
    return this.#entries.size - (this.#tip.height - this.#lowest + 1);
  }

  /** The best-chain hash at `height` (internal order), or undefined above the tip. */
  hashAt(height: number): Uint8Array | undefined {
    const h = this.#index.hashAt(height);
    return h === undefined ? undefined : h.slice();
  }

  /** The height of `hash` if it is on the best chain. */
  heightOf(hash: Uint8Array): number | undefined {
    return this.#index.heightOf(hash);
  }

  /** The full entry of `hash` on any branch, while it is within the window. */
  entry(hash: Uint8Array): HeaderEntry | undefined {
    return this.#entries.get(keyOf(hash));
  }

  /** The best-chain entry at `height`, while it is within the window. */
  entryAt(height: number): HeaderEntry | undefined {
    const h = this.#index.hashAt(height);
    return h === undefined ? undefined : this.#entries.get(keyOf(h));
  }

  /**
   * A block locator for `getheaders`: the last 10 best-chain hashes, then exponentially sparser
   * ones, ending at genesis (at most 33 hashes for any chain below 2^24 blocks).
   */
  locator(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let step = 1;
    for (let h = this.#tip.height; h > 0; h -= step) {
      out.push(this.#index.hashAt(h)!.slice());
      if (out.length >= 10) step *= 2;
    }
    out.push(this.#index.hashAt(0)!.slice());
    return out;
  }

  /**
   * Validates and stores `headers` (80-byte serialized headers, each the child of the one before,
   * the first the child of a known header). `nowS` is the local clock, Unix seconds.
   */
  acceptHeaders(headers: readonly Uint8Array[], nowS: number, options: AcceptOptions = {}): AcceptResult {
    const checkPow = options.checkPow ?? true;
    const oldTip = this.#tip;
    const added: Entry[] = [];
    let known = 0;
    let error: BtcError | undefined;
    let prevHash: Uint8Array | undefined;
    for (let i = 0; i < headers.length; i++) {
      const raw = headers[i]!;
      try {
        if (raw.length !== HEADER_BYTES) {
          throw new BtcError(
            ErrorCode.BtcBadMessage,
            `header ${i} is ${raw.length} bytes, not ${HEADER_BYTES}`,
            {
              index: i,
            },
          );
        }
        if (prevHash !== undefined && !bytesEqual(raw.subarray(4, 36), prevHash)) {
          throw new BtcError(
            ErrorCode.BtcBadMessage,
            `header ${i} does not follow header ${i - 1} of its batch`,
            {
              index: i,
            },
          );
        }
        const hash = headerHash(raw);
        prevHash = hash;
        const k = keyOf(hash);
        if (this.#entries.has(k) || this.#index.heightOf(hash) !== undefined) {
          known++;
          continue;
        }
        const entry = this.#validate(raw, hash, i, nowS, checkPow);
        this.#entries.set(k, entry);
        // (#setTip drops the entry again when its fork point is below the window.)
        if (entry.chainWork > this.#tip.chainWork) this.#setTip(entry, i);
        added.push(entry);
      } catch (e) {
        if (!(e instanceof BtcError)) throw e;
        error = e;
        break;
      }
    }
    const { disconnected, connected } = changes(oldTip, this.#tip);
    this.#prune();
    return { added, known, disconnected, connected, tip: this.#tip, error };
  }

  #validate(raw: Uint8Array, hash: Uint8Array, i: number, nowS: number, checkPow: boolean): Entry {
    const p = this.params;
    const header = { version: i32(raw, 0), time: u32(raw, 68), bits: u32(raw, 72) };
    const prevHash = raw.subarray(4, 36);
    const parent = this.#entries.get(keyOf(prevHash));
    const height = (parent?.height ?? -1) + 1;
    const fail = (code: ErrorCode, why: string): never => {
      throw new BtcError(code, `header ${hashToHex(hash)} at height ${height}: ${why}`, {
        index: i,
        height,
        hash: hashToHex(hash),
      });
    };
    if (parent === undefined) {
      if (this.#index.heightOf(prevHash) !== undefined) {
        fail(ErrorCode.BtcForkTooDeep, `its parent is more than ${this.window} blocks below the tip`);
      }
      fail(ErrorCode.BtcUnconnected, `its parent ${hashToHex(prevHash)} is unknown`);
    }
    const parentEntry = parent!;
    const checkpoint = this.#checkpoints.get(height);
    if (checkpoint !== undefined && checkpoint !== keyOf(hash))
      fail(ErrorCode.BtcCheckpoint, 'checkpoint mismatch');
    if (height <= this.#lastCheckpointPassed()) {
      fail(ErrorCode.BtcCheckpoint, 'it forks below the last checkpoint');
    }
    const [v2, v3, v4] = p.minVersionHeights;
    const minVersion = height >= v4 ? 4 : height >= v3 ? 3 : height >= v2 ? 2 : 1;
    if (header.version < minVersion)
      fail(ErrorCode.BtcBadVersion, `version ${header.version} is below ${minVersion}`);
    const required = nextBitsRequired(p, parentEntry, header.time);
    if (required === undefined)
      fail(ErrorCode.BtcForkTooDeep, 'its difficulty depends on headers below the window');
    if (header.bits !== required) {
      fail(ErrorCode.BtcBadBits, `bits ${hex32(header.bits)}, the rules require ${hex32(required!)}`);
    }
    const target = validTarget(header.bits, p.powLimit);
    if (target === undefined) fail(ErrorCode.BtcBadPow, `bits ${hex32(header.bits)} are not a valid target`);
    if (checkPow) {
      const pow = p.pow === 'sha256d' ? hash : powHash(raw, p.pow);
      if (hashToBigInt(pow) > target!) fail(ErrorCode.BtcBadPow, 'proof-of-work hash above the target');
    }
    if (medianTimeIncomplete(parentEntry))
      fail(ErrorCode.BtcForkTooDeep, 'its median time needs headers below the window');
    if (header.time <= medianTimePast(parentEntry))
      fail(ErrorCode.BtcBadTime, 'time not above the median time past');
    if (header.time > nowS + MAX_FUTURE_BLOCK_TIME_S)
      fail(ErrorCode.BtcTimeTooNew, 'time more than 2 hours ahead');
    if (
      p.enforceBip94 &&
      height % p.retargetInterval === 0 &&
      header.time < parentEntry.time - BIP94_MAX_TIMEWARP_S
    ) {
      fail(ErrorCode.BtcBadTime, 'time-warp: first block of a period 600 s before its parent');
    }
    if (parentEntry !== this.#tip && this.sideCount >= this.maxSideHeaders) {
      fail(ErrorCode.BtcLimit, `${this.maxSideHeaders} side-branch headers already held`);
    }
    const own = ownBytes(raw, hash);
    return {
      hash: own.hash,
      raw: own.raw,
      version: header.version,
      height,
      time: header.time,
      bits: header.bits,
      chainWork: parentEntry.chainWork + workForBits(header.bits),
      parent: parentEntry,
      walkBackBits: p.allowMinDifficultyBlocks
        ? walkBackBits(p, height, header.bits, parentEntry)
        : undefined,
    };
  }

  /** Makes `entry` the tip, moving the best-chain index to its branch. */
  #setTip(entry: Entry, i: number): void {
    const path: Entry[] = [];
    let e: Entry | undefined = entry;
    while (e !== undefined && !this.#onBestChain(e)) {
      path.push(e);
      e = e.parent;
    }
    if (e === undefined) {
      this.#entries.delete(keyOf(entry.hash));
      throw new BtcError(
        ErrorCode.BtcForkTooDeep,
        `reorganisation to ${hashToHex(entry.hash)} forks below the window`,
        {
          index: i,
          height: entry.height,
          hash: hashToHex(entry.hash),
        },
      );
    }
    this.#index.truncate(e.height + 1);
    for (let j = path.length - 1; j >= 0; j--) this.#index.push(path[j]!.hash);
    this.#tip = entry;
  }

  #onBestChain(e: Entry): boolean {
    return this.#index.isAt(e.height, e.hash);
  }

  #lastCheckpointPassed(): number {
    const cps = this.params.checkpoints;
    for (let i = cps.length - 1; i >= 0; i--) if (cps[i]!.height <= this.#tip.height) return cps[i]!.height;
    return -1;
  }

  /** Drops entries below the window, and side branches cut off from the best chain. */
  #prune(): void {
    const bottom = Math.max(0, this.#tip.height - this.window + 1);
    if (this.sideCount === 0) {
      // The usual case (a sync): only best-chain entries, dropped from the bottom up.
      if (bottom <= this.#lowest) return;
      for (let h = this.#lowest; h < bottom; h++) this.#entries.delete(keyOf(this.#index.hashAt(h)!));
      const first = this.#entries.get(keyOf(this.#index.hashAt(bottom)!));
      if (first !== undefined) first.parent = undefined;
      this.#lowest = bottom;
      return;
    }
    const byHeight = [...this.#entries.values()].sort((a, b) => a.height - b.height);
    const alive = new Set<Entry>();
    for (const e of byHeight) {
      const k = keyOf(e.hash);
      if (e.height < bottom) {
        this.#entries.delete(k);
        continue;
      }
      if (this.#onBestChain(e) || (e.parent !== undefined && alive.has(e.parent))) {
        alive.add(e);
        if (e.parent !== undefined && e.parent.height < bottom) e.parent = undefined;
      } else {
        this.#entries.delete(k);
      }
    }
    this.#lowest = bottom;
  }
}

/** The net change of the best chain from `oldTip` to `newTip` (both still linked to their fork point). */
function changes(oldTip: Entry, newTip: Entry): { disconnected: Entry[]; connected: Entry[] } {
  const disconnected: Entry[] = [];
  const connected: Entry[] = [];
  let a: Entry | undefined = oldTip;
  let b: Entry | undefined = newTip;
  while (a !== undefined && b !== undefined && a !== b) {
    if (a.height >= b.height) {
      disconnected.push(a);
      a = a.parent;
    } else {
      connected.push(b);
      b = b.parent;
    }
  }
  connected.reverse();
  return { disconnected, connected };
}

/** The map key of a hash: 32 latin1 characters (a third of the hex string's size). */
function keyOf(hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('latin1');
}

/** Copies of a header's 80 bytes and its hash in one 112-byte buffer. */
function ownBytes(raw: Uint8Array, hash: Uint8Array): { raw: Uint8Array; hash: Uint8Array } {
  const b = new Uint8Array(HEADER_BYTES + 32);
  b.set(raw, 0);
  b.set(hash, HEADER_BYTES);
  return { raw: b.subarray(0, HEADER_BYTES), hash: b.subarray(HEADER_BYTES) };
}

function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function i32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
