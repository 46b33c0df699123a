/**
 * The accepting side (B) of an MSE/PE handshake, as a pure state machine (see handshake.ts for
 * the byte layout). The connection layer feeds every received chunk to
 * {@link MseResponder.push} and writes whatever `send` says, until `result` is set; then it
 * hands `result.ia` and `result.rest` to the protocol above, decrypting and encrypting the rest
 * of the stream with `result`'s ciphers.
 *
 * States, in order (any of them may end in `failed`):
 * - `ya`: reading A's 96-byte public key; on it, Yb + PadB go out.
 * - `req1`: searching for HASH('req1', S), which must end within {@link MSE_MAX_REQ1_SYNC_BYTES}
 *   of the connection's start.
 * - `skey`: reading HASH('req2', SKEY) xor HASH('req3', S) and resolving SKEY with `findSkey`.
 * - `provide`: reading ENCRYPT(VC, crypto_provide, len(PadC)); checking VC; choosing the
 *   method. Step 4 (ENCRYPT(VC, crypto_select, len(PadD) = 0)) goes out here.
 * - `padC`: skipping PadC.
 * - `iaLength`: reading len(IA), at most {@link MSE_MAX_IA_BYTES}.
 * - `ia`: collecting IA.
 * - `done`: `result` delivered.
 *
 * A short read never fails: the machine waits for more. It holds at most 532 bytes plus IA
 * between reads.
 */
import { ErrorCode } from '../../shared/errors.js';
import { bytesEqual } from '../../shared/hash.js';
import { MSE_MAX_IA_BYTES, MSE_MAX_PAD_BYTES, MSE_MAX_REQ1_SYNC_BYTES } from '../../shared/limits.js';
import { readU16, readU32, writeU32 } from '../bytes.js';
import { ByteQueue } from './byte-queue.js';
import { isValidMsePublicKey, MSE_KEY_BYTES, msePrivateKey, msePublicKey, mseSharedSecret } from './dh.js';
import { MseError } from './errors.js';
import {
  MSE_CRYPTO_PLAINTEXT,
  MSE_CRYPTO_RC4,
  MSE_HASH_BYTES,
  MSE_VC_BYTES,
  type MseMethod,
  type MseMethodSet,
  type MseResponderResult,
  type MseStep,
  mseCiphers,
  mseReq1Hash,
  mseReq3Hash,
  mseSelectMethod,
  type RandomBytes,
} from './handshake.js';
import type { Rc4 } from './rc4.js';
import { checkRange, indexOfBytes, randomPadding, xorBytes } from './util.js';

/** The responder's states, in handshake order. */
export type MseResponderState =
  | 'ya'
  | 'req1'
  | 'skey'
  | 'provide'
  | 'padC'
  | 'iaLength'
  | 'ia'
  | 'done'
  | 'failed';

/** What a responder needs. */
export interface MseResponderOptions {
  /**
   * Resolves HASH('req2', SKEY) (20 bytes, see `mseReq2Hash`) to the SKEY (info-hash) of a torrent
   * we serve, or undefined. Called once per handshake.
   */
  readonly findSkey: (req2Hash: Uint8Array) => Uint8Array | undefined;
  /** Methods we accept; at least one. */
  readonly allow: MseMethodSet;
  /** Chosen when the initiator provides both and both are allowed. */
  readonly prefer: MseMethod;
  /** Source of the private key and the padding (must be cryptographically secure in production). */
  readonly random: RandomBytes;
  /** Longest PadB drawn, in bytes (0-512); its length is uniform in [0, this]. @default 512 */
  readonly maxPadBytes?: number;
}

/** Bytes after Ya in which HASH('req1', S) must be found. */
const REQ1_WINDOW = MSE_MAX_REQ1_SYNC_BYTES - MSE_KEY_BYTES;
/** ENCRYPT(VC, crypto_provide, len(PadC)). */
const PROVIDE_BYTES = MSE_VC_BYTES + 4 + 2;

