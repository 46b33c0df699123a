/**
 * Fuzz target for the peer-wire layer: the frame decoder (with and without the handshake, with and
 * without a piece count, in input-derived chunks) and the BEP 10 / 9 / 11 payload decoders on every
 * extended message it yields. Decoded messages must re-encode to frames that decode to themselves.
 */
import { encode } from '../src/codec/index.js';
import { isShoalError } from '../src/shared/errors.js';
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
    { type: 'port', port: 6881 },
    { type: 'have-all' },
    { type: 'keep-alive' },
    { type: 'allowed-fast', index: 2 },
    { type: 'reject-request', index: 1, begin: 0, length: 16 },
  ];
  return [
    new Uint8Array(Buffer.concat([hs, stream(common)])),
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
  },
};
