import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, type ErrorCode as ErrorCodeT, isShoalError } from '../../../src/shared/errors.js';
import {
  MAX_BITFIELD_BYTES,
  MAX_BLOCK_BYTES,
  MAX_EXTENDED_PAYLOAD_BYTES,
  MAX_HASHES_PER_MESSAGE,
  MAX_TORRENT_PIECES,
  MAX_WIRE_MESSAGE_BYTES,
} from '../../../src/shared/limits.js';
import {
  type EncodableMessage,
  encodeHandshake,
  encodeMessage,
  FrameDecoder,
  MessageId,
  makeReserved,
  WireError,
  type WireMessage,
} from '../../../src/wire/index.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
/** Concatenation as a plain Uint8Array (views of a Buffer would be Buffers). */
const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const u32 = (n: number): string => n.toString(16).padStart(8, '0');
/** A frame header: length prefix and id. */
const header = (length: number, id: number): Uint8Array =>
  hex(u32(length) + id.toString(16).padStart(2, '0'));
/** A whole frame of `length` (id + payload) with a zero payload. */
const frame = (length: number, id: number): Uint8Array => {
  const b = new Uint8Array(4 + length);
  b.set(header(length, id));
  return b;
};

function rejects(code: ErrorCodeT, f: () => unknown, check?: (e: WireError) => void): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof WireError, `not a WireError: ${String(e)}`);
    assert.ok(isShoalError(e, code), `code ${e.code}, want ${code}`);
    check?.(e);
    return true;
  });
}

const handshakeBytes = encodeHandshake({
  reserved: makeReserved({ extended: true }),
  infoHash: new Uint8Array(20).fill(1),
  peerId: new Uint8Array(20).fill(2),
});

