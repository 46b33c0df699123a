import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '../../../src/codec/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import {
  MAX_CLIENT_VERSION_BYTES,
  MAX_EXTENSION_NAME_BYTES,
  MAX_EXTENSION_NAMES,
  MAX_METADATA_BYTES,
  MAX_PEX_PEERS_PER_MESSAGE,
  METADATA_PIECE_BYTES,
} from '../../../src/shared/limits.js';
import {
  decodeExtendedHandshake,
  decodeUtMetadata,
  decodeUtPex,
  encodeExtendedHandshake,
  encodeUtMetadata,
  encodeUtPex,
  MessageId,
  metadataPieceCount,
  metadataPieceLength,
  PexFlag,
  WireError,
} from '../../../src/wire/index.js';

const te = new TextEncoder();
const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const badMessage =
  (extension?: string) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof WireError, String(e));
    assert.ok(isShoalError(e, ErrorCode.WireBadMessage));
    assert.equal(e.messageId, MessageId.Extended);
    if (extension !== undefined) assert.equal(e.details.extension, extension);
    return true;
  };

describe('BEP 10 extended handshake', () => {
  test('encodes the dictionary with sorted keys and decodes it back', () => {
    const h = {
      extensions: new Map([
        ['ut_metadata', 3],
        ['ut_pex', 1],
      ]),
      client: 'Shoal 0.1.0',
      port: 6881,
      reqq: 250,
      metadataSize: 31235,
    };
    const bytes = encodeExtendedHandshake(h);
    assert.equal(
      Buffer.from(bytes).toString('latin1'),
      'd1:md11:ut_metadatai3e6:ut_pexi1ee13:metadata_sizei31235e1:pi6881e4:reqqi250e1:v11:Shoal 0.1.0e',
    );
    assert.deepEqual(decodeExtendedHandshake(bytes), h);
  });

  test('decodes every known field, in any key order, ignoring unknown ones', () => {
    const payload = ascii(
      'd1:v4:qB 51:pi51413e1:md6:ut_pexi2e11:ut_metadatai0ee6:yourip4:\x7f\x00\x00\x01' +
        '4:ipv616:' +
        '\x00'.repeat(15) +
        '\x01' +
        '4:ipv44:\x0a\x00\x00\x01' +
        '11:upload_onlyi1e1:ei1e12:complete_agoi-1ee',
    );
    const h = decodeExtendedHandshake(payload);
    assert.deepEqual(h, {
      extensions: new Map([
        ['ut_pex', 2],
        ['ut_metadata', 0],
      ]),
      client: 'qB 5',
      port: 51413,
      yourIp: hex('7f000001'),
      ipv6: hex('00'.repeat(15) + '01'),
      ipv4: hex('0a000001'),
      uploadOnly: true,
    });
    assert.deepEqual(decodeExtendedHandshake(ascii('de')), { extensions: new Map() });
  });

  test('MAX_EXTENSION_NAMES entries are accepted, one more is a bad message', () => {
    const m = (n: number) => encode({ m: new Map(Array.from({ length: n }, (_, i) => [`x_${i}`, i % 256])) });
    assert.equal(decodeExtendedHandshake(m(MAX_EXTENSION_NAMES)).extensions.size, MAX_EXTENSION_NAMES);
    assert.throws(
      () => decodeExtendedHandshake(m(MAX_EXTENSION_NAMES + 1)),
      badMessage('extended handshake'),
    );
  });

  test('malformed single items are ignored: long names, out-of-range ids, ports, sizes, addresses', () => {
    const long = 'n'.repeat(MAX_EXTENSION_NAME_BYTES);
    const h = decodeExtendedHandshake(
      encode({
        m: new Map<string, number | Uint8Array>([
          [long, 1],
          [`${long}x`, 2],
          ['neg', -1],
          ['big', 256],
          ['top', 255],
          ['str', te.encode('1')],
        ]),
        p: 65536,
        reqq: 0,
        yourip: new Uint8Array(5),
        ipv4: new Uint8Array(16),
        metadata_size: MAX_METADATA_BYTES + 1,
        v: 'v'.repeat(MAX_CLIENT_VERSION_BYTES + 1),
      }),
    );
    assert.deepEqual(
      h.extensions,
      new Map([
        [long, 1],
        ['top', 255],
      ]),
    );
    assert.deepEqual(Object.keys(h), ['extensions']);
    const ok = decodeExtendedHandshake(
      encode({ metadata_size: MAX_METADATA_BYTES, v: 'v'.repeat(MAX_CLIENT_VERSION_BYTES), p: 1 }),
    );
    assert.equal(ok.metadataSize, MAX_METADATA_BYTES);
    assert.equal(ok.client?.length, MAX_CLIENT_VERSION_BYTES);
    assert.equal(ok.port, 1);
    // Non-UTF-8 names and client strings are dropped, not mangled.
    const bin = decodeExtendedHandshake(
      cat(ascii('d1:md2:'), hex('ff fe'), ascii('i1ee1:v1:'), hex('ff'), ascii('e')),
    );
    assert.deepEqual(bin, { extensions: new Map() });
  });

  test('bad bencode, a non-dictionary, a non-dictionary `m` and trailing bytes are bad messages', () => {
    for (const bad of ['', 'i1e', 'd1:m', 'd1:mi1ee', 'dede', 'l1:me']) {
      assert.throws(() => decodeExtendedHandshake(ascii(bad)), badMessage('extended handshake'), bad);
    }
  });
});

