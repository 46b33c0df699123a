import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isShoalError } from '../../src/shared/errors.js';
import { MAX_BLOCK_BYTES, METADATA_PIECE_BYTES } from '../../src/shared/limits.js';
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
  formatIp,
  type Handshake,
  parseIp,
  WireError,
  type WireMessage,
} from '../../src/wire/index.js';

/** fc.record with plain (not null-prototype) objects, so they deep-equal decoded messages. */
const rec: typeof fc.record = ((model: never, constraints?: object) =>
  fc.record(model, { ...constraints, noNullPrototype: true })) as typeof fc.record;
const u32 = fc.nat({ max: 0xffffffff });
const bytes = (maxLength: number, minLength = 0) => fc.uint8Array({ minLength, maxLength });
const root = bytes(32, 32);

/** Any encodable message except the handshake (which only comes first, see below). */
export const wireMessage: fc.Arbitrary<EncodableMessage> = fc.oneof(
  fc.constantFrom<EncodableMessage>(
    { type: 'keep-alive' },
    { type: 'choke' },
    { type: 'unchoke' },
    { type: 'interested' },
    { type: 'not-interested' },
    { type: 'have-all' },
    { type: 'have-none' },
  ),
  rec({
    type: fc.constantFrom('have' as const, 'suggest-piece' as const, 'allowed-fast' as const),
    index: u32,
  }),
  rec({ type: fc.constant('bitfield' as const), bitfield: bytes(64) }),
  rec({
    type: fc.constantFrom('request' as const, 'cancel' as const, 'reject-request' as const),
    index: u32,
    begin: u32,
    length: u32,
  }),
  rec({
    type: fc.constant('piece' as const),
    index: u32,
    begin: u32,
    block: fc.oneof(bytes(64), bytes(MAX_BLOCK_BYTES, MAX_BLOCK_BYTES - 2)),
  }),
  rec({ type: fc.constant('port' as const), port: fc.nat({ max: 0xffff }) }),
  rec({ type: fc.constant('extended' as const), extId: fc.nat({ max: 255 }), payload: bytes(100) }),
  rec({
    type: fc.constantFrom('hash-request' as const, 'hash-reject' as const),
    piecesRoot: root,
    baseLayer: u32,
    index: u32,
    length: u32,
    proofLayers: u32,
  }),
  rec({
    type: fc.constant('hashes' as const),
    piecesRoot: root,
    baseLayer: u32,
    index: u32,
    length: u32,
    proofLayers: u32,
    hashes: fc.nat({ max: 6 }).chain((n) => bytes(32 * n, 32 * n)),
  }),
);

const handshake: fc.Arbitrary<Handshake> = rec({
  reserved: bytes(8, 8),
  infoHash: bytes(20, 20),
  peerId: bytes(20, 20),
});

/** Sorted distinct cut points inside [0, length]. */
function cuts(length: number, points: number[]): number[] {
  return [...new Set(points.map((p) => p % (length + 1)))].sort((a, b) => a - b);
}

function pushSplit(d: FrameDecoder, stream: Uint8Array, at: number[]): WireMessage[] {
  const out: WireMessage[] = [];
  let prev = 0;
  for (const c of [...at, stream.length]) {
    out.push(...d.push(stream.subarray(prev, c)));
    prev = c;
  }
  return out;
}

function expectOnlyWireErrors(f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof WireError) || !isShoalError(e)) throw e;
  }
}

/** An optional handshake, messages, and cut points to split their encoding at. */
const messageStream = fc.tuple(
  fc.option(handshake, { nil: undefined }),
  fc.array(wireMessage, { maxLength: 12 }),
  fc.array(fc.nat(), { maxLength: 12 }),
);

/** A handshake (if any) and messages as one byte stream, and the messages it decodes to. */
function encodedStream(
  hs: Handshake | undefined,
  msgs: EncodableMessage[],
): { stream: Uint8Array; want: WireMessage[] } {
  const parts = msgs.map(encodeMessage);
  if (hs !== undefined) parts.unshift(encodeHandshake(hs));
  const want: WireMessage[] = hs === undefined ? msgs : [{ type: 'handshake', ...hs }, ...msgs];
  return { stream: new Uint8Array(Buffer.concat(parts)), want };
}