describe('FrameDecoder', () => {
  test('decodes a stream split at every possible position, including inside the length prefix', () => {
    const msgs: EncodableMessage[] = [
      { type: 'keep-alive' },
      { type: 'have', index: 77 },
      { type: 'piece', index: 1, begin: 16, block: Uint8Array.from({ length: 300 }, (_, i) => i & 0xff) },
      { type: 'unchoke' },
      { type: 'extended', extId: 2, payload: hex('64656565') },
    ];
    const stream = concat(msgs.map((m) => encodeMessage(m)));
    for (let a = 0; a <= stream.length; a++) {
      for (const b of [a, Math.min(stream.length, a + 1), Math.min(stream.length, a + 3), stream.length]) {
        const d = new FrameDecoder();
        const got = [
          ...d.push(stream.subarray(0, a)),
          ...d.push(stream.subarray(a, b)),
          ...d.push(stream.subarray(b)),
        ];
        assert.deepEqual(got, msgs, `split at ${a}/${b}`);
        assert.equal(d.bufferedBytes, 0);
        assert.equal(d.bytesConsumed, stream.length);
      }
    }
  });

  test('a 16 KiB block arriving one byte at a time is assembled once, in linear time', () => {
    const block = Uint8Array.from({ length: MAX_BLOCK_BYTES }, (_, i) => (i * 7) & 0xff);
    const bytes = encodeMessage({ type: 'piece', index: 3, begin: 0, block });
    const d = new FrameDecoder();
    const t0 = performance.now();
    const got: WireMessage[] = [];
    for (let i = 0; i < bytes.length; i++) {
      got.push(...d.push(bytes.subarray(i, i + 1)));
      if (i === 100) assert.equal(d.bufferedBytes, 101);
    }
    assert.ok(performance.now() - t0 < 500, 'linear, not quadratic');
    assert.deepEqual(got, [{ type: 'piece', index: 3, begin: 0, block }]);
  });

  test('a frame inside one chunk is decoded in place (the block is a view, not a copy)', () => {
    const block = new Uint8Array(1000).fill(9);
    const chunk = encodeMessage({ type: 'piece', index: 0, begin: 0, block });
    const [msg] = new FrameDecoder().push(chunk);
    assert.ok(msg?.type === 'piece');
    assert.equal(msg.block.buffer, chunk.buffer);
    assert.equal(msg.block.byteOffset, 13);
  });

  test('handshake mode: the first 68 bytes are the handshake, in any split', () => {
    const stream = concat([handshakeBytes, encodeMessage({ type: 'have-none' })]);
    for (let a = 0; a <= stream.length; a++) {
      const d = new FrameDecoder({ handshake: true });
      const got = [...d.push(stream.subarray(0, a)), ...d.push(stream.subarray(a))];
      assert.equal(got.length, 2, `split at ${a}`);
      assert.equal(got[0]?.type, 'handshake');
      assert.deepEqual(got[1], { type: 'have-none' });
      if (got[0]?.type === 'handshake') {
        assert.deepEqual(got[0].infoHash, new Uint8Array(20).fill(1));
        assert.deepEqual(got[0].peerId, new Uint8Array(20).fill(2));
        assert.deepEqual(got[0].reserved, makeReserved({ extended: true }));
      }
    }
  });

  test('handshake mode rejects a non-BitTorrent stream at its first wrong byte', () => {
    // An encrypted (BEP 8 / MSE) or HTTP stream fails on byte 0, without waiting for 68 bytes.
    rejects(ErrorCode.WireBadHandshake, () => new FrameDecoder({ handshake: true }).push(hex('47')));
    const d = new FrameDecoder({ handshake: true });
    assert.deepEqual(d.push(handshakeBytes.subarray(0, 5)), []);
    rejects(
      ErrorCode.WireBadHandshake,
      () => d.push(hex('00')),
      (e) => assert.equal(e.offset, 0),
    );
    rejects(ErrorCode.WireBadHandshake, () => d.push(hex('00')), undefined);
  });

  test('keep-alives are zero-length frames, unknown ids are skipped unbuffered', () => {
    const d = new FrameDecoder();
    const unknown = frame(1 + 5000, 0x63);
    const stream = concat([hex('00000000'), unknown, header(1, 0x0a), encodeMessage({ type: 'choke' })]);
    assert.deepEqual(d.push(stream.subarray(0, 20)), [
      { type: 'keep-alive' },
      { type: 'unknown', id: 0x63, payloadLength: 5000 },
    ]);
    assert.equal(d.bufferedBytes, 0, 'skipped bytes are not held');
    assert.deepEqual(d.push(stream.subarray(20)), [
      { type: 'unknown', id: 0x0a, payloadLength: 0 },
      { type: 'choke' },
    ]);
  });

  describe('bounds: the limit is accepted, the limit + 1 rejected', () => {
    test('maxMessageBytes (and its default MAX_WIRE_MESSAGE_BYTES)', () => {
      const d = new FrameDecoder({ maxMessageBytes: 100 });
      assert.deepEqual(d.push(frame(100, 0x63)), [{ type: 'unknown', id: 0x63, payloadLength: 99 }]);
      rejects(
        ErrorCode.WireFrameTooLarge,
        () => new FrameDecoder({ maxMessageBytes: 100 }).push(header(101, 0x63)),
        (e) => {
          assert.equal(e.offset, 0);
          assert.equal(e.messageId, 0x63);
        },
      );
      // The default: only the length prefix is needed to reject, nothing is buffered.
      assert.equal(new FrameDecoder().maxMessageBytes, MAX_WIRE_MESSAGE_BYTES);
      assert.equal(new FrameDecoder().push(frame(MAX_WIRE_MESSAGE_BYTES, 0x63)).length, 1);
      rejects(
        ErrorCode.WireFrameTooLarge,
        () => new FrameDecoder().push(hex(u32(MAX_WIRE_MESSAGE_BYTES + 1))),
        (e) => assert.equal(e.messageId, undefined),
      );
    });

    test('MAX_BLOCK_BYTES: a piece with a larger block is rejected on its header', () => {
      const [msg] = new FrameDecoder().push(frame(9 + MAX_BLOCK_BYTES, MessageId.Piece));
      assert.ok(msg?.type === 'piece' && msg.block.length === MAX_BLOCK_BYTES);
      rejects(
        ErrorCode.WireFrameTooLarge,
        () => new FrameDecoder().push(header(9 + MAX_BLOCK_BYTES + 1, MessageId.Piece)),
        (e) => assert.equal(e.messageId, MessageId.Piece),
      );
      rejects(ErrorCode.WireBadMessage, () => new FrameDecoder().push(frame(8, MessageId.Piece)));
      assert.equal(
        new FrameDecoder().push(frame(9, MessageId.Piece)).length,
        1,
        'an empty block is well-formed',
      );
    });

    test('MAX_BITFIELD_BYTES while the piece count is unknown', () => {
      assert.equal(MAX_BITFIELD_BYTES * 8, MAX_TORRENT_PIECES, 'one bit per piece of the largest torrent');
      const max = { maxMessageBytes: 2 * MAX_BITFIELD_BYTES };
      const [msg] = new FrameDecoder(max).push(frame(1 + MAX_BITFIELD_BYTES, MessageId.Bitfield));
      assert.ok(msg?.type === 'bitfield' && msg.bitfield.length === MAX_BITFIELD_BYTES);
      rejects(ErrorCode.WireFrameTooLarge, () =>
        new FrameDecoder(max).push(header(2 + MAX_BITFIELD_BYTES, MessageId.Bitfield)),
      );
    });

    test('the exact bitfield size once the piece count is known, with no spare bit set', () => {
      const ok = concat([header(3, MessageId.Bitfield), hex('ff fe')]);
      assert.deepEqual(new FrameDecoder({ pieceCount: 15 }).push(ok), [
        { type: 'bitfield', bitfield: hex('fffe') },
      ]);
      rejects(ErrorCode.WireBadMessage, () =>
        new FrameDecoder({ pieceCount: 15 }).push(header(4, MessageId.Bitfield)),
      );
      rejects(ErrorCode.WireBadMessage, () =>
        new FrameDecoder({ pieceCount: 15 }).push(header(2, MessageId.Bitfield)),
      );
      const spare = concat([header(3, MessageId.Bitfield), hex('ff ff')]);
      rejects(
        ErrorCode.WireBadMessage,
        () => new FrameDecoder({ pieceCount: 15 }).push(spare),
        (e) => {
          assert.equal(e.messageId, MessageId.Bitfield);
          assert.equal(e.offset, 0);
        },
      );
      // setPieceCount applies from the next frame on.
      const d = new FrameDecoder();
      d.setPieceCount(16);
      assert.equal(d.push(spare).length, 1);
    });

    test('MAX_EXTENDED_PAYLOAD_BYTES', () => {
      const [msg] = new FrameDecoder().push(frame(2 + MAX_EXTENDED_PAYLOAD_BYTES, MessageId.Extended));
      assert.ok(msg?.type === 'extended' && msg.payload.length === MAX_EXTENDED_PAYLOAD_BYTES);
      rejects(ErrorCode.WireFrameTooLarge, () =>
        new FrameDecoder().push(header(3 + MAX_EXTENDED_PAYLOAD_BYTES, MessageId.Extended)),
      );
      rejects(ErrorCode.WireBadMessage, () => new FrameDecoder().push(header(1, MessageId.Extended)));
    });

    test('MAX_HASHES_PER_MESSAGE, and whole 32-byte hashes only', () => {
      const [msg] = new FrameDecoder().push(frame(49 + 32 * MAX_HASHES_PER_MESSAGE, MessageId.Hashes));
      assert.ok(msg?.type === 'hashes' && msg.hashes.length === 32 * MAX_HASHES_PER_MESSAGE);
      rejects(ErrorCode.WireFrameTooLarge, () =>
        new FrameDecoder().push(header(49 + 32 * (MAX_HASHES_PER_MESSAGE + 1), MessageId.Hashes)),
      );
      rejects(ErrorCode.WireBadMessage, () => new FrameDecoder().push(header(49 + 31, MessageId.Hashes)));
      rejects(ErrorCode.WireBadMessage, () => new FrameDecoder().push(header(48, MessageId.Hashes)));
      assert.equal(new FrameDecoder().push(frame(49, MessageId.Hashes)).length, 1);
    });

    test('fixed-size messages must have exactly their size', () => {
      const fixed: [number, number][] = [
        [MessageId.Choke, 1],
        [MessageId.Unchoke, 1],
        [MessageId.Interested, 1],
        [MessageId.NotInterested, 1],
        [MessageId.Have, 5],
        [MessageId.Request, 13],
        [MessageId.Cancel, 13],
        [MessageId.Port, 3],
        [MessageId.SuggestPiece, 5],
        [MessageId.HaveAll, 1],
        [MessageId.HaveNone, 1],
        [MessageId.RejectRequest, 13],
        [MessageId.AllowedFast, 5],
        [MessageId.HashRequest, 49],
        [MessageId.HashReject, 49],
      ];
      for (const [id, len] of fixed) {
        assert.equal(new FrameDecoder().push(frame(len, id)).length, 1, `id ${id}`);
        rejects(
          ErrorCode.WireBadMessage,
          () => new FrameDecoder().push(header(len + 1, id)),
          (e) => assert.equal(e.messageId, id),
        );
        if (len > 1) rejects(ErrorCode.WireBadMessage, () => new FrameDecoder().push(header(len - 1, id)));
      }
    });
  });

  test('an error carries the stream offset of the frame and stops the decoder for good', () => {
    const d = new FrameDecoder();
    const good = encodeMessage({ type: 'have', index: 1 });
    assert.deepEqual(d.push(good), [{ type: 'have', index: 1 }]);
    let first: unknown;
    try {
      d.push(concat([good, header(2, MessageId.Have)]));
    } catch (e) {
      first = e;
    }
    assert.ok(first instanceof WireError);
    assert.equal(first.offset, 18);
    assert.equal(first.messageId, MessageId.Have);
    assert.equal(d.error, first);
    assert.throws(
      () => d.push(good),
      (e: unknown) => e === first,
    );
    assert.throws(
      () => d.push(new Uint8Array()),
      (e: unknown) => e === first,
    );
  });

  test('options are checked', () => {
    assert.throws(() => new FrameDecoder({ maxMessageBytes: 0 }), RangeError);
    assert.throws(() => new FrameDecoder({ pieceCount: -1 }), RangeError);
    assert.deepEqual(new FrameDecoder().push(new Uint8Array()), []);
  });
});
