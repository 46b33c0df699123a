import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encode } from '../../../src/codec/index.js';
import {
  buildAnnounceUrl,
  buildScrapeUrl,
  decodeHttpAnnounceResponse,
  decodeHttpScrapeResponse,
  decodeTrackerPeers,
  encodeHttpAnnounceReply,
  encodeHttpFailure,
  encodeHttpScrapeReply,
  encodeTrackerPeers,
  formatIpv6,
  parseHttpAnnounceQuery,
  parseHttpScrapeQuery,
  parseHttpTarget,
  parseIpAddress,
  parseIpv4,
  parseIpv6,
  percentEncodeBytes,
  scrapeUrlFromAnnounce,
  TrackerError,
  type TrackerPeer,
} from '../../../src/discovery/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import {
  MAX_TRACKER_PEERS_PER_RESPONSE,
  TRACKER_MAX_QUERY_BYTES,
  TRACKER_MAX_QUERY_PARAMS,
  TRACKER_MAX_SCRAPE_HASHES,
} from '../../../src/shared/limits.js';

const URL0 = 'http://t.example/announce';
const bytes = (...xs: number[]) => Uint8Array.from(xs);
const text = (s: string) => new TextEncoder().encode(s);

function throwsCode(fn: () => unknown, code: string, reason?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TrackerError, `expected TrackerError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (reason !== undefined) assert.match(e.details.failureReason ?? '', reason);
    return true;
  });
}

describe('IP addresses', () => {
  test('IPv4 text', () => {
    assert.equal(parseIpv4('192.0.2.1'), 0xc0000201);
    assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', '', 'a.b.c.d', '1.2.3.4 ']) {
      assert.equal(parseIpv4(bad), undefined, bad);
    }
  });

  test('IPv6 text round trips in RFC 5952 form', () => {
    const cases: [string, string][] = [
      ['::1', '::1'],
      ['::', '::'],
      ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
      ['2001:DB8::1', '2001:db8::1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
      ['2001:db8::1:2', '2001:db8::1:2'],
    ];
    for (const [input, want] of cases) {
      const b = parseIpv6(input);
      assert.ok(b, input);
      assert.equal(formatIpv6(b), want, input);
    }
    for (const bad of [
      '1::2::3',
      ':::',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      'g::1',
      '2001:db8::1%eth0',
      '1:2:3:4:5:6:7',
    ]) {
      assert.equal(parseIpv6(bad), undefined, bad);
    }
  });

  test('IPv4-mapped IPv6 is IPv4', () => {
    assert.deepEqual(parseIpAddress('::ffff:127.0.0.1'), { family: 4, bytes: bytes(127, 0, 0, 1) });
    assert.equal(parseIpAddress('[::1]')?.family, 6);
    assert.equal(parseIpAddress('example.com'), undefined);
  });
});

describe('compact peers (BEP 23, BEP 7)', () => {
  test('IPv4: 4 address bytes then a big-endian port', () => {
    const out: TrackerPeer[] = [];
    // 192.0.2.1:6881, 198.51.100.2:80, then port 0 (skipped) and a 3-byte tail (ignored).
    const raw = bytes(192, 0, 2, 1, 0x1a, 0xe1, 198, 51, 100, 2, 0, 80, 1, 1, 1, 1, 0, 0, 9, 9, 9);
    assert.equal(decodeTrackerPeers(raw, 4, out, 10), 0);
    assert.deepEqual(out, [
      { host: '192.0.2.1', port: 6881, family: 4 },
      { host: '198.51.100.2', port: 80, family: 4 },
    ]);
    assert.deepEqual(encodeTrackerPeers(out, 4), raw.subarray(0, 12));
  });

  test('IPv6: 16 address bytes then a big-endian port', () => {
    const raw = new Uint8Array(18);
    raw.set(parseIpv6('2001:db8::7')!, 0);
    raw[16] = 0x1a;
    raw[17] = 0xe1;
    const out: TrackerPeer[] = [];
    decodeTrackerPeers(raw, 6, out, 10);
    assert.deepEqual(out, [{ host: '2001:db8::7', port: 6881, family: 6 }]);
    assert.deepEqual(encodeTrackerPeers(out, 6), raw);
  });

  test('the peer bound stops decoding and counts what was left', () => {
    const raw = new Uint8Array(6 * 5).fill(1);
    const out: TrackerPeer[] = [];
    assert.equal(decodeTrackerPeers(raw, 4, out, 3), 2);
    assert.equal(out.length, 3);
  });
});

describe('HTTP announce request (BEP 3)', () => {
  const req = {
    infoHash: Uint8Array.from({ length: 20 }, (_, i) => i * 13),
    peerId: text('-SH0010-abcdefghijkl'),
    port: 6881,
    uploaded: 1,
    downloaded: 2,
    left: 3,
    event: 'started' as const,
    numwant: 50,
    key: 0xbeef,
  };

  test('raw bytes are percent-encoded byte by byte, unreserved characters stay literal', () => {
    assert.equal(
      percentEncodeBytes(bytes(0x00, 0x41, 0x7e, 0x20, 0xff, 0x2d, 0x2e, 0x5f, 0x2b)),
      '%00A~%20%FF-._%2B',
    );
  });

  test('the query carries every field; an existing query is kept', () => {
    const u = buildAnnounceUrl('http://t.example/announce?passkey=abc', req);
    const q = new URL(u).searchParams;
    assert.equal(q.get('passkey'), 'abc');
    assert.equal(q.get('port'), '6881');
    assert.equal(q.get('uploaded'), '1');
    assert.equal(q.get('downloaded'), '2');
    assert.equal(q.get('left'), '3');
    assert.equal(q.get('compact'), '1');
    assert.equal(q.get('event'), 'started');
    assert.equal(q.get('numwant'), '50');
    assert.equal(q.get('key'), '0000beef');
    assert.equal(q.get('peer_id'), '-SH0010-abcdefghijkl');
    assert.ok(u.includes(`info_hash=${percentEncodeBytes(req.infoHash)}&`));
    // The server-side parser reads back the exact bytes.
    const parsed = parseHttpAnnounceQuery(parseHttpTarget(u.slice(u.indexOf('/announce'))));
    assert.deepEqual(parsed.infoHash, req.infoHash);
    assert.deepEqual(parsed.peerId, req.peerId);
    assert.equal(parsed.event, 'started');
  });

  test('event none sends no event parameter', () => {
    assert.ok(!buildAnnounceUrl(URL0, { ...req, event: 'none' }).includes('event='));
  });

  test('wrong sizes are refused before sending', () => {
    throwsCode(
      () => buildAnnounceUrl(URL0, { ...req, infoHash: new Uint8Array(19) }),
      ErrorCode.TrackerRequest,
    );
    throwsCode(() => buildAnnounceUrl(URL0, { ...req, left: -1 }), ErrorCode.TrackerRequest);
  });

  test('scrape URL (BEP 48 examples)', () => {
    const cases: [string, string | undefined][] = [
      ['http://example.com/announce', 'http://example.com/scrape'],
      ['http://example.com/x/announce', 'http://example.com/x/scrape'],
      ['http://example.com/announce.php', 'http://example.com/scrape.php'],
      ['http://example.com/a', undefined],
      ['http://example.com/announce?x2%0644', 'http://example.com/scrape?x2%0644'],
      ['http://example.com/announce?x=2/4', 'http://example.com/scrape?x=2/4'],
      ['http://example.com/x%064announce', undefined],
    ];
    for (const [a, s] of cases) assert.equal(scrapeUrlFromAnnounce(a), s, a);
    assert.equal(
      buildScrapeUrl('http://e/scrape', [bytes(...new Array(20).fill(0xaa))]),
      `http://e/scrape?info_hash=${'%AA'.repeat(20)}`,
    );
  });
});

