import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type EncodableMessage,
  encodedLength,
  encodeMessage,
  encodeMessageInto,
  encodePieceHeader,
  FrameDecoder,
  MessageId,
} from '../../../src/wire/index.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const root = hex('11'.repeat(32));

/** Every message with the bytes BEP 3 / 5 / 6 / 10 / 52 prescribe, written out by hand. */
const VECTORS: [EncodableMessage, string][] = [
  [{ type: 'keep-alive' }, '00000000'],
  [{ type: 'choke' }, '00000001 00'],
  [{ type: 'unchoke' }, '00000001 01'],
  [{ type: 'interested' }, '00000001 02'],
  [{ type: 'not-interested' }, '00000001 03'],
  [{ type: 'have', index: 0x01020304 }, '00000005 04 01020304'],
  [{ type: 'bitfield', bitfield: hex('ff80') }, '00000003 05 ff80'],
  [{ type: 'bitfield', bitfield: new Uint8Array() }, '00000001 05'],
  [{ type: 'request', index: 1, begin: 0x4000, length: 0x4000 }, '0000000d 06 00000001 00004000 00004000'],
  [{ type: 'piece', index: 2, begin: 0x4000, block: hex('616263') }, '0000000c 07 00000002 00004000 616263'],
  [{ type: 'cancel', index: 0xffffffff, begin: 0, length: 1 }, '0000000d 08 ffffffff 00000000 00000001'],
  [{ type: 'port', port: 6881 }, '00000003 09 1ae1'],
  [{ type: 'suggest-piece', index: 5 }, '00000005 0d 00000005'],
  [{ type: 'have-all' }, '00000001 0e'],
  [{ type: 'have-none' }, '00000001 0f'],
  [{ type: 'reject-request', index: 3, begin: 0, length: 0x4000 }, '0000000d 10 00000003 00000000 00004000'],
  [{ type: 'allowed-fast', index: 7 }, '00000005 11 00000007'],
  [{ type: 'extended', extId: 0, payload: hex('6465') }, '00000004 14 00 6465'],
  [{ type: 'extended', extId: 3, payload: new Uint8Array() }, '00000002 14 03'],
  [
    { type: 'hash-request', piecesRoot: root, baseLayer: 0, index: 4, length: 4, proofLayers: 2 },
    `00000031 15 ${'11'.repeat(32)} 00000000 00000004 00000004 00000002`,
  ],
  [
    {
      type: 'hashes',
      piecesRoot: root,
      baseLayer: 1,
      index: 0,
      length: 2,
      proofLayers: 0,
      hashes: hex('22'.repeat(32) + '33'.repeat(32)),
    },
    `00000071 16 ${'11'.repeat(32)} 00000001 00000000 00000002 00000000 ${'22'.repeat(32)}${'33'.repeat(32)}`,
  ],
  [
    { type: 'hash-reject', piecesRoot: root, baseLayer: 2, index: 8, length: 8, proofLayers: 1 },
    `00000031 17 ${'11'.repeat(32)} 00000002 00000008 00000008 00000001`,
  ],
];

describe('messages', () => {
  test('MessageId values are the BEP numbers', () => {
    assert.deepEqual(
      [
        MessageId.Choke,
        MessageId.Have,
        MessageId.Piece,
        MessageId.Port,
        MessageId.SuggestPiece,
        MessageId.HaveAll,
        MessageId.HaveNone,
        MessageId.RejectRequest,
        MessageId.AllowedFast,
        MessageId.Extended,
        MessageId.HashRequest,
        MessageId.Hashes,
        MessageId.HashReject,
      ],
      [0, 4, 7, 9, 13, 14, 15, 16, 17, 20, 21, 22, 23],
    );
  });

  for (const [msg, bytes] of VECTORS) {
    test(`${msg.type} encodes to ${bytes.slice(0, 24)}… and decodes back`, () => {
      const expected = hex(bytes);
      assert.deepEqual(encodeMessage(msg), expected);
      assert.equal(encodedLength(msg), expected.length);
      assert.deepEqual(new FrameDecoder().push(expected), [msg]);
    });
  }

  test('encodeMessageInto writes into a reusable buffer and returns the length', () => {
    const buf = new Uint8Array(64).fill(0xee);
    const n = encodeMessageInto({ type: 'have', index: 9 }, buf, 3);
    assert.equal(n, 9);
    assert.deepEqual(buf.subarray(3, 12), hex('00000005 04 00000009'));
    assert.equal(buf[2], 0xee);
    assert.equal(buf[12], 0xee);
    assert.throws(() => encodeMessageInto({ type: 'have', index: 9 }, buf, 56), RangeError);
  });

  test('encodePieceHeader writes the 13-byte header for a block sent separately', () => {
    assert.deepEqual(encodePieceHeader(2, 0x4000, 0x4000), hex('00004009 07 00000002 00004000'));
    const buf = new Uint8Array(20);
    encodePieceHeader(1, 0, 3, buf, 4);
    assert.deepEqual(buf.subarray(4, 17), hex('0000000c 07 00000001 00000000'));
    // Header then block, as two writes, equals the whole message.
    const block = hex('616263');
    const joined = Buffer.concat([encodePieceHeader(2, 0x4000, 3), block]);
    assert.deepEqual(
      new Uint8Array(joined),
      encodeMessage({ type: 'piece', index: 2, begin: 0x4000, block }),
    );
  });

  test('out-of-range fields are programmer errors (RangeError)', () => {
    assert.throws(() => encodeMessage({ type: 'have', index: -1 }), RangeError);
    assert.throws(() => encodeMessage({ type: 'have', index: 2 ** 32 }), RangeError);
    assert.throws(() => encodeMessage({ type: 'request', index: 0, begin: 0.5, length: 1 }), RangeError);
    assert.throws(() => encodeMessage({ type: 'port', port: 65536 }), RangeError);
    assert.throws(
      () => encodeMessage({ type: 'extended', extId: 256, payload: new Uint8Array() }),
      RangeError,
    );
    assert.throws(
      () =>
        encodeMessage({
          type: 'hash-request',
          piecesRoot: new Uint8Array(20),
          baseLayer: 0,
          index: 0,
          length: 2,
          proofLayers: 0,
        }),
      RangeError,
    );
    assert.throws(
      () =>
        encodeMessage({
          type: 'hashes',
          piecesRoot: root,
          baseLayer: 0,
          index: 0,
          length: 2,
          proofLayers: 0,
          hashes: new Uint8Array(33),
        }),
      RangeError,
    );
    assert.throws(() => encodePieceHeader(0, 0, -1), RangeError);
  });
});