describe('wire properties', () => {
  test('any message sequence, encoded and split at random points, decodes to the same messages', () => {
    fc.assert(
      fc.property(messageStream, ([hs, msgs, points]) => {
        const { stream, want } = encodedStream(hs, msgs);
        const d = new FrameDecoder({ handshake: hs !== undefined });
        const got = pushSplit(d, stream, cuts(stream.length, points));
        assert.deepEqual(got, want);
        assert.equal(d.bufferedBytes, 0);
        assert.equal(d.bytesConsumed, stream.length);
      }),
      { numRuns: 1000 },
    );
  });

  test('borrowed chunks: every message is intact when handled before the next push, though the caller reuses one read buffer', () => {
    fc.assert(
      fc.property(messageStream, ([hs, msgs, points]) => {
        const { stream, want } = encodedStream(hs, msgs);
        const d = new FrameDecoder({ handshake: hs !== undefined, borrowedChunks: true });
        // One read buffer, as a socket with `onread` has: every chunk is copied into it,
        // and scribbled over once its push returned.
        const readBuffer = new Uint8Array(stream.length + 1);
        const handled: WireMessage[] = [];
        const kept: WireMessage[] = [];
        let prev = 0;
        for (const c of [...cuts(stream.length, points), stream.length]) {
          readBuffer.set(stream.subarray(prev, c));
          for (const m of d.push(readBuffer.subarray(0, c - prev))) {
            // Handled now: a piece block copied, as the session copies it into its piece.
            handled.push(m.type === 'piece' ? { ...m, block: m.block.slice() } : m);
            kept.push(m);
          }
          readBuffer.fill(0xee);
          prev = c;
        }
        assert.deepEqual(handled, want);
        // Every field but a piece block was copied out, so messages kept as they are stay whole.
        assert.deepEqual(
          kept.filter((m) => m.type !== 'piece'),
          want.filter((m) => m.type !== 'piece'),
        );
      }),
      { numRuns: 1000 },
    );
  });

  test('random bytes, in random chunks, give messages or a WireError only, quickly', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          bytes(300),
          fc.array(wireMessage, { maxLength: 4 }).chain((m) => mutated(m)),
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        fc.option(fc.nat({ max: 200 }), { nil: undefined }),
        (input, points, hsMode, pieceCount) => {
          const t0 = performance.now();
          const d = new FrameDecoder({
            handshake: hsMode,
            maxMessageBytes: 64 * 1024,
            ...(pieceCount === undefined ? {} : { pieceCount }),
          });
          expectOnlyWireErrors(() => {
            for (const m of pushSplit(d, input, cuts(input.length, points))) {
              // Whatever decodes re-encodes and decodes to itself.
              if (m.type === 'unknown') continue;
              assert.deepEqual(
                new FrameDecoder({ handshake: m.type === 'handshake' }).push(encodeMessage(m)),
                [m],
              );
            }
          });
          assert.ok(performance.now() - t0 < 1000);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('extension payload decoders: random bytes give a value or a WireError only', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          bytes(200),
          fc.string().map((s) => new TextEncoder().encode(s)),
        ),
        (input) => {
          expectOnlyWireErrors(() => decodeExtendedHandshake(input));
          expectOnlyWireErrors(() => decodeUtMetadata(input));
          expectOnlyWireErrors(() => decodeUtPex(input));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('extended handshake round trip', () => {
    fc.assert(
      fc.property(
        rec(
          {
            extensions: fc
              .uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.nat({ max: 255 })), {
                maxLength: 10,
                selector: ([k]) => k,
              })
              .map((e) => new Map(e)),
            client: fc.string({ maxLength: 30 }),
            port: fc.integer({ min: 1, max: 65535 }),
            reqq: fc.integer({ min: 1, max: 100000 }),
            yourIp: fc.oneof(bytes(4, 4), bytes(16, 16)),
            ipv4: bytes(4, 4),
            ipv6: bytes(16, 16),
            metadataSize: fc.integer({ min: 1, max: 1 << 24 }),
            uploadOnly: fc.boolean(),
          },
          { requiredKeys: ['extensions'] },
        ),
        (h) => {
          // Lone surrogates do not survive UTF-8; keep the strings that do.
          const valid = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s)) === s;
          fc.pre([...h.extensions.keys()].every(valid) && (h.client === undefined || valid(h.client)));
          assert.deepEqual(decodeExtendedHandshake(encodeExtendedHandshake(h)), h);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('ut_metadata and ut_pex round trips', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 * METADATA_PIECE_BYTES }).chain((totalSize) =>
          fc.nat({ max: Math.ceil(totalSize / METADATA_PIECE_BYTES) - 1 }).map((piece) => ({
            totalSize,
            piece,
          })),
        ),
        ({ totalSize, piece }) => {
          const n = Math.min(METADATA_PIECE_BYTES, totalSize - piece * METADATA_PIECE_BYTES);
          const data = new Uint8Array(n).fill(piece & 0xff);
          const msg = { type: 'data' as const, piece, totalSize, data };
          assert.deepEqual(decodeUtMetadata(encodeUtMetadata(msg)), msg);
        },
      ),
      { numRuns: 200 },
    );
    const peer4 = rec({
      host: fc.ipV4(),
      port: fc.nat({ max: 65535 }),
      family: fc.constant(4 as const),
    });
    const peer6 = rec({
      host: bytes(16, 16).map(formatIp),
      port: fc.nat({ max: 65535 }),
      family: fc.constant(6 as const),
    });
    const peer = fc.oneof(peer4, peer6);
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(peer, fc.nat({ max: 255 })).map(([p, flags]) => ({ ...p, flags })),
          { maxLength: 30 },
        ),
        fc.array(peer, { maxLength: 30 }),
        (added, dropped) => {
          const got = decodeUtPex(encodeUtPex({ added, dropped }));
          const byFamily = <T extends { family: 4 | 6 }>(l: readonly T[]) => [
            ...l.filter((p) => p.family === 4),
            ...l.filter((p) => p.family === 6),
          ];
          assert.deepEqual(got, { added: byFamily(added), dropped: byFamily(dropped), truncated: false });
        },
      ),
      { numRuns: 500 },
    );
  });

  test('IPv6 text round trips through parseIp and formatIp', () => {
    fc.assert(
      fc.property(bytes(16, 16), fc.ipV6(), (b, text) => {
        assert.deepEqual(parseIp(formatIp(b)), b);
        const parsed = parseIp(text);
        assert.ok(parsed !== undefined, text);
        assert.equal(formatIp(parsed), formatIp(parseIp(formatIp(parsed))!));
      }),
      { numRuns: 1000 },
    );
  });
});

/** Encoded messages with a few random byte flips, to reach deep states of the decoder. */
function mutated(msgs: EncodableMessage[]): fc.Arbitrary<Uint8Array> {
  const stream = new Uint8Array(Buffer.concat(msgs.map(encodeMessage)));
  return fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }).map((flips) => {
    const b = stream.slice();
    for (const [at, v] of flips) if (b.length > 0) b[at % b.length] = v;
    return b;
  });
}
