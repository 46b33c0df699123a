import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { asBytes, asDict, asInt, asList, decode } from '../../../src/codec/index.js';
import {
  decodeHttpAnnounceResponse,
  percentEncodeBytes,
  TrackerError,
} from '../../../src/discovery/index.js';
import { handleHttpRequest, TrackerCore } from '../../../src/tracker/index.js';

const IH = new Uint8Array(20).fill(0x33);
const ih = percentEncodeBytes(IH);
const pid = (n: number) => `-XX0000-${String(n).padStart(12, '0')}`;
const q = (port: number, extra = '') =>
  `/announce?info_hash=${ih}&peer_id=${pid(port)}&port=${port}&uploaded=0&downloaded=0&left=9${extra}`;

function setup(opts: ConstructorParameters<typeof TrackerCore>[0] = {}) {
  const core = new TrackerCore({ clock: () => 0, intervalS: 300, ...opts });
  const get = (target: string, from = '127.0.0.1', method = 'GET') =>
    handleHttpRequest(core, method, target, from);
  return { core, get };
}

function failure(body: Uint8Array): string {
  try {
    decodeHttpAnnounceResponse(body, 'x');
  } catch (e) {
    if (e instanceof TrackerError && e.details.failureReason !== undefined) return e.details.failureReason;
  }
  assert.fail(`not a failure reply: ${Buffer.from(body).toString('latin1')}`);
}

describe('HTTP tracker handler', () => {
  test('announce: compact peers, counts, interval and min interval', () => {
    const { get } = setup();
    get(q(1001));
    const r = get(q(1002), '127.0.0.2');
    assert.equal(r.status, 200);
    const d = decodeHttpAnnounceResponse(r.body, 'x');
    assert.equal(d.interval, 300);
    assert.equal(d.minInterval, 150);
    assert.equal(d.incomplete, 2);
    assert.deepEqual(d.peers, [{ host: '127.0.0.1', port: 1001, family: 4 }]);
  });

  test('non-compact replies carry peer ids unless no_peer_id=1', () => {
    const { get } = setup();
    get(q(1001));
    const withIds = asDict(decode(get(q(1002), '127.0.0.2', 'GET').body, { mode: 'lenient' }));
    assert.ok(withIds);
    const compactList = withIds.get('peers');
    assert.ok(compactList instanceof Uint8Array, 'compact by default');
    const full = asDict(decode(get(q(1003, '&compact=0')).body));
    const peers = asList(full?.get('peers'));
    assert.ok(peers && peers.length === 2);
    const first = asDict(peers[0]);
    assert.ok(first);
    assert.equal(
      Buffer.from(asBytes(first.get('peer id'))!)
        .toString()
        .startsWith('-XX0000-'),
      true,
    );
    assert.ok(asInt(first.get('port')));
    const noIds = asList(asDict(decode(get(q(1004, '&compact=0&no_peer_id=1')).body))?.get('peers'));
    assert.ok(noIds?.every((p) => asDict(p)?.get('peer id') === undefined));
  });

  test('IPv6 clients are served peers6 (BEP 7), and IPv4 peers in peers', () => {
    const { get } = setup();
    get(q(1001), '::1');
    get(q(1002), '192.0.2.1');
    const d = decodeHttpAnnounceResponse(get(q(1003), '2001:db8::5').body, 'x');
    assert.deepEqual(d.peers.map((p) => `${p.family}/${p.host}/${p.port}`).sort(), [
      '4/192.0.2.1/1002',
      '6/::1/1001',
    ]);
  });

  test('malformed announces get a failure reason and change nothing', () => {
    const { get, core } = setup();
    const cases: [string, RegExp][] = [
      [`/announce?peer_id=${pid(1)}&port=1`, /missing info_hash/],
      [`/announce?info_hash=abc&peer_id=${pid(1)}&port=1`, /info_hash/],
      [`/announce?info_hash=${ih}&peer_id=${pid(1)}&port=abc`, /invalid port/],
      [`/announce?info_hash=${ih}&peer_id=${pid(1)}&port=99999`, /invalid port/],
      [`/announce?info_hash=${ih}&peer_id=x&port=1`, /peer_id/],
      [`/announce?info_hash=${ih}%Z`, /percent/],
      ['/announce', /missing info_hash/],
      [`/announce?${'a=1&'.repeat(200)}`, /too many/],
      [`/announce?x=${'y'.repeat(10_000)}`, /too long/],
    ];
    for (const [t, reason] of cases) {
      const r = get(t);
      assert.equal(r.status, 200);
      assert.match(failure(r.body), reason, t.slice(0, 60));
    }
    assert.equal(core.state.totals().peers, 0);
    assert.equal(core.counters.httpFailures, cases.length);
  });

  test('a private tracker refuses other torrents; its scrape shows only whitelisted ones', () => {
    const other = new Uint8Array(20).fill(1);
    const { get } = setup({ whitelist: [IH] });
    assert.doesNotThrow(() => decodeHttpAnnounceResponse(get(q(1)).body, 'x'));
    const r = get(`/announce?info_hash=${percentEncodeBytes(other)}&peer_id=${pid(1)}&port=1`);
    assert.match(failure(r.body), /whitelist/);
    const s = asDict(
      asDict(decode(get(`/scrape?info_hash=${ih}&info_hash=${percentEncodeBytes(other)}`).body))?.get(
        'files',
      ),
    );
    assert.equal(s?.size, 1);
  });

  test('scrape, passkey-style paths, stats pages, 404 and 405', () => {
    const { get } = setup();
    get(q(1, '&event=completed').replace('left=9', 'left=0'));
    const files = asDict(asDict(decode(get(`/secret/scrape?info_hash=${ih}`).body))?.get('files'));
    const f = asDict(files?.get(IH));
    assert.deepEqual(
      [asInt(f?.get('complete')), asInt(f?.get('downloaded')), asInt(f?.get('incomplete'))],
      [1, 1, 0],
    );
    assert.equal(decodeHttpAnnounceResponse(get(`/secret${q(2)}`).body, 'x').complete, 1);
    const json = JSON.parse(Buffer.from(get('/stats.json').body).toString());
    assert.equal(json.torrents, 1);
    assert.equal(json.peers, 2);
    assert.equal(json.requests.httpScrapes, 1);
    const html = get('/stats');
    assert.match(html.contentType, /text\/html/);
    assert.match(Buffer.from(html.body).toString(), /<td>2<\/td>/);
    assert.equal(get('/nope').status, 404);
    assert.equal(get(q(3), '127.0.0.1', 'POST').status, 405);
    assert.match(failure(get('/scrape').body), /full scrape/);
  });
});
