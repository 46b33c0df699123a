import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '../../../src/codec/index.js';
import { base32Encode } from '../../../src/metainfo/base32.js';
import { MagnetError } from '../../../src/metainfo/errors.js';
import {
  buildMagnet,
  decodeMutableTorrentValue,
  encodeMutableTorrentValue,
  formatSelectOnly,
  magnetFromMetainfo,
  parseMagnet,
  parseMutableMagnet,
  parseSelectOnly,
} from '../../../src/metainfo/magnet.js';
import { parseTorrent } from '../../../src/metainfo/parse.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { toHex } from '../../../src/shared/hash.js';
import {
  MAX_DHT_ITEM_SALT_BYTES,
  MAX_MAGNET_LENGTH,
  MAX_MAGNET_SELECT_INDICES,
  MAX_TORRENT_FILES,
} from '../../../src/shared/limits.js';
import { hybridMulti, toBytes } from './torrent-builder.js';

const V1 = '0123456789abcdef0123456789abcdef01234567';
const V2 = 'aa'.repeat(32);

function bad(uri: string, parameter: string, text: string): void {
  assert.throws(
    () => parseMagnet(uri),
    (e: unknown) => {
      assert.ok(e instanceof MagnetError, String(e));
      assert.equal(e.code, ErrorCode.MagnetInvalid);
      assert.equal(e.details.parameter, parameter, e.message);
      assert.ok(e.message.includes(text), `${e.message} lacks ${text}`);
      return true;
    },
  );
}

describe('parseMagnet: accepted forms', () => {
  test('btih hex with name, trackers, web seeds', () => {
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${V1}&dn=My+File%20%C3%A9&tr=http%3A%2F%2Ft1%2Fannounce&tr=udp://t2:80&ws=http://seed/x+y`,
    );
    assert.equal(toHex(m.infoHashV1!), V1);
    assert.equal(m.infoHashV2, undefined);
    assert.equal(m.name, 'My File é');
    assert.deepEqual(m.trackers, ['http://t1/announce', 'udp://t2:80']);
    assert.deepEqual(m.webSeeds, ['http://seed/x+y'], '"+" is only a space in dn');
    assert.deepEqual(m.peers, []);
    assert.equal(m.selectOnly, undefined);
  });

  test('btih in upper-case hex and in base32 (either case)', () => {
    assert.equal(toHex(parseMagnet(`magnet:?xt=urn:btih:${V1.toUpperCase()}`).infoHashV1!), V1);
    const b32 = base32Encode(Buffer.from(V1, 'hex'));
    assert.equal(b32.length, 32);
    assert.equal(toHex(parseMagnet(`magnet:?xt=urn:btih:${b32}`).infoHashV1!), V1);
    assert.equal(toHex(parseMagnet(`MAGNET:?XT=URN:BTIH:${b32.toLowerCase()}`).infoHashV1!), V1);
  });

  test('btmh (v2) alone and together with btih (hybrid), numbered xt keys', () => {
    const v2 = parseMagnet(`magnet:?xt=urn:btmh:1220${V2}`);
    assert.equal(v2.infoHashV1, undefined);
    assert.equal(toHex(v2.infoHashV2!), V2);
    const hybrid = parseMagnet(
      `magnet:?xt.1=urn:btih:${V1}&xt.2=urn:btmh:1220${V2}&tr.1=http://a/&tr.2=http://a/`,
    );
    assert.equal(toHex(hybrid.infoHashV1!), V1);
    assert.equal(toHex(hybrid.infoHashV2!), V2);
    assert.deepEqual(hybrid.trackers, ['http://a/'], 'duplicates removed');
  });

  test('x.pe peers: IPv4, hostname, bracketed IPv6', () => {
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${V1}&x.pe=127.0.0.1:6881&x.pe=peer.example:1&x.pe=%5B::1%5D:65535&x.pe=[2001:db8::1]:80&x.pe=127.0.0.1:6881`,
    );
    assert.deepEqual(m.peers, [
      { host: '127.0.0.1', port: 6881 },
      { host: 'peer.example', port: 1 },
      { host: '::1', port: 65535 },
      { host: '2001:db8::1', port: 80 },
    ]);
  });

  test('so (BEP 53): indices and inclusive ranges, sorted and distinct, across repeats', () => {
    assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${V1}&so=0,2,4-6`).selectOnly, [0, 2, 4, 5, 6]);
    assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${V1}&so=6-8,1&so=7,0`).selectOnly, [0, 1, 6, 7, 8]);
    assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${V1}&so=3-3`).selectOnly, [3]);
  });

  test('unknown parameters and other xt namespaces are ignored; empty values dropped', () => {
    const m = parseMagnet(
      `  magnet:?xt=urn:ed2k:abc&xt=urn:btih:${V1}&xl=10&kt=a+b&&noequals&tr=&dn=&as=http://x/  `,
    );
    assert.equal(toHex(m.infoHashV1!), V1);
    assert.deepEqual(m.trackers, []);
    assert.equal(m.name, undefined);
  });

  test('the same btih twice is fine', () => {
    const b32 = base32Encode(Buffer.from(V1, 'hex'));
    assert.equal(toHex(parseMagnet(`magnet:?xt=urn:btih:${V1}&xt=urn:btih:${b32}`).infoHashV1!), V1);
  });
});

