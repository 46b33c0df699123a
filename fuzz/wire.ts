/**
 * Fuzz target for the peer-wire layer: the frame decoder (with and without the handshake, with and
 * without a piece count, in input-derived chunks) and the BEP 10 / 9 / 11 payload decoders on every
 * extended message it yields. Decoded messages must re-encode to frames that decode to themselves.
 *
 * The seeds hold every message type (BEP 3, 5, 6, 10 and the BEP 52 hash request / hashes /
 * hash reject) and an unknown id. Each input is also decoded in *borrowed-chunk* mode (how
 * connections read: the caller reuses each chunk once `push` returned) at arbitrary split points
 * derived from the input, the chunk scribbled over after every push: its messages (piece blocks
 * read right after their push, every other field at the end) and its error (code and stream
 * offset) must equal those of an owned-chunk decode of the same splits, and those must match a
 * one-shot decode of the whole input.
 */
import { encode } from '../src/codec/index.js';
import { isShoalError, type ShoalError } from '../src/shared/errors.js';
import {
  decodeExtendedHandshake,
  decodeUtMetadata,
  decodeUtPex,
  type EncodableMessage,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeUtMetadata,
  encodeUtPex,
  FrameDecoder,
  makeReserved,
  type WireMessage,
} from '../src/wire/index.js';
import type { FuzzTarget } from './target.js';

const root = new Uint8Array(32).fill(0x11);

function stream(msgs: EncodableMessage[]): Uint8Array {
  return new Uint8Array(Buffer.concat(msgs.map(encodeMessage)));
}

function seedStreams(): Uint8Array[] {
  const hs = encodeHandshake({
    reserved: makeReserved({ extended: true, fast: true, dht: true }),
    infoHash: new Uint8Array(20).fill(1),
    peerId: new TextEncoder().encode('-SH0100-abcdefghijkl'),
  });
  const ext = (extId: number, payload: Uint8Array): EncodableMessage => ({
    type: 'extended',
    extId,
    payload,
  });
  const common: EncodableMessage[] = [
    ext(
      0,
      encodeExtendedHandshake({
        extensions: new Map([
          ['ut_metadata', 3],
          ['ut_pex', 1],
        ]),
        client: 'fuzz',
        port: 6881,
        metadataSize: 100,
      }),
    ),
    { type: 'bitfield', bitfield: Uint8Array.of(0xff, 0x80) },
    { type: 'have', index: 3 },
    { type: 'interested' },
    { type: 'unchoke' },
    { type: 'request', index: 1, begin: 0, length: 16 },
    { type: 'piece', index: 1, begin: 0, block: new Uint8Array(40).fill(7) },
    ext(3, encodeUtMetadata({ type: 'data', piece: 0, totalSize: 100, data: new Uint8Array(100) })),
    ext(3, encodeUtMetadata({ type: 'request', piece: 0 })),
    ext(
      1,
      encodeUtPex({
        added: [{ host: '1.2.3.4', port: 1, family: 4, flags: 2 }],
        dropped: [{ host: '::1', port: 2, family: 6 }],
      }),
    ),
    { type: 'hash-request', piecesRoot: root, baseLayer: 0, index: 0, length: 2, proofLayers: 1 },
    {
      type: 'hashes',
      piecesRoot: root,
      baseLayer: 0,
      index: 0,
      length: 2,
      proofLayers: 0,
      hashes: new Uint8Array(64),
    },
    { type: 'hash-reject', piecesRoot: root, baseLayer: 0, index: 0, length: 2, proofLayers: 1 },
    { type: 'port', port: 6881 },
    { type: 'have-all' },
    { type: 'have-none' },
    { type: 'keep-alive' },
    { type: 'allowed-fast', index: 2 },
    { type: 'suggest-piece', index: 4 },
    { type: 'reject-request', index: 1, begin: 0, length: 16 },
    { type: 'cancel', index: 1, begin: 16, length: 16 },
    { type: 'not-interested' },
    { type: 'choke' },
    { type: 'piece', index: 2, begin: 16384, block: new Uint8Array(600).map((_, i) => i & 0xff) },
  ];
  // An unknown id (skipped, not buffered) between known ones.
  const unknown = Uint8Array.of(0, 0, 0, 6, 77, 1, 2, 3, 4, 5);
  return [
    new Uint8Array(Buffer.concat([hs, stream(common)])),
    new Uint8Array(Buffer.concat([hs, stream(common.slice(0, 9)), unknown, stream(common.slice(9))])),
    stream(common),
    stream(common.slice(0, 4)),
    ...common
      .filter((m) => m.type === 'extended')
      .map((m) => (m.type === 'extended' ? m.payload : new Uint8Array())),
    encode({ m: { ut_pex: 1 }, yourip: new Uint8Array(4) }),
  ];
}

function checkRoundTrip(m: WireMessage): void {
  if (m.type === 'unknown') return;
  const again = new FrameDecoder({ handshake: m.type === 'handshake' }).push(encodeMessage(m));
  if (again.length !== 1 || JSON.stringify(again[0], replacer) !== JSON.stringify(m, replacer)) {
    throw new Error(`message did not round trip: ${JSON.stringify(m, replacer)}`);
  }
}

