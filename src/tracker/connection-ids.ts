/**
 * BEP 15 connection ids that a spoofer cannot guess, kept without per-client state ("SYN
 * cookies"): id = first 8 bytes of HMAC-SHA-256(secret, address ‖ port). The secret rotates every
 * `rotateMs` (TRACKER_SECRET_ROTATE_MS); ids made with the current or the previous secret are
 * accepted, so an id lives between one and two rotation periods (BEP 15: a client uses an id for
 * one minute, a tracker accepts it for two).
 *
 * Verified ids are memoised per rotation (bounded map, cleared on rotation) so the hot path of a
 * busy tracker does one map lookup instead of an HMAC for clients it already checked.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { TRACKER_SECRET_ROTATE_MS } from '../shared/limits.js';
import type { TrackerClock } from './swarm-state.js';

/** Most verified ids remembered per rotation period. */
const MEMO_MAX = 65_536;

/** Issues and checks BEP 15 connection ids. */
export class ConnectionIds {
  readonly #clock: TrackerClock;
  readonly #rotateMs: number;
  readonly #random: (n: number) => Uint8Array;
  #epoch = Number.NaN;
  #current: Uint8Array;
  #previous: Uint8Array;
  #memo = new Map<string | number, { hi: number; lo: number }>();

  constructor(
    clock: TrackerClock,
    opts: { rotateMs?: number; randomBytes?: (n: number) => Uint8Array } = {},
  ) {
    this.#clock = clock;
    this.#rotateMs = opts.rotateMs ?? TRACKER_SECRET_ROTATE_MS;
    this.#random = opts.randomBytes ?? ((n) => randomBytes(n));
    this.#current = this.#random(32);
    this.#previous = this.#random(32);
  }

  #rotate(): void {
    const epoch = Math.floor(this.#clock() / this.#rotateMs);
    if (epoch === this.#epoch) return;
    this.#previous = epoch === this.#epoch + 1 ? this.#current : this.#random(32);
    this.#current = this.#random(32);
    this.#epoch = epoch;
    this.#memo = new Map();
  }

  #mac(secret: Uint8Array, address: Uint8Array, port: number): Buffer {
    const h = createHmac('sha256', secret);
    h.update(address);
    h.update(Uint8Array.of(port >>> 8, port & 255));
    return h.digest().subarray(0, 8);
  }

  /** The id for a client at `address` (4 or 16 bytes) and UDP `port`. */
  issue(address: Uint8Array, port: number): Buffer {
    this.#rotate();
    return this.#mac(this.#current, address, port);
  }

  /**
   * Whether the 8 bytes at `offset` of `bytes` are an id issued to this address and port within
   * the last one to two periods. `memoKey` must identify the address and port (it keys the memo
   * of verified ids).
   */
  verify(
    bytes: Uint8Array,
    address: Uint8Array,
    port: number,
    memoKey?: string | number,
    offset = 0,
  ): boolean {
    if (bytes.length < offset + 8) return false;
    this.#rotate();
    const hi =
      ((bytes[offset]! << 24) |
        (bytes[offset + 1]! << 16) |
        (bytes[offset + 2]! << 8) |
        bytes[offset + 3]!) >>>
      0;
    const lo =
      ((bytes[offset + 4]! << 24) |
        (bytes[offset + 5]! << 16) |
        (bytes[offset + 6]! << 8) |
        bytes[offset + 7]!) >>>
      0;
    if (memoKey !== undefined) {
      const known = this.#memo.get(memoKey);
      if (known !== undefined && known.hi === hi && known.lo === lo) return true;
    }
    const id = bytes.subarray(offset, offset + 8);
    const ok =
      timingSafeEqual(this.#mac(this.#current, address, port), id) ||
      timingSafeEqual(this.#mac(this.#previous, address, port), id);
    if (ok && memoKey !== undefined && this.#memo.size < MEMO_MAX) this.#memo.set(memoKey, { hi, lo });
    return ok;
  }
}