/** The accepting side of one MSE handshake. */
export class MseResponder {
  #state: MseResponderState = 'ya';
  readonly #options: MseResponderOptions;
  readonly #maxPad: number;
  readonly #privateKey: Uint8Array;
  readonly #queue = new ByteQueue(REQ1_WINDOW);
  #error: MseError | undefined;
  #secret: Uint8Array | undefined;
  #req1: Uint8Array | undefined;
  /** Start positions of the req1 window already ruled out. */
  #req1Checked = 0;
  #skey: Uint8Array | undefined;
  #encrypt: Rc4 | undefined;
  #decrypt: Rc4 | undefined;
  #method: MseMethod = 'rc4';
  #padLeft = 0;
  #ia: Uint8Array = new Uint8Array(0);
  #iaFilled = 0;

  constructor(options: MseResponderOptions) {
    if (!options.allow.plaintext && !options.allow.rc4) {
      throw new RangeError('MSE responder must allow at least one method');
    }
    this.#options = options;
    this.#maxPad = options.maxPadBytes ?? MSE_MAX_PAD_BYTES;
    checkRange(this.#maxPad, MSE_MAX_PAD_BYTES, 'MSE maxPadBytes');
    this.#privateKey = msePrivateKey(options.random);
  }

  /** The current state. */
  get state(): MseResponderState {
    return this.#state;
  }

  /**
   * Feeds received bytes (borrowed: read during the call, never kept or modified).
   * @throws MseError when the initiator's bytes break the handshake; every later call throws it again.
   */
  push(chunk: Uint8Array): MseStep<MseResponderResult> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#state === 'done') throw new Error('MseResponder.push after the handshake is done');
    const q = this.#queue;
    q.feed(chunk);
    const sends: Uint8Array[] = [];
    let result: MseResponderResult | undefined;
    try {
      loop: for (;;) {
        // Read through the getter: the guards above narrowed `this.#state`, but steps move it on.
        const state: MseResponderState = this.state;
        switch (state) {
          case 'ya': {
            const ya = q.take(MSE_KEY_BYTES);
            if (ya === undefined) break loop;
            sends.push(this.#onYa(ya));
            break;
          }
          case 'req1': {
            const req1 = this.#req1!;
            const window = q.peek(REQ1_WINDOW);
            const at = indexOfBytes(window, req1, this.#req1Checked);
            if (at < 0) {
              if (window.length >= REQ1_WINDOW) {
                throw this.#fail(ErrorCode.WireMseNoSync, "MSE: no HASH('req1', S) within the sync window");
              }
              this.#req1Checked = Math.max(0, window.length - req1.length + 1);
              break loop;
            }
            q.consume(at + MSE_HASH_BYTES);
            this.#state = 'skey';
            break;
          }
          case 'skey': {
            const masked = q.take(MSE_HASH_BYTES);
            if (masked === undefined) break loop;
            this.#onSkey(masked);
            break;
          }
          case 'provide': {
            const field = q.take(PROVIDE_BYTES);
            if (field === undefined) break loop;
            const plain = new Uint8Array(PROVIDE_BYTES);
            this.#decrypt!.processTo(field, plain);
            sends.push(this.#onProvide(plain));
            break;
          }
          case 'padC': {
            const skipped = q.takeSome(this.#padLeft).length;
            this.#decrypt!.skip(skipped);
            this.#padLeft -= skipped;
            if (this.#padLeft > 0) break loop;
            this.#state = 'iaLength';
            break;
          }
          case 'iaLength': {
            const field = q.take(2);
            if (field === undefined) break loop;
            const plain = new Uint8Array(2);
            this.#decrypt!.processTo(field, plain);
            const len = readU16(plain, 0);
            if (len > MSE_MAX_IA_BYTES) {
              throw this.#fail(ErrorCode.WireMseIaTooLarge, `MSE: IA of ${len} bytes`);
            }
            this.#ia = new Uint8Array(len);
            this.#state = 'ia';
            break;
          }
          case 'ia': {
            const ia = this.#ia;
            while (this.#iaFilled < ia.length && q.available > 0) {
              const part = q.takeSome(ia.length - this.#iaFilled);
              this.#decrypt!.processTo(part, ia, 0, part.length, this.#iaFilled);
              this.#iaFilled += part.length;
            }
            if (this.#iaFilled < ia.length) break loop;
            result = this.#finish(q.rest());
            break loop;
          }
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
    return { send: concat(sends), result };
  }

  #fail(code: MseError['code'], message: string): MseError {
    return new MseError(code, message, {
      role: 'responder',
      state: this.#state,
      offset: this.#queue.offset,
    });
  }

  /** Ya arrived: derive S, answer with Yb + PadB. */
  #onYa(ya: Uint8Array): Uint8Array {
    if (!isValidMsePublicKey(ya)) {
      throw this.#fail(ErrorCode.WireMseBadPublicKey, 'MSE: initiator public key outside [2, P-2]');
    }
    this.#secret = mseSharedSecret(this.#privateKey, ya);
    this.#req1 = mseReq1Hash(this.#secret);
    this.#state = 'req1';
    const yb = msePublicKey(this.#privateKey);
    const pad = randomPadding(this.#options.random, this.#maxPad);
    const out = new Uint8Array(yb.length + pad.length);
    out.set(yb, 0);
    out.set(pad, yb.length);
    return out;
  }

  #onSkey(masked: Uint8Array): void {
    const secret = this.#secret!;
    const req2 = xorBytes(masked, mseReq3Hash(secret));
    const found = this.#options.findSkey(req2);
    if (found === undefined) throw this.#fail(ErrorCode.WireMseUnknownSkey, 'MSE: unknown SKEY');
    this.#skey = Uint8Array.from(found);
    const { encrypt, decrypt } = mseCiphers(secret, this.#skey, 'responder');
    this.#encrypt = encrypt;
    this.#decrypt = decrypt;
    this.#state = 'provide';
  }

  /** VC, crypto_provide and len(PadC) decrypted: check, choose, and build step 4. */
  #onProvide(plain: Uint8Array): Uint8Array {
    if (!bytesEqual(plain.subarray(0, MSE_VC_BYTES), new Uint8Array(MSE_VC_BYTES))) {
      throw this.#fail(ErrorCode.WireMseBadVc, 'MSE: VC is not zero');
    }
    const provided = readU32(plain, MSE_VC_BYTES);
    const method = mseSelectMethod(provided, this.#options.allow, this.#options.prefer);
    if (method === undefined) {
      throw this.#fail(
        ErrorCode.WireMseNoCommonMethod,
        `MSE: crypto_provide 0x${provided.toString(16)} has no method we allow`,
      );
    }
    const padLen = readU16(plain, MSE_VC_BYTES + 4);
    if (padLen > MSE_MAX_PAD_BYTES) {
      throw this.#fail(ErrorCode.WireMsePadTooLarge, `MSE: PadC of ${padLen} bytes`);
    }
    this.#method = method;
    this.#padLeft = padLen;
    this.#state = 'padC';
    // Step 4: VC (8), crypto_select (4), len(PadD) (2) = 0 (PadD is reserved by the spec).
    const out = new Uint8Array(MSE_VC_BYTES + 4 + 2);
    writeU32(out, MSE_VC_BYTES, method === 'rc4' ? MSE_CRYPTO_RC4 : MSE_CRYPTO_PLAINTEXT);
    this.#encrypt!.process(out);
    return out;
  }

  #finish(rest: Uint8Array): MseResponderResult {
    this.#state = 'done';
    const skey = this.#skey!;
    const ia = this.#ia;
    if (this.#method === 'plaintext') return { method: 'plaintext', skey, ia, rest };
    const decrypt = this.#decrypt!;
    decrypt.process(rest);
    return { method: 'rc4', encrypt: this.#encrypt!, decrypt, skey, ia, rest };
  }
}

function concat(parts: Uint8Array[]): Uint8Array | undefined {
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function assertNever(x: never): never {
  throw new Error(`unexpected state ${String(x)}`);
}
