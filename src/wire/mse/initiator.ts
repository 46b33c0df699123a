/**
 * The dialling side (A) of an MSE/PE handshake, as a pure state machine (see handshake.ts for
 * the byte layout). The connection layer calls {@link MseInitiator.start} once, writes what it
 * returns, then feeds every received chunk to {@link MseInitiator.push} and writes whatever
 * `send` says, until `result` is set.
 *
 * States, in order (any of them may end in `failed`):
 * - `start`: nothing sent yet.
 * - `yb`: Ya + PadA sent; reading B's 96-byte public key. On it, step 3 goes out at once (with IA)
 *   without waiting for PadB.
 * - `vc`: searching the bytes after Yb for ENCRYPT(VC) — the first 8 bytes of B's keystream —
 *   which must end within {@link MSE_MAX_VC_SYNC_BYTES} of the connection's start.
 * - `select`: reading crypto_select and len(PadD).
 * - `padD`: skipping PadD (decrypting it, to advance B's keystream).
 * - `done`: `result` delivered.
 *
 * A short read never fails: the machine waits for more. It holds at most 520 bytes between reads.
 */
import { ErrorCode } from '../../shared/errors.js';
import { MSE_MAX_IA_BYTES, MSE_MAX_PAD_BYTES, MSE_MAX_VC_SYNC_BYTES } from '../../shared/limits.js';
import { readU16, readU32, writeU16, writeU32 } from '../bytes.js';
import { ByteQueue } from './byte-queue.js';
import { isValidMsePublicKey, MSE_KEY_BYTES, msePrivateKey, msePublicKey, mseSharedSecret } from './dh.js';
import { MseError } from './errors.js';
import {
  MSE_CRYPTO_PLAINTEXT,
  MSE_CRYPTO_RC4,
  MSE_HASH_BYTES,
  MSE_VC_BYTES,
  type MseInitiatorResult,
  type MseMethodSet,
  type MseStep,
  mseCiphers,
  mseMethodBits,
  mseReq1Hash,
  mseReq2Hash,
  mseReq3Hash,
  type RandomBytes,
} from './handshake.js';
import type { Rc4 } from './rc4.js';
import { checkRange, indexOfBytes, randomPadding, xorBytes } from './util.js';

/** The initiator's states, in handshake order. */
export type MseInitiatorState = 'start' | 'yb' | 'vc' | 'select' | 'padD' | 'done' | 'failed';

/** What an initiator needs. */
export interface MseInitiatorOptions {
  /** The SKEY: the info-hash of the torrent we dial for (20 bytes). */
  readonly skey: Uint8Array;
  /** Methods offered in crypto_provide; at least one. */
  readonly provide: MseMethodSet;
  /**
   * The initial payload sent inside step 3, RC4-encrypted (usually our BitTorrent handshake), at
   * most {@link MSE_MAX_IA_BYTES}. @default empty
   */
  readonly ia?: Uint8Array;
  /** Source of the private key and the padding (must be cryptographically secure in production). */
  readonly random: RandomBytes;
  /** Longest PadA drawn, in bytes (0-512); its length is uniform in [0, this]. @default 512 */
  readonly maxPadBytes?: number;
}

/** Bytes after Yb in which ENCRYPT(VC) must be found. */
const VC_WINDOW = MSE_MAX_VC_SYNC_BYTES - MSE_KEY_BYTES;

/** The dialling side of one MSE handshake. */
export class MseInitiator {
  #state: MseInitiatorState = 'start';
  readonly #skey: Uint8Array;
  readonly #provideBits: number;
  readonly #ia: Uint8Array;
  readonly #random: RandomBytes;
  readonly #maxPad: number;
  readonly #privateKey: Uint8Array;
  readonly #queue = new ByteQueue(VC_WINDOW);
  #error: MseError | undefined;
  /** The encrypted VC we search for (B's first 8 keystream bytes). */
  #vcPattern: Uint8Array | undefined;
  /** Start positions of the VC window already ruled out. */
  #vcChecked = 0;
  #encrypt: Rc4 | undefined;
  #decrypt: Rc4 | undefined;
  #selected: number = 0;
  #padLeft = 0;