describe('parseMagnet: rejections', () => {
  test('not a magnet', () => {
    bad('http://example.com/?xt=urn:btih:' + V1, 'uri', 'not a magnet');
    bad('magnet:xt=urn:btih:' + V1, 'uri', 'not a magnet');
    bad('', 'uri', 'not a magnet');
  });

  test(`longer than MAX_MAGNET_LENGTH`, () => {
    const base = `magnet:?xt=urn:btih:${V1}&dn=`;
    bad(base + 'a'.repeat(MAX_MAGNET_LENGTH - base.length + 1), 'uri', String(MAX_MAGNET_LENGTH));
    assert.equal(
      parseMagnet(base + 'a'.repeat(MAX_MAGNET_LENGTH - base.length)).name?.length,
      MAX_MAGNET_LENGTH - base.length,
    );
  });

  test('no usable xt', () => {
    bad('magnet:?dn=x', 'xt', 'no urn:btih');
    bad('magnet:?xt=urn:sha1:abc', 'xt', 'no urn:btih');
  });

  test('wrong hash lengths and alphabets', () => {
    bad(`magnet:?xt=urn:btih:${V1.slice(1)}`, 'xt', '39 characters');
    bad(`magnet:?xt=urn:btih:${V1}00`, 'xt', '42 characters');
    bad(`magnet:?xt=urn:btih:${'g'.repeat(40)}`, 'xt', 'not hex');
    bad(`magnet:?xt=urn:btih:${'1'.repeat(32)}`, 'xt', 'not valid base32');
    bad(`magnet:?xt=urn:btih:${'A'.repeat(31)}=`, 'xt', 'not valid base32'); // padded: only 19 bytes
    bad(`magnet:?xt=urn:btmh:1114${V2}`, 'xt', 'not sha2-256');
    bad(`magnet:?xt=urn:btmh:1220${V2}aa`, 'xt', '66 hex characters');
    bad(`magnet:?xt=urn:btmh:1220${'z'.repeat(64)}`, 'xt', 'not hex');
  });

  test('two different hashes of one kind', () => {
    bad(`magnet:?xt=urn:btih:${V1}&xt=urn:btih:${'f'.repeat(40)}`, 'xt', 'two different urn:btih');
    bad(`magnet:?xt=urn:btmh:1220${V2}&xt=urn:btmh:1220${'b'.repeat(64)}`, 'xt', 'two different urn:btmh');
  });

  test('bad percent-encoding or UTF-8', () => {
    bad(`magnet:?xt=urn:btih:${V1}&dn=%E0%A4%A`, 'dn', 'percent-encoding');
    bad(`magnet:?xt=urn:btih:${V1}&tr=%FF`, 'tr', 'percent-encoding');
    bad(`magnet:?xt=urn:btih:%ZZ`, 'xt', 'percent-encoding');
  });

  test('bad x.pe peers', () => {
    const x = `magnet:?xt=urn:btih:${V1}&x.pe=`;
    bad(`${x}127.0.0.1`, 'x.pe', 'no port');
    bad(`${x}127.0.0.1:0`, 'x.pe', 'outside 1–65535');
    bad(`${x}127.0.0.1:65536`, 'x.pe', 'outside 1–65535');
    bad(`${x}127.0.0.1:http`, 'x.pe', 'not a number');
    bad(`${x}127.0.0.1:-1`, 'x.pe', 'not a number');
    bad(`${x}127.0.0.1:`, 'x.pe', 'not a number');
    bad(`${x}::1:80`, 'x.pe', 'needs brackets');
    bad(`${x}[::1]`, 'x.pe', 'no port');
    bad(`${x}[::1:80`, 'x.pe', 'no closing');
    bad(`${x}[nothost]:80`, 'x.pe', 'invalid IPv6');
    bad(`${x}:80`, 'x.pe', 'invalid host');
    bad(`${x}a%20b:80`, 'x.pe', 'invalid host');
  });

  test('bad so ranges', () => {
    const s = `magnet:?xt=urn:btih:${V1}&so=`;
    bad(`${s}`, 'so', 'empty');
    bad(`${s}1,,2`, 'so', 'not a number');
    bad(`${s}5-3`, 'so', 'runs backwards');
    bad(`${s}a`, 'so', 'not a number');
    bad(`${s}1-`, 'so', 'not a number');
    bad(`${s}-1`, 'so', 'not a number');
    bad(`${s}1-2-3`, 'so', 'not a number');
    bad(`${s}${MAX_TORRENT_FILES}`, 'so', 'beyond');
    bad(`${s}0-${MAX_MAGNET_SELECT_INDICES}`, 'so', `more than ${MAX_MAGNET_SELECT_INDICES}`);
    assert.equal(
      parseMagnet(`${s}0-${MAX_MAGNET_SELECT_INDICES - 1}`).selectOnly?.length,
      MAX_MAGNET_SELECT_INDICES,
    );
  });

  test('the so bound holds across repeated so parameters', () => {
    const half = MAX_MAGNET_SELECT_INDICES / 2;
    const uri = `magnet:?xt=urn:btih:${V1}&so=0-${half - 1}&so=0-${half - 1}&so=0`;
    bad(uri, 'so', `more than ${MAX_MAGNET_SELECT_INDICES}`);
  });
});