describe('BEP 9 ut_metadata', () => {
  test('request, data and reject have the BEP 9 layouts', () => {
    assert.equal(
      Buffer.from(encodeUtMetadata({ type: 'request', piece: 0 })).toString('latin1'),
      'd8:msg_typei0e5:piecei0ee',
    );
    assert.equal(
      Buffer.from(encodeUtMetadata({ type: 'reject', piece: 2 })).toString('latin1'),
      'd8:msg_typei2e5:piecei2ee',
    );
    const data = new Uint8Array(3425 - METADATA_PIECE_BYTES * 0).fill(0x78);
    const bytes = encodeUtMetadata({ type: 'data', piece: 0, totalSize: 3425, data });
    assert.deepEqual(bytes, cat(ascii('d8:msg_typei1e5:piecei0e10:total_sizei3425ee'), data));
    assert.deepEqual(decodeUtMetadata(bytes), { type: 'data', piece: 0, totalSize: 3425, data });
    assert.deepEqual(decodeUtMetadata(ascii('d8:msg_typei0e5:piecei0ee')), { type: 'request', piece: 0 });
    assert.deepEqual(decodeUtMetadata(ascii('d5:piecei5e8:msg_typei2ee')), { type: 'reject', piece: 5 });
  });

  test('piece lengths: 16 KiB except the last', () => {
    assert.equal(metadataPieceCount(METADATA_PIECE_BYTES + 1), 2);
    assert.equal(metadataPieceLength(0, METADATA_PIECE_BYTES + 1), METADATA_PIECE_BYTES);
    assert.equal(metadataPieceLength(1, METADATA_PIECE_BYTES + 1), 1);
    assert.equal(metadataPieceLength(2, METADATA_PIECE_BYTES + 1), 0);
    const total = METADATA_PIECE_BYTES + 10;
    const msg = (piece: number, n: number) =>
      encodeUtMetadata({ type: 'data', piece, totalSize: total, data: new Uint8Array(n) });
    assert.equal(decodeUtMetadata(msg(0, METADATA_PIECE_BYTES))?.type, 'data');
    assert.equal(decodeUtMetadata(msg(1, 10))?.type, 'data');
    assert.throws(() => decodeUtMetadata(msg(0, METADATA_PIECE_BYTES - 1)), badMessage('ut_metadata'));
    assert.throws(() => decodeUtMetadata(msg(1, 11)), badMessage('ut_metadata'));
    assert.throws(() => decodeUtMetadata(msg(2, 0)), badMessage('ut_metadata'), 'piece beyond total_size');
  });

  test('MAX_METADATA_BYTES bounds total_size and the piece index', () => {
    const lastPiece = MAX_METADATA_BYTES / METADATA_PIECE_BYTES - 1;
    const data = new Uint8Array(METADATA_PIECE_BYTES);
    const ok = encodeUtMetadata({ type: 'data', piece: lastPiece, totalSize: MAX_METADATA_BYTES, data });
    assert.equal(decodeUtMetadata(ok)?.piece, lastPiece);
    const over = encodeUtMetadata({ type: 'data', piece: 0, totalSize: MAX_METADATA_BYTES + 1, data });
    assert.throws(() => decodeUtMetadata(over), badMessage('ut_metadata'));
    assert.deepEqual(decodeUtMetadata(encodeUtMetadata({ type: 'request', piece: lastPiece })), {
      type: 'request',
      piece: lastPiece,
    });
    assert.throws(
      () => decodeUtMetadata(encodeUtMetadata({ type: 'request', piece: lastPiece + 1 })),
      badMessage('ut_metadata'),
    );
  });

  test('an unknown msg_type is ignored; missing or bad fields are bad messages', () => {
    assert.equal(decodeUtMetadata(ascii('d8:msg_typei7e5:piecei0ee')), undefined);
    for (const bad of [
      'd5:piecei0ee',
      'd8:msg_type1:05:piecei0ee',
      'd8:msg_typei0ee',
      'd8:msg_typei0e5:piecei-1ee',
      'd8:msg_typei1e5:piecei0ee',
      'd8:msg_typei1e5:piecei0e10:total_sizei0ee',
      'li0ee',
      'd8:msg_typei0e5:piecei0e',
    ]) {
      assert.throws(() => decodeUtMetadata(ascii(bad)), badMessage('ut_metadata'), bad);
    }
  });
});

