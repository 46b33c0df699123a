/**
 * Local Service Discovery (BEP 14): the strict BT-SEARCH parser, and two `Lsd` instances talking
 * over 127.0.0.1 unicast (multicast is never used by tests).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, test } from 'node:test';
import { setTimeout as setTimeoutP } from 'node:timers/promises';
import fc from 'fast-check';
import {
  encodeLsdMessage,
  Lsd,
  LsdError,
  type LsdEvents,
  type LsdOptions,
  parseLsdMessage,
} from '../../../src/discovery/lsd.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { toHex } from '../../../src/shared/hash.js';
import { LSD_RECEIVE_BURST, MAX_LSD_MESSAGE_BYTES } from '../../../src/shared/limits.js';

const LOOP = '127.0.0.1';
const te = (s: string) => new TextEncoder().encode(s);
const hash = (n: number) => new Uint8Array(20).fill(n);
const HEX = 'aa'.repeat(20);

function msg(lines: string[], tail = '\r\n\r\n'): Uint8Array {
  return te(lines.join('\r\n') + tail);
}

const GOOD = ['BT-SEARCH * HTTP/1.1', 'Host: 239.192.152.143:6771', 'Port: 6881', `Infohash: ${HEX}`];

function rejects(bytes: Uint8Array, what: string): void {
  assert.throws(
    () => parseLsdMessage(bytes),
    (e) => e instanceof LsdError && isShoalError(e, ErrorCode.LsdBadMessage),
    what,
  );
}

describe('BT-SEARCH messages (BEP 14)', () => {
  test('encode → parse round trip', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 20, maxLength: 20 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 65535 }),
        fc.option(fc.stringMatching(/^[0-9a-zA-Z]{1,32}$/), { nil: undefined }),
        (infoHashes, port, cookie) => {
          const m = {
            host: '239.192.152.143:6771',
            port,
            infoHashes,
            ...(cookie === undefined ? {} : { cookie }),
          };
          const back = parseLsdMessage(encodeLsdMessage(m));
          assert.deepEqual(back, m);
        },
      ),
    );
  });

  test('random and mutated bytes give a message or an LsdError, nothing else', () => {
    const good = encodeLsdMessage({ host: 'h', port: 1, infoHashes: [hash(1)], cookie: 'c' });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }),
          fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
            const out = good.slice();
            out[i] = b;
            return out;
          }),
          fc.nat(good.length).map((n) => good.slice(0, n)),
        ),
        (bytes) => {
          try {
            parseLsdMessage(bytes);
          } catch (e) {
            assert.ok(e instanceof LsdError, String(e));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('a valid announce: headers in any case, several info-hashes, unknown headers ignored', () => {
    const m = parseLsdMessage(
      msg(
        [
          'BT-SEARCH * HTTP/1.1',
          'HOST: x',
          'port:51413',
          `infohash: ${HEX}`,
          `INFOHASH: ${'0B'.repeat(20)}`,
          'X-Other: y',
          'Cookie: abc',
        ],
        '\r\n\r\n\r\n',
      ),
    );
    assert.equal(m.port, 51413);
    assert.equal(m.host, 'x');
    assert.equal(m.cookie, 'abc');
    assert.deepEqual(m.infoHashes.map(toHex), [HEX, '0b'.repeat(20)]);
  });

  test('the size limit: MAX_LSD_MESSAGE_BYTES is accepted, one more byte is not', () => {
    const base = msg([...GOOD, 'X-Pad: ']);
    const pad = MAX_LSD_MESSAGE_BYTES - base.length;
    const exact = msg([...GOOD, `X-Pad: ${'p'.repeat(pad)}`]);
    assert.equal(exact.length, MAX_LSD_MESSAGE_BYTES);
    assert.equal(parseLsdMessage(exact).port, 6881);
    rejects(msg([...GOOD, `X-Pad: ${'p'.repeat(pad + 1)}`]), 'one byte too long');
  });

  test('malformed announces are rejected with LsdBadMessage', () => {
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['wrong request line', msg(['M-SEARCH * HTTP/1.1', ...GOOD.slice(1)])],
      ['lower-case method', msg(['bt-search * HTTP/1.1', ...GOOD.slice(1)])],
      ['no blank line', te(`${GOOD.join('\r\n')}\r\n`)],
      ['data after the headers', msg(GOOD, '\r\n\r\nextra')],
      ['bare LF line ends', te(`${GOOD.join('\n')}\n\n`)],
      ['a bare CR inside', msg([...GOOD, 'X: a\rb'])],
      ['non-ASCII byte', Uint8Array.from([...msg(GOOD).slice(0, 30), 0xff, ...msg(GOOD).slice(30)])],
      ['NUL byte', Uint8Array.from([...msg(GOOD).slice(0, 30), 0, ...msg(GOOD).slice(30)])],
      ['no Host', msg([GOOD[0]!, GOOD[2]!, GOOD[3]!])],
      ['empty Host', msg([GOOD[0]!, 'Host:', GOOD[2]!, GOOD[3]!])],
      ['two Hosts', msg([...GOOD, 'Host: y'])],
      ['no Port', msg([GOOD[0]!, GOOD[1]!, GOOD[3]!])],
      ['port 0', msg([GOOD[0]!, GOOD[1]!, 'Port: 0', GOOD[3]!])],
      ['port 65536', msg([GOOD[0]!, GOOD[1]!, 'Port: 65536', GOOD[3]!])],
      ['port not a number', msg([GOOD[0]!, GOOD[1]!, 'Port: 68a1', GOOD[3]!])],
      ['negative port', msg([GOOD[0]!, GOOD[1]!, 'Port: -1', GOOD[3]!])],
      ['two Ports', msg([...GOOD, 'Port: 1'])],
      ['no Infohash', msg(GOOD.slice(0, 3))],
      ['short Infohash', msg([...GOOD.slice(0, 3), `Infohash: ${'a'.repeat(39)}`])],
      ['v2-length Infohash', msg([...GOOD.slice(0, 3), `Infohash: ${'a'.repeat(64)}`])],
      ['non-hex Infohash', msg([...GOOD.slice(0, 3), `Infohash: ${'g'.repeat(40)}`])],
      ['two cookies', msg([...GOOD, 'cookie: a', 'cookie: b'])],
      ['header without a colon', msg([...GOOD, 'Nonsense'])],
      ['header name with a space', msg([...GOOD, 'Bad Name: x'])],
    ];
    for (const [what, bytes] of cases) rejects(bytes, what);
  });
});

// ---------------------------------------------------------------------------------------------

async function lsd(o: Partial<LsdOptions> & { port: number }): Promise<Lsd> {
  return Lsd.create({ bindHost: LOOP, bindPort: 0, multicast: false, ...o });
}

function nextEvent<K extends keyof LsdEvents & string>(l: Lsd, ev: K, ms = 5000): Promise<LsdEvents[K]> {
  return l.next(ev, AbortSignal.timeout(ms));
}

function handles(): number {
  return process.getActiveResourcesInfo().filter((x) => x === 'UDPWrap' || x === 'Timeout').length;
}

describe('Lsd over loopback unicast', () => {
  test('an announce is heard by the other side with our info-hash and port', async () => {
    const before = handles();
    const b = await lsd({ port: 7002 });
    const a = await lsd({ port: 7001, unicastTargets: [{ host: LOOP, port: b.port }] });
    try {
      const h = hash(0x11);
      b.add(h);
      const heard = nextEvent(b, 'peer:discovered');
      a.add(h);
      const p = await heard;
      assert.deepEqual(p.infoHash, h);
      assert.equal(p.host, LOOP);
      assert.equal(p.port, 7001);
      assert.equal(b.stats().peersDiscovered, 1);
      assert.equal(a.stats().announcesSent, 1);
      assert.notEqual(a.cookie, b.cookie);
    } finally {
      await a.close();
      await b.close();
    }
    assert.equal(handles(), before, 'close() left sockets or timers');
  });

  test('own announces (same cookie) are ignored', async () => {
    const a = new Lsd({ port: 7010, bindHost: LOOP, bindPort: 0, multicast: false, acceptAll: true });
    const found: unknown[] = [];
    a.on('peer:discovered', (p) => found.push(p));
    await a.start();
    try {
      const b = await lsd({ port: 7011, cookie: a.cookie, unicastTargets: [{ host: LOOP, port: a.port }] });
      const sent = nextEvent(b, 'announce:sent');
      b.add(hash(0x12));
      await sent;
      // Then a stranger's announce, sent after ours: once it is heard, ours was processed too.
      const c = await lsd({ port: 7012, unicastTargets: [{ host: LOOP, port: a.port }] });
      const heard = nextEvent(a, 'peer:discovered');
      c.add(hash(0x13));
      assert.equal((await heard).port, 7012);
      assert.equal(a.stats().ownIgnored, 1);
      assert.equal(found.length, 1);
      await b.close();
      await c.close();
    } finally {
      await a.close();
    }
  });

  test('only torrents we take part in are reported, unless acceptAll', async () => {
    const picky = await lsd({ port: 7020 });
    const all = await lsd({ port: 7021, acceptAll: true });
    const a = await lsd({
      port: 7022,
      unicastTargets: [
        { host: LOOP, port: picky.port },
        { host: LOOP, port: all.port },
      ],
      sendSpacingMs: 1,
    });
    try {
      picky.add(hash(0x22));
      const pickyFound: string[] = [];
      picky.on('peer:discovered', (p) => pickyFound.push(toHex(p.infoHash)));
      const seenAll: string[] = [];
      const twoHeard = new Promise<void>((resolve) =>
        all.on('peer:discovered', (p) => {
          seenAll.push(toHex(p.infoHash));
          if (seenAll.length === 2) resolve();
        }),
      );
      a.add(hash(0x21));
      a.add(hash(0x22));
      await twoHeard;
      assert.deepEqual(seenAll.sort(), [toHex(hash(0x21)), toHex(hash(0x22))]);
      // `picky` got both datagrams before `all` got the second one? Not guaranteed: wait for it.
      if (pickyFound.length === 0) await nextEvent(picky, 'peer:discovered');
      assert.deepEqual(pickyFound, [toHex(hash(0x22))]);
    } finally {
      await a.close();
      await picky.close();
      await all.close();
    }
  });

  test('malformed datagrams are dropped and reported; the listener keeps working', async () => {
    const b = await lsd({ port: 7030, acceptAll: true });
    const raw = dgram.createSocket('udp4');
    await new Promise<void>((r) => raw.bind(0, LOOP, () => r()));
    try {
      const rejected = nextEvent(b, 'message:rejected');
      raw.send(te('GET / HTTP/1.1\r\n\r\n'), b.port, LOOP);
      const r = await rejected;
      assert.equal(r.host, LOOP);
      assert.match(r.reason, /BT-SEARCH/);
      raw.send(new Uint8Array(MAX_LSD_MESSAGE_BYTES + 1).fill(0x41), b.port, LOOP);
      raw.send(msg([GOOD[0]!, GOOD[1]!, 'Port: 99999', GOOD[3]!]), b.port, LOOP);
      const ok = nextEvent(b, 'peer:discovered');
      raw.send(msg(GOOD), b.port, LOOP);
      assert.equal((await ok).port, 6881);
      assert.equal(b.stats().rejected, 3);
    } finally {
      await new Promise<void>((r) => raw.close(() => r()));
      await b.close();
    }
  });

  test('a flood is rate limited before parsing', async () => {
    const b = await lsd({ port: 7040, acceptAll: true });
    const raw = dgram.createSocket('udp4');
    await new Promise<void>((r) => raw.bind(0, LOOP, () => r()));
    try {
      const n = LSD_RECEIVE_BURST * 4;
      const bytes = msg(GOOD);
      for (let i = 0; i < n; i++) raw.send(bytes, b.port, LOOP);
      // Every datagram ends up either processed or rate limited: wait until the counters say so.
      const deadline = performance.now() + 5000;
      while (b.stats().received + b.stats().rateLimited < n) {
        if (performance.now() > deadline) assert.fail(`only ${JSON.stringify(b.stats())} of ${n}`);
        await setTimeoutP(10);
      }
      const s = b.stats();
      assert.ok(s.rateLimited > 0, 'some were dropped');
      assert.ok(s.received <= LSD_RECEIVE_BURST + 20, `processed ${s.received}`);
      assert.equal(s.peersDiscovered, s.received);
    } finally {
      await new Promise<void>((r) => raw.close(() => r()));
      await b.close();
    }
  });

  test('announces are spaced out and a torrent is not re-announced within the minimum interval', async () => {
    const b = await lsd({ port: 7050, acceptAll: true });
    const a = await lsd({
      port: 7051,
      unicastTargets: [{ host: LOOP, port: b.port }],
      sendSpacingMs: 60,
      minTorrentIntervalMs: 10_000,
      announceIntervalMs: 150,
    });
    try {
      const times: number[] = [];
      const hashes: string[] = [];
      const five = new Promise<void>((resolve) =>
        b.on('peer:discovered', (p) => {
          times.push(performance.now());
          hashes.push(toHex(p.infoHash));
          if (times.length === 5) resolve();
        }),
      );
      a.add(hash(1));
      a.add(hash(2));
      a.add(hash(3));
      assert.equal(a.announce(hash(1)), false, 'just announced: too soon');
      assert.equal(a.announce(hash(9)), false, 'not added');
      await five;
      for (let i = 1; i < times.length; i++) {
        assert.ok(times[i]! - times[i - 1]! >= 45, `gap ${times[i]! - times[i - 1]!} ms`);
      }
      // The first three are the three torrents; then the periodic re-announces begin.
      assert.deepEqual(
        hashes.slice(0, 3).sort(),
        [1, 2, 3].map((n) => toHex(hash(n))),
      );
      assert.ok(a.remove(hash(1)));
      assert.equal(a.remove(hash(1)), false);
      assert.equal(a.stats().torrents, 2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('no multicast route: one clear event, and unicast still works', async () => {
    const b = await lsd({ port: 7060, acceptAll: true });
    // Joining a unicast address as a group fails like a host without multicast does; the
    // group is never sent to afterwards, so nothing leaves loopback.
    const a = new Lsd({
      port: 7061,
      bindHost: '0.0.0.0',
      bindPort: 0,
      multicast: true,
      ipv6: false,
      multicastGroup4: LOOP,
      unicastTargets: [{ host: LOOP, port: b.port }],
    });
    const events: LsdEvents['multicast:unavailable'][] = [];
    a.on('multicast:unavailable', (e) => events.push(e));
    await a.start();
    try {
      assert.equal(events.length, 1);
      assert.equal(events[0]!.family, 4);
      assert.equal(events[0]!.op, 'join');
      assert.match(events[0]!.message, /no multicast on IPv4/);
      assert.equal(a.stats().multicast4, false);
      const heard = nextEvent(b, 'peer:discovered');
      a.add(hash(0x61));
      assert.equal((await heard).port, 7061);
      const sent = a.stats();
      assert.equal(sent.sendErrors, 0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('arguments and state are checked', async () => {
    assert.throws(
      () => new Lsd({ port: 0 }),
      (e) => isShoalError(e, ErrorCode.LsdInvalidArgument),
    );
    const a = await lsd({ port: 7070 });
    assert.throws(
      () => a.add(new Uint8Array(32)),
      (e) => isShoalError(e, ErrorCode.LsdInvalidArgument),
    );
    await assert.rejects(a.start(), (e) => isShoalError(e, ErrorCode.LsdInvalidArgument));
    await a.close();
    await a.close();
    assert.throws(
      () => a.add(hash(1)),
      (e) => isShoalError(e, ErrorCode.LsdClosed),
    );
    assert.throws(
      () => a.announce(hash(1)),
      (e) => isShoalError(e, ErrorCode.LsdClosed),
    );
  });
});