describe('buildMagnet', () => {
  test('emits btih hex, btmh, dn, tr, ws, x.pe and so', () => {
    const uri = buildMagnet({
      infoHashV1: Buffer.from(V1, 'hex'),
      infoHashV2: Buffer.from(V2, 'hex'),
      name: 'a b&c',
      trackers: ['http://t/a?x=1&y=2'],
      webSeeds: ['http://ws/'],
      peers: [
        { host: '127.0.0.1', port: 1 },
        { host: '::1', port: 2 },
      ],
      selectOnly: [5, 0, 1, 2],
    });
    assert.equal(
      uri,
      `magnet:?xt=urn:btih:${V1}&xt=urn:btmh:1220${V2}&dn=a%20b%26c&tr=http%3A%2F%2Ft%2Fa%3Fx%3D1%26y%3D2` +
        `&ws=http%3A%2F%2Fws%2F&x.pe=127.0.0.1:1&x.pe=[::1]:2&so=0-2,5`,
    );
    const back = parseMagnet(uri);
    assert.equal(back.name, 'a b&c');
    assert.deepEqual(back.trackers, ['http://t/a?x=1&y=2']);
    assert.deepEqual(back.selectOnly, [0, 1, 2, 5]);
  });

  test('rejects links it could not parse back', () => {
    const throwsParam = (fn: () => unknown, parameter: string) =>
      assert.throws(fn, (e: unknown) => e instanceof MagnetError && e.details.parameter === parameter);
    throwsParam(() => buildMagnet({ trackers: [], webSeeds: [], peers: [] }), 'xt');
    throwsParam(
      () => buildMagnet({ infoHashV1: new Uint8Array(19), trackers: [], webSeeds: [], peers: [] }),
      'xt',
    );
    throwsParam(
      () => buildMagnet({ infoHashV2: new Uint8Array(20), trackers: [], webSeeds: [], peers: [] }),
      'xt',
    );
    const h = { infoHashV1: new Uint8Array(20), trackers: [], webSeeds: [] };
    throwsParam(() => buildMagnet({ ...h, peers: [{ host: 'bad host', port: 1 }] }), 'x.pe');
    throwsParam(() => buildMagnet({ ...h, peers: [{ host: 'a', port: 70000 }] }), 'x.pe');
    throwsParam(() => buildMagnet({ ...h, peers: [], name: '\ud800' }), 'dn');
    throwsParam(() => buildMagnet({ ...h, peers: [], selectOnly: [-1] }), 'so');
    throwsParam(() => buildMagnet({ ...h, peers: [], name: 'x'.repeat(MAX_MAGNET_LENGTH) }), 'uri');
  });

  test('formatSelectOnly folds runs and parseSelectOnly expands them', () => {
    assert.equal(formatSelectOnly([9, 1, 2, 3, 7, 3]), '1-3,7,9');
    assert.deepEqual(parseSelectOnly('1-3,7,9'), [1, 2, 3, 7, 9]);
    assert.equal(formatSelectOnly([]), '');
  });
});

