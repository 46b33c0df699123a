/**
 * MSE/PE ("Message Stream Encryption" / "Protocol Encryption", the Vuze/Azureus spec that
 * libtorrent, Transmission, aria2, µTorrent and WebTorrent implement): what the initiator
 * ({@link MseInitiator}, initiator.ts) and the responder ({@link MseResponder}, responder.ts)
 * share — the hashes, the keys, the method bits and the result types.
 *
 * The handshake, A dialling B (HASH = SHA-1; every integer big-endian):
 *
 *   1 A→B  Ya (96) PadA (0-512 random)
 *   2 B→A  Yb (96) PadB (0-512 random)
 *   3 A→B  HASH('req1', S) (20)  HASH('req2', SKEY) xor HASH('req3', S) (20)
 *          ENCRYPT(VC (8 zero bytes), crypto_provide (4), len(PadC) (2), PadC, len(IA) (2))
 *          ENCRYPT(IA)
 *   4 B→A  ENCRYPT(VC, crypto_select (4), len(PadD) (2), PadD)  ENCRYPT2(payload)
 *   5 A→B  ENCRYPT2(payload)
 *
 * - Y = 2^X mod P and S = Y_remote^X mod P (dh.ts). SKEY is the torrent's info-hash, which the
 *   responder finds from HASH('req2', SKEY) without it ever crossing the wire.
 * - ENCRYPT is RC4 keyed with HASH('keyA', S, SKEY) for A→B and HASH('keyB', S, SKEY) for B→A,
 *   the first 1024 keystream bytes discarded; each direction's keystream runs on unbroken from
 *   the handshake into the payload.
 * - ENCRYPT2 is the method B selected from A's crypto_provide: 0x01 plaintext (only the
 *   handshake is obfuscated; IA is RC4 all the same) or 0x02 RC4 (the whole stream).
 * - B finds where step 3 starts by searching for HASH('req1', S) (PadA has no length field), and
 *   A finds step 4 by searching for ENCRYPT(VC), within the bounds in src/shared/limits.ts.
 *
 * Timeouts (the spec suggests 30 s for each side's first 96 bytes) belong to the connection
 * layer: these state machines are pure and only see bytes.
 */
import { sha1 } from '../../shared/hash.js';
import { MSE_RC4_DISCARD_BYTES, Rc4 } from './rc4.js';

/** A payload encryption method MSE can negotiate. */
export type MseMethod = 'plaintext' | 'rc4';

/** The crypto_provide / crypto_select bit of plaintext. */
export const MSE_CRYPTO_PLAINTEXT = 0x01;
/** The crypto_provide / crypto_select bit of RC4. */
export const MSE_CRYPTO_RC4 = 0x02;
/** Length of the verification constant VC (all zero bytes). */
export const MSE_VC_BYTES = 8;
/** Length of an MSE hash (SHA-1). */
export const MSE_HASH_BYTES = 20;

/** Which methods one side offers (initiator) or accepts (responder). */
export interface MseMethodSet {
  readonly plaintext: boolean;
  readonly rc4: boolean;
}

/**
 * `n` random bytes. The handshake draws its private key and padding from it, so production code
 * must pass a cryptographically secure source (node:crypto `randomBytes`); tests pass a seeded one.
 */
export type RandomBytes = (n: number) => Uint8Array;

/** What one {@link MseInitiator.push} / {@link MseResponder.push} produced. */
export interface MseStep<R> {
  /** Bytes to write to the connection now (a fresh buffer, ours to give away), if any. */
  readonly send: Uint8Array | undefined;
  /** Set once, when the handshake is complete. */
  readonly result: R | undefined;
}

/**
 * The negotiated payload protection. With RC4, `encrypt` is for every byte we write from now on
 * and `decrypt` for every byte we read after the handshake's own bytes (both are positioned in
 * their keystreams already; neither is used for anything else).
 */
export type MseCipher =
  | { readonly method: 'plaintext' }
  | { readonly method: 'rc4'; readonly encrypt: Rc4; readonly decrypt: Rc4 };

/** The initiator's outcome. */
export type MseInitiatorResult = MseCipher & {
  /**
   * Bytes that arrived after the handshake in the same reads (the responder's first payload),
   * already decrypted; a fresh buffer, possibly empty.
   */
  readonly rest: Uint8Array;
};

/** The responder's outcome. */
export type MseResponderResult = MseCipher & {
  /** The SKEY (info-hash) the initiator proved it knows, as returned by `findSkey`. */
  readonly skey: Uint8Array;
  /** The initiator's initial payload, decrypted (usually its BitTorrent handshake); may be empty. */
  readonly ia: Uint8Array;
  /** Bytes that arrived after IA, already decrypted; a fresh buffer, possibly empty. */
  readonly rest: Uint8Array;
};

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const REQ1 = ascii('req1');
const REQ2 = ascii('req2');
const REQ3 = ascii('req3');
const KEY_A = ascii('keyA');
const KEY_B = ascii('keyB');

function hash(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const all = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return sha1(all);
}

/**
 * HASH('req2', SKEY): what a responder receives (after unmasking) in place of the info-hash. The
 * session indexes its torrents by it so `findSkey` is one map lookup.
 */
export function mseReq2Hash(skey: Uint8Array): Uint8Array {
  return hash(REQ2, skey);
}

/** HASH('req1', S): the responder's synchronisation pattern. */
export function mseReq1Hash(secret: Uint8Array): Uint8Array {
  return hash(REQ1, secret);
}

/** HASH('req3', S): the mask over HASH('req2', SKEY). */
export function mseReq3Hash(secret: Uint8Array): Uint8Array {
  return hash(REQ3, secret);
}

/**
 * The two RC4 streams of one side, keyed and with the first 1024 bytes discarded: the
 * initiator encrypts with keyA and decrypts with keyB, the responder the other way round.
 */
export function mseCiphers(
  secret: Uint8Array,
  skey: Uint8Array,
  role: 'initiator' | 'responder',
): { encrypt: Rc4; decrypt: Rc4 } {
  const a = new Rc4(hash(KEY_A, secret, skey), MSE_RC4_DISCARD_BYTES);
  const b = new Rc4(hash(KEY_B, secret, skey), MSE_RC4_DISCARD_BYTES);
  return role === 'initiator' ? { encrypt: a, decrypt: b } : { encrypt: b, decrypt: a };
}

/** The crypto_provide bits of a method set. */
export function mseMethodBits(set: MseMethodSet): number {
  return (set.plaintext ? MSE_CRYPTO_PLAINTEXT : 0) | (set.rc4 ? MSE_CRYPTO_RC4 : 0);
}

/**
 * The responder's choice from the initiator's crypto_provide `bits`: a method both sides allow,
 * `prefer` when both qualify; undefined when none does. Unknown bits are ignored.
 */
export function mseSelectMethod(bits: number, allow: MseMethodSet, prefer: MseMethod): MseMethod | undefined {
  const rc4 = allow.rc4 && (bits & MSE_CRYPTO_RC4) !== 0;
  const plaintext = allow.plaintext && (bits & MSE_CRYPTO_PLAINTEXT) !== 0;
  if (rc4 && plaintext) return prefer;
  if (rc4) return 'rc4';
  return plaintext ? 'plaintext' : undefined;
}
