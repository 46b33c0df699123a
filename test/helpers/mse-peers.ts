/**
 * MSE test peers: a driver that runs an {@link MseInitiator} against an {@link MseResponder} over
 * two in-memory pipes with chosen chunk sizes, and hand-made handshake messages built straight
 * from the spec (for bytes the state machines would never send: oversized padding, a bad VC).
 */
import { SeededRandom } from '../../src/engine/index.js';
import {
  MSE_HASH_BYTES,
  MSE_KEY_BYTES,
  MSE_VC_BYTES,
  MseInitiator,
  type MseInitiatorOptions,
  type MseInitiatorResult,
  MseResponder,
  type MseResponderOptions,
  type MseResponderResult,
  mseCiphers,
  msePrivateKey,
  msePublicKey,
  mseReq1Hash,
  mseReq2Hash,
  mseReq3Hash,
  mseSharedSecret,
  type Rc4,
} from '../../src/wire/index.js';

const xorBytes = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((x, k) => x ^ b[k]!);

export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A seeded `RandomBytes`. */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  const r = new SeededRandom(seed);
  return (n) => r.bytes(n);
}

/** `findSkey` over a list of info-hashes, indexed by HASH('req2', SKEY) as the session will. */
export function skeyIndex(skeys: readonly Uint8Array[]): (req2: Uint8Array) => Uint8Array | undefined {
  const m = new Map(skeys.map((k) => [hexOf(mseReq2Hash(k)), k] as const));
  return (req2) => m.get(hexOf(req2));
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** What one simulated connection produced. */
export interface Exchange {
  readonly initiator: MseInitiatorResult | undefined;
  readonly responder: MseResponderResult | undefined;
  /** Application bytes the responder read: IA, then the initiator's payload. */
  readonly atResponder: Uint8Array;
  /** Application bytes the initiator read: the responder's payload. */
  readonly atInitiator: Uint8Array;
  /** Every byte that went to the responder, and to the initiator, as on the wire. */
  readonly wireToResponder: Uint8Array;
  readonly wireToInitiator: Uint8Array;
  /** The first error either side threw, with the side. */
  readonly error: { side: 'initiator' | 'responder'; error: unknown } | undefined;
}

/**
 * Runs one handshake over two pipes. Each delivery takes the next size from `chunkSizes`
 * (cycling; sizes are clamped to what is queued) from the pipe `turns` picks (cycling: 0 = to the
 * responder, 1 = to the initiator; a pipe with nothing queued yields to the other). Each side
 * writes its `payload` as soon as its handshake is done, encrypted if the method is RC4.
 */
export function exchange(
  initiatorOptions: MseInitiatorOptions,
  responderOptions: MseResponderOptions,
  o: {
    readonly chunkSizes?: readonly number[];
    readonly turns?: readonly number[];
    readonly initiatorPayload?: Uint8Array;
    readonly responderPayload?: Uint8Array;
  } = {},
): Exchange {
  const a = new MseInitiator(initiatorOptions);
  const b = new MseResponder(responderOptions);
  const pipes: [Uint8Array, Uint8Array] = [a.start(), new Uint8Array(0)];
  let ra: MseInitiatorResult | undefined;
  let rb: MseResponderResult | undefined;
  const atA: Uint8Array[] = [];
  const atB: Uint8Array[] = [];
  const sizes = o.chunkSizes ?? [1 << 20];
  const turns = o.turns ?? [0, 1];
  const wire: [Uint8Array[], Uint8Array[]] = [[pipes[0]], []];
  const send = (to: 0 | 1, bytes: Uint8Array): void => {
    pipes[to] = concatBytes(pipes[to], bytes);
    wire[to].push(bytes);
  };
  const end = (error: Exchange['error']): Exchange => ({
    initiator: ra,
    responder: rb,
    atResponder: concatBytes(...atB),
    atInitiator: concatBytes(...atA),
    wireToResponder: concatBytes(...wire[0]),
    wireToInitiator: concatBytes(...wire[1]),
    error,
  });
  const payload = (p: Uint8Array | undefined, cipher: Rc4 | undefined): Uint8Array => {
    const bytes = Uint8Array.from(p ?? new Uint8Array(0));
    cipher?.process(bytes);
    return bytes;
  };
  let step = 0;
  for (let guard = 0; guard < 1_000_000 && (pipes[0].length > 0 || pipes[1].length > 0); guard++, step++) {
    let to: 0 | 1 = turns[step % turns.length] === 1 ? 1 : 0;
    if (pipes[to].length === 0) to = to === 0 ? 1 : 0;
    const n = Math.max(1, Math.min(pipes[to].length, sizes[step % sizes.length]!));
    // Deliver a copy in a larger buffer, so a side that wrote into its input would be caught below.
    const backing = concatBytes(pipes[to].subarray(0, n), Uint8Array.of(0xee));
    const chunk = backing.subarray(0, n);
    const before = Uint8Array.from(chunk);
    pipes[to] = pipes[to].subarray(n);
    try {
      if (to === 0) {
        if (rb === undefined) {
          const s = b.push(chunk);
          if (s.send !== undefined) send(1, s.send);
          if (s.result !== undefined) {
            rb = s.result;
            atB.push(rb.ia, rb.rest);
            send(1, payload(o.responderPayload, rb.method === 'rc4' ? rb.encrypt : undefined));
          }
        } else {
          const c = Uint8Array.from(chunk);
          if (rb.method === 'rc4') rb.decrypt.process(c);
          atB.push(c);
        }
      } else if (ra === undefined) {
        const s = a.push(chunk);
        if (s.send !== undefined) send(0, s.send);
        if (s.result !== undefined) {
          ra = s.result;
          atA.push(ra.rest);
          send(0, payload(o.initiatorPayload, ra.method === 'rc4' ? ra.encrypt : undefined));
        }
      } else {
        const c = Uint8Array.from(chunk);
        if (ra.method === 'rc4') ra.decrypt.process(c);
        atA.push(c);
      }
    } catch (error) {
      return end({ side: to === 0 ? 'responder' : 'initiator', error });
    }
    if (hexOf(before) !== hexOf(chunk) || backing[n] !== 0xee) throw new Error('a side modified its input');
  }
  return end(undefined);
}

/** A hand-made side of the key exchange: a private key, its public key and, given the remote's, S. */
export class HandMadeKeys {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  constructor(seed: number) {
    this.privateKey = msePrivateKey(seededBytes(seed));
    this.publicKey = msePublicKey(this.privateKey);
  }
  secret(remotePublicKey: Uint8Array): Uint8Array {
    return mseSharedSecret(this.privateKey, remotePublicKey.subarray(0, MSE_KEY_BYTES));
  }
}

/** Fields of a hand-made step 3 (A→B), each overridable to break one rule. */
export interface Step3Fields {
  readonly vc?: Uint8Array;
  readonly provide: number;
  readonly padC?: Uint8Array;
  /** len(IA) as written; @default ia.length */
  readonly iaLength?: number;
  readonly ia?: Uint8Array;
}

/**
 * Step 3 as the spec lays it out: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 * ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA). Returns the bytes and A's
 * ciphers positioned after them.
 */
export function handMadeStep3(
  secret: Uint8Array,
  skey: Uint8Array,
  f: Step3Fields,
): { bytes: Uint8Array; encrypt: Rc4; decrypt: Rc4 } {
  const padC = f.padC ?? new Uint8Array(0);
  const ia = f.ia ?? new Uint8Array(0);
  const plain = new Uint8Array(MSE_VC_BYTES + 4 + 2 + padC.length + 2 + ia.length);
  const dv = new DataView(plain.buffer);
  plain.set(f.vc ?? new Uint8Array(MSE_VC_BYTES), 0);
  dv.setUint32(MSE_VC_BYTES, f.provide);
  dv.setUint16(MSE_VC_BYTES + 4, padC.length);
  plain.set(padC, MSE_VC_BYTES + 6);
  dv.setUint16(MSE_VC_BYTES + 6 + padC.length, f.iaLength ?? ia.length);
  plain.set(ia, MSE_VC_BYTES + 8 + padC.length);
  const { encrypt, decrypt } = mseCiphers(secret, skey, 'initiator');
  encrypt.process(plain);
  const bytes = concatBytes(mseReq1Hash(secret), xorBytes(mseReq2Hash(skey), mseReq3Hash(secret)), plain);
  if (bytes.length !== 2 * MSE_HASH_BYTES + plain.length) throw new Error('step 3 length');
  return { bytes, encrypt, decrypt };
}

/** Step 4 (B→A): ENCRYPT(VC, crypto_select, len(PadD), PadD), with B's ciphers after it. */
export function handMadeStep4(
  secret: Uint8Array,
  skey: Uint8Array,
  f: { readonly select: number; readonly padD?: Uint8Array },
): { bytes: Uint8Array; encrypt: Rc4; decrypt: Rc4 } {
  const padD = f.padD ?? new Uint8Array(0);
  const plain = new Uint8Array(MSE_VC_BYTES + 4 + 2 + padD.length);
  const dv = new DataView(plain.buffer);
  dv.setUint32(MSE_VC_BYTES, f.select);
  dv.setUint16(MSE_VC_BYTES + 4, padD.length);
  plain.set(padD, MSE_VC_BYTES + 6);
  const { encrypt, decrypt } = mseCiphers(secret, skey, 'responder');
  encrypt.process(plain);
  return { bytes: plain, encrypt, decrypt };
}