describe('HTTP announce reply (untrusted)', () => {
  test('a full reply: interval, min interval, tracker id, counts, compact peers and peers6', () => {
    const p6 = new Uint8Array(18);
    p6.set(parseIpv6('::1')!);
    p6[17] = 7;
    const body = encode({
      interval: 900,
      'min interval': 60,
      'tracker id': 'tid',
      complete: 3,
      incomplete: 4,
      'warning message': 'be nice',
      peers: bytes(127, 0, 0, 1, 0, 5),
      peers6: p6,
    });
    const r = decodeHttpAnnounceResponse(body, URL0);
    assert.equal(r.interval, 900);
    assert.equal(r.minInterval, 60);
    assert.deepEqual(r.trackerId, text('tid'));
    assert.equal(r.complete, 3);
    assert.equal(r.incomplete, 4);
    assert.equal(r.warning, 'be nice');
    assert.deepEqual(r.peers, [
      { host: '127.0.0.1', port: 5, family: 4 },
      { host: '::1', port: 7, family: 6 },
    ]);
  });

  test('non-compact (dictionary) peers; host names and bad ports are skipped', () => {
    const body = encode({
      interval: 10,
      peers: [
        { ip: '198.51.100.3', port: 6881, 'peer id': 'A'.repeat(20) },
        { ip: '2001:DB8::1', port: 1 },
        { ip: 'tracker-chosen.example', port: 2 },
        { ip: '203.0.113.9', port: 0 },
        { ip: '203.0.113.9', port: 70000 },
        'junk',
      ],
    });
    const r = decodeHttpAnnounceResponse(body, URL0);
    assert.deepEqual(r.peers, [
      { host: '198.51.100.3', port: 6881, family: 4, peerId: text('A'.repeat(20)) },
      { host: '2001:db8::1', port: 1, family: 6 },
    ]);
  });

  test('failure reason is TrackerFailure with the text', () => {
    throwsCode(
      () => decodeHttpAnnounceResponse(encodeHttpFailure('go away'), URL0),
      ErrorCode.TrackerFailure,
      /^go away$/,
    );
  });

  test('garbage, non-dictionaries and ill-typed fields are TrackerBadResponse', () => {
    for (const body of [
      text('<html>502</html>'),
      text('i42e'),
      text('d8:intervali'),
      encode({ interval: -5 }),
    ]) {
      throwsCode(() => decodeHttpAnnounceResponse(body, URL0), ErrorCode.TrackerBadResponse);
    }
    throwsCode(() => decodeHttpAnnounceResponse(encode({ peers: 5 }), URL0), ErrorCode.TrackerBadResponse);
  });

  test(`at most MAX_TRACKER_PEERS_PER_RESPONSE (${MAX_TRACKER_PEERS_PER_RESPONSE}) peers are taken`, () => {
    const n = MAX_TRACKER_PEERS_PER_RESPONSE + 1;
    const raw = new Uint8Array(6 * n).fill(7);
    const r = decodeHttpAnnounceResponse(encode({ interval: 1, peers: raw }), URL0);
    assert.equal(r.peers.length, MAX_TRACKER_PEERS_PER_RESPONSE);
  });

  test('scrape reply', () => {
    const h = new Uint8Array(20).fill(3);
    const body = encodeHttpScrapeReply([{ infoHash: h, complete: 1, downloaded: 2, incomplete: 3 }]);
    assert.deepEqual(decodeHttpScrapeResponse(body, URL0), [
      { infoHash: h, complete: 1, downloaded: 2, incomplete: 3 },
    ]);
    throwsCode(() => decodeHttpScrapeResponse(encode({ x: 1 }), URL0), ErrorCode.TrackerBadResponse);
  });

  test('property: any bytes decode to a reply or a TrackerError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        for (const f of [decodeHttpAnnounceResponse, decodeHttpScrapeResponse]) {
          try {
            f(b, URL0);
          } catch (e) {
            if (!(e instanceof TrackerError)) throw e;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('HTTP announce query (server side, untrusted)', () => {
  const ih = '%AA'.repeat(20);
  const pid = 'B'.repeat(20);
  const ok = `/announce?info_hash=${ih}&peer_id=${pid}&port=6881&uploaded=0&downloaded=0&left=10`;
  const parse = (t: string) => parseHttpAnnounceQuery(parseHttpTarget(t));

  test('a valid announce', () => {
    const q = parse(`${ok}&event=completed&numwant=7&compact=0&no_peer_id=1`);
    assert.deepEqual(q.infoHash, new Uint8Array(20).fill(0xaa));
    assert.equal(q.port, 6881);
    assert.equal(q.left, 10);
    assert.equal(q.event, 'completed');
    assert.equal(q.numwant, 7);
    assert.equal(q.compact, false);
    assert.equal(q.noPeerId, true);
  });

  test('malformed queries get a failure reason', () => {
    const cases: [string, RegExp][] = [
      [`/announce?peer_id=${pid}&port=1`, /missing info_hash/],
      [`/announce?info_hash=${'%AA'.repeat(19)}&peer_id=${pid}&port=1`, /info_hash/],
      [`/announce?info_hash=${ih}&port=1`, /missing peer_id/],
      [`/announce?info_hash=${ih}&peer_id=short&port=1`, /peer_id/],
      [`/announce?info_hash=${ih}&peer_id=${pid}`, /missing port/],
      [`/announce?info_hash=${ih}&peer_id=${pid}&port=http`, /invalid port/],
      [`/announce?info_hash=${ih}&peer_id=${pid}&port=70000`, /invalid port/],
      [`/announce?info_hash=${ih}&peer_id=${pid}&port=0`, /invalid port/],
      [`/announce?info_hash=${ih}&peer_id=${pid}&port=-1`, /invalid port/],
      [`/announce?info_hash=${ih}&peer_id=${pid}&port=1&left=ten`, /invalid left/],
      [`${ok}&event=exploded`, /invalid event/],
      [`/announce?info_hash=%G1${ih.slice(3)}&peer_id=${pid}&port=1`, /percent/],
      [`/announce?info_hash=${ih}%`, /percent/],
    ];
    for (const [t, reason] of cases) throwsCode(() => parse(t), ErrorCode.TrackerBadRequest, reason);
  });

  test(`more than TRACKER_MAX_QUERY_PARAMS (${TRACKER_MAX_QUERY_PARAMS}) parameters are refused`, () => {
    const atLimit = `/announce?${Array.from({ length: TRACKER_MAX_QUERY_PARAMS }, (_, i) => `p${i}=1`).join('&')}`;
    assert.equal(parseHttpTarget(atLimit).params.size, TRACKER_MAX_QUERY_PARAMS);
    throwsCode(() => parseHttpTarget(`${atLimit}&one=more`), ErrorCode.TrackerBadRequest, /too many/);
  });

  test(`a target longer than TRACKER_MAX_QUERY_BYTES (${TRACKER_MAX_QUERY_BYTES}) is refused`, () => {
    const base = '/announce?x=';
    assert.ok(parseHttpTarget(base + 'a'.repeat(TRACKER_MAX_QUERY_BYTES - base.length)));
    throwsCode(
      () => parseHttpTarget(base + 'a'.repeat(TRACKER_MAX_QUERY_BYTES - base.length + 1)),
      ErrorCode.TrackerBadRequest,
      /too long/,
    );
  });

  test(`scrape: 1..TRACKER_MAX_SCRAPE_HASHES (${TRACKER_MAX_SCRAPE_HASHES}) hashes of 20 bytes`, () => {
    const one = `info_hash=${ih}`;
    const many = (n: number) => `/scrape?${new Array(n).fill(one).join('&')}`;
    assert.equal(
      parseHttpScrapeQuery(parseHttpTarget(many(TRACKER_MAX_SCRAPE_HASHES))).length,
      TRACKER_MAX_SCRAPE_HASHES,
    );
    throwsCode(
      () => parseHttpScrapeQuery(parseHttpTarget(many(TRACKER_MAX_SCRAPE_HASHES + 1))),
      ErrorCode.TrackerBadRequest,
    );
    throwsCode(
      () => parseHttpScrapeQuery(parseHttpTarget('/scrape')),
      ErrorCode.TrackerBadRequest,
      /full scrape/,
    );
    throwsCode(
      () => parseHttpScrapeQuery(parseHttpTarget('/scrape?info_hash=abc')),
      ErrorCode.TrackerBadRequest,
    );
  });

  test('property: any target parses or fails with TrackerBadRequest', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        try {
          parseHttpAnnounceQuery(parseHttpTarget(`/announce?${s}`));
        } catch (e) {
          if (!isShoalError(e, ErrorCode.TrackerBadRequest)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('server replies decode with the client decoder', () => {
    const r = decodeHttpAnnounceResponse(
      encodeHttpAnnounceReply({
        interval: 60,
        minInterval: 30,
        complete: 1,
        incomplete: 2,
        peerList: [{ host: '1.2.3.4', port: 5, family: 4, peerId: text('C'.repeat(20)) }],
      }),
      URL0,
    );
    assert.deepEqual(r.peers, [{ host: '1.2.3.4', port: 5, family: 4, peerId: text('C'.repeat(20)) }]);
    assert.equal(r.minInterval, 30);
  });
});