function replacer(_key: string, v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
}

function payloads(payload: Uint8Array): void {
  for (const decode of [decodeExtendedHandshake, decodeUtMetadata, decodeUtPex]) {
    try {
      decode(payload);
    } catch (e) {
      if (!isShoalError(e)) throw e;
    }
  }
}

/** Split points derived from the input: chunks of 1 byte to a few hundred, varied. */
function splits(input: Uint8Array): number[] {
  let x = 0x9e3779b9;
  for (let i = 0; i < input.length; i += 7) x = Math.imul(x ^ input[i]!, 0x85ebca6b) >>> 0;
  const cuts: number[] = [];
  for (let at = 0; at < input.length; ) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const size = x % 4 === 0 ? 1 + (x % 3) : 1 + (x % 300);
    at = Math.min(input.length, at + size);
    cuts.push(at);
  }
  return cuts;
}

interface Decoded {
  readonly messages: string[];
  readonly error: string | undefined;
}

function errorKey(e: unknown): string {
  if (!isShoalError(e)) throw e;
  const d = (e as ShoalError).details as { offset?: number };
  return `${(e as ShoalError).code}@${d.offset}`;
}

/**
 * Decodes `input` at `cuts` (owned chunks, or one borrowed buffer scribbled after each push).
 * Blocks are serialized right after their push (valid until the next one), other messages at the
 * end (their fields must have been copied out of the borrowed chunk).
 */
function decodeAt(
  input: Uint8Array,
  cuts: readonly number[],
  borrowed: boolean,
  handshake: boolean,
): Decoded {
  const d = new FrameDecoder({ handshake, pieceCount: 10, borrowedChunks: borrowed });
  const late: WireMessage[] = [];
  const messages: (string | number)[] = [];
  const buffer = new Uint8Array(input.length);
  let error: string | undefined;
  let from = 0;
  try {
    for (const to of cuts) {
      const chunk = borrowed ? buffer.subarray(from, to) : input.slice(from, to);
      if (borrowed) chunk.set(input.subarray(from, to));
      for (const m of d.push(chunk)) {
        if (m.type === 'piece') messages.push(JSON.stringify(m, replacer));
        else {
          messages.push(late.length);
          late.push(m);
        }
      }
      if (borrowed) chunk.fill(0xee);
      from = to;
    }
  } catch (e) {
    error = errorKey(e);
  }
  return {
    messages: messages.map((m) => (typeof m === 'number' ? JSON.stringify(late[m], replacer) : m)),
    error,
  };
}

function decodeOnce(input: Uint8Array, handshake: boolean): Decoded {
  try {
    const msgs = new FrameDecoder({ handshake, pieceCount: 10 }).push(input);
    return { messages: msgs.map((m) => JSON.stringify(m, replacer)), error: undefined };
  } catch (e) {
    return { messages: [], error: errorKey(e) };
  }
}

function checkBorrowed(input: Uint8Array): void {
  const cuts = splits(input);
  for (const handshake of [true, false]) {
    const owned = decodeAt(input, cuts, false, handshake);
    const borrowed = decodeAt(input, cuts, true, handshake);
    if (owned.error !== borrowed.error) throw new Error(`borrowed error ${borrowed.error} ≠ ${owned.error}`);
    if (owned.messages.length !== borrowed.messages.length)
      throw new Error(
        `borrowed mode gave ${borrowed.messages.length} messages, owned ${owned.messages.length}`,
      );
    owned.messages.forEach((m, i) => {
      if (m !== borrowed.messages[i])
        throw new Error(`borrowed message ${i} differs: ${borrowed.messages[i]} ≠ ${m}`);
    });
    const once = decodeOnce(input, handshake);
    if (once.error !== owned.error) throw new Error(`split error ${owned.error} ≠ one-shot ${once.error}`);
    if (once.error === undefined && once.messages.join('\n') !== owned.messages.join('\n'))
      throw new Error('split decode differs from the one-shot decode');
  }
}

export const target: FuzzTarget = {
  seeds: seedStreams,
  run(input) {
    // The raw input is also an extension payload.
    payloads(input);
    const step = 1 + ((input[0] ?? 0) % 97);
    for (const handshake of [true, false]) {
      for (const pieceCount of [undefined, 10]) {
        const d = new FrameDecoder({
          handshake,
          maxMessageBytes: 1 << 20,
          ...(pieceCount === undefined ? {} : { pieceCount }),
        });
        try {
          // Input-derived chunking reaches the partial-frame states.
          for (let at = 0; at < input.length; at += step) {
            for (const m of d.push(input.subarray(at, at + step))) {
              checkRoundTrip(m);
              if (m.type === 'extended') payloads(m.payload);
            }
          }
        } catch (e) {
          if (!isShoalError(e)) throw e;
        }
      }
    }
    checkBorrowed(input);
  },
};