describe('BEP 11 ut_pex', () => {
  test('encodes the six fields and decodes them back', () => {
    const msg = {
      added: [
        { host: '1.2.3.4', port: 6881, family: 4 as const, flags: PexFlag.Seed | PexFlag.Reachable },
        { host: '2001:db8::1', port: 51413, family: 6 as const, flags: PexFlag.SupportsUtp },
      ],
      dropped: [{ host: '5.6.7.8', port: 80, family: 4 as const }],
    };
    const bytes = encodeUtPex(msg);
    assert.deepEqual(
      bytes,
      cat(
        ascii('d5:added6:'),
        hex('01020304 1ae1'),
        ascii('7:added.f1:'),
        hex('12'),
        ascii('6:added618:'),
        hex('20010db8000000000000000000000001 c8d5'),
        ascii('8:added6.f1:'),
        hex('04'),
        ascii('7:dropped6:'),
        hex('05060708 0050'),
        ascii('8:dropped60:e'),
      ),
    );
    assert.deepEqual(decodeUtPex(bytes), { ...msg, truncated: false });
  });

  test('missing or short flags read as 0; absent lists are empty', () => {
    const p = cat(
      ascii('d5:added12:'),
      hex('01020304 0001 01020305 0002'),
      ascii('7:added.f1:'),
      hex('02'),
      ascii('e'),
    );
    assert.deepEqual(decodeUtPex(p), {
      added: [
        { host: '1.2.3.4', port: 1, family: 4, flags: 2 },
        { host: '1.2.3.5', port: 2, family: 4, flags: 0 },
      ],
      dropped: [],
      truncated: false,
    });
    assert.deepEqual(decodeUtPex(ascii('de')), { added: [], dropped: [], truncated: false });
  });

  test('MAX_PEX_PEERS_PER_MESSAGE peers per list are kept, the rest ignored', () => {
    const peers = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        host: `10.0.${i >> 8}.${i & 255}`,
        port: 1000 + i,
        family: 4 as const,
      }));
    const at = decodeUtPex(encodeUtPex({ added: [], dropped: peers(MAX_PEX_PEERS_PER_MESSAGE) }));
    assert.equal(at.dropped.length, MAX_PEX_PEERS_PER_MESSAGE);
    assert.equal(at.truncated, false);
    const over = decodeUtPex(
      encodeUtPex({
        added: peers(MAX_PEX_PEERS_PER_MESSAGE + 1).map((p) => ({ ...p, flags: 0 })),
        dropped: [],
      }),
    );
    assert.equal(over.added.length, MAX_PEX_PEERS_PER_MESSAGE);
    assert.equal(over.truncated, true);
  });

  test('ragged compact strings and non-string fields are bad messages', () => {
    for (const bad of [
      cat(ascii('d5:added5:'), hex('0102030400'), ascii('e')),
      cat(ascii('d6:added66:'), hex('010203040001'), ascii('e')),
      ascii('d7:droppedi1ee'),
      ascii('d8:dropped6le1:xe'),
      ascii('le'),
      ascii('d5:added'),
    ]) {
      assert.throws(() => decodeUtPex(bad), badMessage('ut_pex'));
    }
  });
});