describe('magnetFromMetainfo', () => {
  test('carries both hashes, the name, flattened trackers and web seeds, and parses back', () => {
    const t = hybridMulti();
    t.outer['announce-list'] = [
      ['http://a/', 'http://b/'],
      ['http://a/', 'udp://c:1'],
    ];
    t.outer['url-list'] = ['http://seed/'];
    const m = parseTorrent(toBytes(t));
    const link = magnetFromMetainfo(m);
    assert.deepEqual(link.infoHashV1, m.infoHashV1);
    assert.deepEqual(link.infoHashV2, m.infoHashV2);
    assert.equal(link.name, 'shoal-test');
    assert.deepEqual(link.trackers, ['http://a/', 'http://b/', 'udp://c:1']);
    assert.deepEqual(link.webSeeds, ['http://seed/']);
    assert.deepEqual(parseMagnet(buildMagnet(link)), link);
  });
});

describe('BEP 46 mutable torrent magnets', () => {
  // The public key of BEP 46's test vectors.
  const KEY = '8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e';
  const mutableBad = (uri: string, parameter: string, text: string) => {
    assert.throws(
      () => parseMutableMagnet(uri),
      (e: unknown) => {
        assert.ok(e instanceof MagnetError, String(e));
        assert.equal(e.details.parameter, parameter, e.message);
        assert.ok(e.message.includes(text), `${e.message} lacks ${text}`);
        return true;
      },
    );
  };

  test('xs=urn:btpk with and without a salt, no xt needed', () => {
    const m = parseMutableMagnet(`magnet:?xs=urn:btpk:${KEY}&s=6e`);
    assert.equal(toHex(m.publicKey), KEY);
    assert.equal(toHex(m.salt), '6e');
    assert.equal(m.infoHashV1, undefined);
    const plain = parseMutableMagnet(`magnet:?xs=urn:btpk:${KEY.toUpperCase()}&dn=feed`);
    assert.equal(toHex(plain.publicKey), KEY);
    assert.equal(plain.salt.length, 0);
    assert.equal(plain.name, 'feed');
  });

  test('parseMagnet needs an info-hash, and keeps a BEP 46 key beside one', () => {
    bad(`magnet:?xs=urn:btpk:${KEY}`, 'xt', 'parseMutableMagnet');
    const both = parseMagnet(`magnet:?xt=urn:btih:${V1}&xs=urn:btpk:${KEY}&s=6e`);
    assert.equal(toHex(both.infoHashV1!), V1);
    assert.equal(toHex(both.publicKey!), KEY);
    assert.equal(toHex(both.salt!), '6e');
    mutableBad(`magnet:?xt=urn:btih:${V1}`, 'xs', 'no xs=urn:btpk');
  });

  test('other xs sources are ignored', () => {
    const m = parseMagnet(`magnet:?xt=urn:btih:${V1}&xs=http%3A%2F%2Fexample.com%2Fa.torrent`);
    assert.equal(m.publicKey, undefined);
  });

  test('rejections: key size and alphabet, salt size and alphabet, two keys or salts', () => {
    mutableBad(`magnet:?xs=urn:btpk:${KEY.slice(2)}`, 'xs', '64 hex digits');
    mutableBad(`magnet:?xs=urn:btpk:${KEY.slice(2)}zz`, 'xs', '64 hex digits');
    mutableBad(`magnet:?xs=urn:btpk:${KEY}&xs=urn:btpk:${'00'.repeat(32)}`, 'xs', 'two different');
    mutableBad(`magnet:?xs=urn:btpk:${KEY}&s=6`, 's', 'not hex');
    mutableBad(
      `magnet:?xs=urn:btpk:${KEY}&s=${'ab'.repeat(MAX_DHT_ITEM_SALT_BYTES + 1)}`,
      's',
      'longer than 64',
    );
    parseMutableMagnet(`magnet:?xs=urn:btpk:${KEY}&s=${'ab'.repeat(MAX_DHT_ITEM_SALT_BYTES)}`);
    mutableBad(`magnet:?xs=urn:btpk:${KEY}&s=6e&s=6f`, 's', 'two different salts');
    // Without a BEP 46 key, `s` is just an unknown parameter.
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${V1}&s=not-hex`).salt, undefined);
  });

  test('buildMagnet writes xs and s, and they parse back', () => {
    const key = fromHexStrict(KEY);
    const uri = buildMagnet({
      publicKey: key,
      salt: Uint8Array.of(0x6e),
      trackers: [],
      webSeeds: [],
      peers: [],
    });
    assert.equal(uri, `magnet:?xs=urn:btpk:${KEY}&s=6e`);
    const back = parseMutableMagnet(uri);
    assert.deepEqual([toHex(back.publicKey), toHex(back.salt)], [KEY, '6e']);
    const noSalt = buildMagnet({
      publicKey: key,
      salt: new Uint8Array(0),
      name: 'x',
      trackers: [],
      webSeeds: [],
      peers: [],
    });
    assert.equal(noSalt, `magnet:?xs=urn:btpk:${KEY}&dn=x`);
    const withHash = buildMagnet({
      infoHashV1: fromHexStrict(V1),
      publicKey: key,
      trackers: [],
      webSeeds: [],
      peers: [],
    });
    assert.equal(toHex(parseMagnet(withHash).publicKey!), KEY);
  });

  test('buildMagnet rejects a bad key, a long salt, a salt without a key, no hash and no key', () => {
    const base = { trackers: [], webSeeds: [], peers: [] };
    const rejects = (link: Parameters<typeof buildMagnet>[0], parameter: string) =>
      assert.throws(
        () => buildMagnet(link),
        (e: unknown) => e instanceof MagnetError && e.details.parameter === parameter,
      );
    rejects({ ...base, publicKey: new Uint8Array(31) }, 'xs');
    rejects(
      { ...base, publicKey: new Uint8Array(32), salt: new Uint8Array(MAX_DHT_ITEM_SALT_BYTES + 1) },
      's',
    );
    rejects({ ...base, infoHashV1: fromHexStrict(V1), salt: Uint8Array.of(1) }, 's');
    rejects(base, 'xt');
  });

  test('the item value {ih}: 20- and 32-byte info-hashes both ways; anything else is refused', () => {
    const v1 = fromHexStrict(V1);
    const v2 = fromHexStrict(V2);
    assert.equal(
      Buffer.from(encodeMutableTorrentValue(v1)).toString('latin1'),
      `d2:ih20:${Buffer.from(v1).toString('latin1')}e`,
    );
    assert.deepEqual(decodeMutableTorrentValue(encodeMutableTorrentValue(v1)), v1);
    assert.deepEqual(decodeMutableTorrentValue(encodeMutableTorrentValue(v2)), v2);
    assert.deepEqual(decodeMutableTorrentValue(encode({ ih: v1, note: 'extra keys are ignored' })), v1);
    const refused = (value: Uint8Array) =>
      assert.throws(
        () => decodeMutableTorrentValue(value),
        (e: unknown) => e instanceof MagnetError && e.details.parameter === 'ih',
      );
    refused(encode({ ih: new Uint8Array(21) }));
    refused(encode({ other: v1 }));
    refused(encode([v1]));
    refused(encode(v1));
    refused(new TextEncoder().encode('d2:ih20:'));
    refused(new Uint8Array(1001));
    assert.throws(() => encodeMutableTorrentValue(new Uint8Array(16)), MagnetError);
  });
});

function fromHexStrict(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