  constructor(options: MseInitiatorOptions) {
    this.#provideBits = mseMethodBits(options.provide);
    if (this.#provideBits === 0) throw new RangeError('MSE initiator must provide at least one method');
    this.#skey = Uint8Array.from(options.skey);
    this.#ia = Uint8Array.from(options.ia ?? new Uint8Array(0));
    checkRange(this.#ia.length, MSE_MAX_IA_BYTES, 'MSE IA length');
    this.#maxPad = options.maxPadBytes ?? MSE_MAX_PAD_BYTES;
    checkRange(this.#maxPad, MSE_MAX_PAD_BYTES, 'MSE maxPadBytes');
    this.#random = options.random;
    this.#privateKey = msePrivateKey(options.random);
  }

  /** The current state. */
  get state(): MseInitiatorState {
    return this.#state;
  }

  /** Step 1: Ya + PadA, to write first. Call once. */
  start(): Uint8Array {
    if (this.#state !== 'start') throw new Error('MseInitiator.start called twice');
    const ya = msePublicKey(this.#privateKey);
    const pad = randomPadding(this.#random, this.#maxPad);
    const out = new Uint8Array(ya.length + pad.length);
    out.set(ya, 0);
    out.set(pad, ya.length);
    this.#state = 'yb';
    return out;
  }

  /**
   * Feeds received bytes (borrowed: read during the call, never kept or modified).
   * @throws MseError when the responder's bytes break the handshake; every later call throws it again.
   */
  push(chunk: Uint8Array): MseStep<MseInitiatorResult> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#state === 'start') throw new Error('MseInitiator.push before start');
    if (this.#state === 'done') throw new Error('MseInitiator.push after the handshake is done');
    const q = this.#queue;
    q.feed(chunk);
    let send: Uint8Array | undefined;
    let result: MseInitiatorResult | undefined;
    try {
      loop: for (;;) {
        // Read through the getter: the guards above narrowed `this.#state`, but steps move it on.
        const state: MseInitiatorState = this.state;
        switch (state) {
          case 'yb': {
            const yb = q.take(MSE_KEY_BYTES);
            if (yb === undefined) break loop;
            send = this.#onYb(yb);
            break;
          }
          case 'vc': {
            const pattern = this.#vcPattern!;
            const window = q.peek(VC_WINDOW);
            const at = indexOfBytes(window, pattern, this.#vcChecked);
            if (at < 0) {
              if (window.length >= VC_WINDOW) {
                throw this.#fail(ErrorCode.WireMseNoSync, 'MSE: no ENCRYPT(VC) within the sync window');
              }
              this.#vcChecked = Math.max(0, window.length - pattern.length + 1);
              break loop;
            }
            q.consume(at + MSE_VC_BYTES);
            this.#state = 'select';
            break;
          }
          case 'select': {
            const field = q.take(6);
            if (field === undefined) break loop;
            const plain = new Uint8Array(6);
            this.#decrypt!.processTo(field, plain);
            this.#onSelect(readU32(plain, 0), readU16(plain, 4));
            break;
          }
          case 'padD': {
            const skipped = q.takeSome(this.#padLeft).length;
            this.#decrypt!.skip(skipped);
            this.#padLeft -= skipped;
            if (this.#padLeft > 0) break loop;
            result = this.#finish(q.rest());
            break loop;
          }
          case 'start':
          case 'done':
          case 'failed':
            break loop;
          default:
            return assertNever(state);
        }
      }
    } catch (e) {
      q.feed(new Uint8Array(0));
      if (e instanceof MseError) {
        this.#error = e;
        this.#state = 'failed';
      }
      throw e;
    }
    q.stash();
    return { send, result };
  }

  #fail(code: MseError['code'], message: string): MseError {
    return new MseError(code, message, {
      role: 'initiator',
      state: this.#state,
      offset: this.#queue.offset,
    });
  }

  /** Yb arrived: derive the keys and build step 3. */
  #onYb(yb: Uint8Array): Uint8Array {
    if (!isValidMsePublicKey(yb)) {
      throw this.#fail(ErrorCode.WireMseBadPublicKey, 'MSE: responder public key outside [2, P-2]');
    }
    const secret = mseSharedSecret(this.#privateKey, yb);
    const { encrypt, decrypt } = mseCiphers(secret, this.#skey, 'initiator');
    // VC is zeros, so ENCRYPT(VC) is the keystream itself; making it advances `decrypt` past VC.
    const pattern = new Uint8Array(MSE_VC_BYTES);
    decrypt.process(pattern);
    this.#vcPattern = pattern;
    this.#encrypt = encrypt;
    this.#decrypt = decrypt;
    // HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S), then the encrypted part:
    // VC (8), crypto_provide (4), len(PadC) (2), PadC (empty: reserved by the spec), len(IA) (2), IA.
    const ia = this.#ia;
    const plainLen = MSE_VC_BYTES + 4 + 2 + 2 + ia.length;
    const out = new Uint8Array(2 * MSE_HASH_BYTES + plainLen);
    out.set(mseReq1Hash(secret), 0);
    out.set(xorBytes(mseReq2Hash(this.#skey), mseReq3Hash(secret)), MSE_HASH_BYTES);
    const at = 2 * MSE_HASH_BYTES;
    writeU32(out, at + MSE_VC_BYTES, this.#provideBits);
    writeU16(out, at + MSE_VC_BYTES + 4, 0);
    writeU16(out, at + MSE_VC_BYTES + 6, ia.length);
    out.set(ia, at + MSE_VC_BYTES + 8);
    encrypt.process(out, at, out.length);
    this.#state = 'vc';
    return out;
  }

  #onSelect(select: number, padLen: number): void {
    if (
      (select !== MSE_CRYPTO_PLAINTEXT && select !== MSE_CRYPTO_RC4) ||
      (select & this.#provideBits) === 0
    ) {
      throw this.#fail(
        ErrorCode.WireMseNoCommonMethod,
        `MSE: responder selected 0x${select.toString(16)}, not one method we provided`,
      );
    }
    if (padLen > MSE_MAX_PAD_BYTES) {
      throw this.#fail(ErrorCode.WireMsePadTooLarge, `MSE: PadD of ${padLen} bytes`);
    }
    this.#selected = select;
    this.#padLeft = padLen;
    this.#state = 'padD';
  }

  #finish(rest: Uint8Array): MseInitiatorResult {
    this.#state = 'done';
    if (this.#selected === MSE_CRYPTO_PLAINTEXT) return { method: 'plaintext', rest };
    const decrypt = this.#decrypt!;
    decrypt.process(rest);
    return { method: 'rc4', encrypt: this.#encrypt!, decrypt, rest };
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected state ${String(x)}`);
}
