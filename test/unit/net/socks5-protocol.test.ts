/**
 * The SOCKS5 client state machine (src/net/socks5-protocol.ts, RFC 1928 + RFC 1929) against
 * scripted proxy bytes: greetings, authentication, replies for every address type, the reply
 * codes in words, bytes after the reply, the UDP header, and random bytes (typed errors only).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { formatIpv6, parseIpv4, parseIpv6 } from '../../../src/net/ip-address.js';
import {
  checkSocks5Proxy,
  decodeSocks5UdpDatagram,
  encodeSocks5Address,
  encodeSocks5UdpDatagram,
  SOCKS5_REPLY_WORDS,
  Socks5Handshake,
  type Socks5HandshakeInit,
} from '../../../src/net/socks5-protocol.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const SUCCESS_V4 = bytes(5, 0, 0, 1, 127, 0, 0, 3, 0x1f, 0x90);

function handshake(over: Partial<Socks5HandshakeInit> = {}): Socks5Handshake {
  return new Socks5Handshake({
    command: 'connect',
    target: { host: '192.0.2.7', port: 6881 },
    proxyName: '127.0.0.1:1080',
    ...over,
  });
}

describe('SOCKS5 negotiation', () => {
  test('no authentication: greeting, CONNECT request, reply with the bound address', () => {
    const h = handshake();
    assert.deepEqual(h.start(), bytes(5, 1, 0));
    const s1 = h.push(bytes(5, 0));
    assert.deepEqual(s1.send, bytes(5, 1, 0, 1, 192, 0, 2, 7, 0x1a, 0xe1));
    assert.equal(h.state, 'reply');
    const s2 = h.push(SUCCESS_V4);
    assert.deepEqual(s2.result?.bound, { host: '127.0.0.3', port: 8080 });
    assert.equal(s2.result?.rest.length, 0);
    assert.equal(h.state, 'done');
  });

  test('username/password (RFC 1929), bytes fed one at a time, bytes after the reply kept', () => {
    const h = handshake({ username: 'üser', password: 'pw', target: { host: 'tracker.example', port: 80 } });
    assert.deepEqual(h.start(), bytes(5, 2, 0, 2));
    const sent: Uint8Array[] = [];
    let result: ReturnType<Socks5Handshake['push']>['result'];
    // One byte at a time, except the reply's last byte, which comes with the target's first two.
    const chunks = [5, 2, 1, 0, 5, 0, 0, 4, ...new Array(15).fill(0), 1, 0].map((b) => bytes(b));
    chunks.push(bytes(80, 0xaa, 0xbb));
    for (const c of chunks) {
      const step = h.push(c);
      if (step.send) sent.push(step.send);
      if (step.result) result = step.result;
    }
    const user = Buffer.from('üser');
    assert.deepEqual(sent[0], Uint8Array.from([1, user.length, ...user, 2, 0x70, 0x77]));
    assert.deepEqual(sent[1], Uint8Array.from([5, 1, 0, 3, 15, ...Buffer.from('tracker.example'), 0, 80]));
    assert.deepEqual(result?.bound, { host: '::1', port: 80 });
    assert.deepEqual(result?.rest, bytes(0xaa, 0xbb));
  });

  test('a reply with a host name and bytes after it in the same chunk', () => {
    const h = handshake();
    h.push(bytes(5, 0));
    const step = h.push(bytes(5, 0, 0, 3, 4, 0x70, 0x72, 0x6f, 0x78, 0, 1, 9, 9, 9));
    assert.deepEqual(step.result?.bound, { host: 'prox', port: 1 });
    assert.deepEqual(step.result?.rest, bytes(9, 9, 9));
  });

  test('authentication refused, none acceptable, a method we did not offer, not SOCKS5', () => {
    const cases: [Partial<Socks5HandshakeInit>, number[][], RegExp][] = [
      [
        { username: 'u', password: 'bad' },
        [
          [5, 2],
          [1, 1],
        ],
        /authentication failed/,
      ],
      [{}, [[5, 0xff]], /requires authentication/],
      [{ username: 'u', password: 'p' }, [[5, 0xff]], /accepts none of our authentication methods/],
      [{}, [[5, 2]], /method we did not offer \(2\)/],
      [{}, [[4, 0]], /not a SOCKS5 proxy/],
      [
        {},
        [
          [5, 0],
          [5, 0, 0, 9],
        ],
        /address type 9/,
      ],
    ];
    for (const [init, chunks, words] of cases) {
      const h = handshake(init);
      h.start();
      assert.throws(
        () => {
          for (const c of chunks) h.push(Uint8Array.from(c));
        },
        (e) => isShoalError(e, ErrorCode.NetProxy) && words.test(e.message),
        String(words),
      );
    }
  });

  test('every reply code in words; an unreachable target is a failed connect, the rest the proxy', () => {
    for (let rep = 1; rep <= 9; rep++) {
      const h = handshake();
      h.push(bytes(5, 0));
      // Failures need only VER and REP: some proxies send no address with them.
      assert.throws(
        () => h.push(bytes(5, rep)),
        (e) => {
          if (!isShoalError(e)) return false;
          const target = rep >= 3 && rep <= 6;
          assert.equal(e.code, target ? ErrorCode.NetConnectFailed : ErrorCode.NetProxy);
          assert.ok(e.message.includes(SOCKS5_REPLY_WORDS[rep] ?? 'unknown reply code 9'), e.message);
          assert.equal(e.details.reply, rep);
          return true;
        },
      );
    }
    const h = handshake();
    h.push(bytes(5, 0));
    assert.throws(
      () => h.push(bytes(5, 5)),
      /192\.0\.2\.7:6881 through SOCKS5 proxy 127\.0\.0\.1:1080: connection refused by the proxy's target/,
    );
  });

  test('random proxy bytes: progress, a result or a typed error — nothing else', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }),
        (auth, chunks) => {
          const h = handshake(auth ? { username: 'u', password: 'p' } : {});
          h.start();
          try {
            for (const c of chunks) h.push(c);
          } catch (e) {
            assert.ok(isShoalError(e), String(e));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('addresses and the UDP header', () => {
  test('IPv4, IPv6 and host names are encoded by kind; a name over 255 bytes is refused', () => {
    assert.deepEqual(encodeSocks5Address({ host: '1.2.3.4', port: 258 }), bytes(1, 1, 2, 3, 4, 1, 2));
    const v6 = encodeSocks5Address({ host: '2001:db8::1', port: 1 });
    assert.equal(v6[0], 4);
    assert.equal(v6.length, 19);
    assert.equal(encodeSocks5Address({ host: 'a.b', port: 1 })[0], 3);
    assert.throws(
      () => encodeSocks5Address({ host: 'x'.repeat(256), port: 1 }),
      (e) => isShoalError(e, ErrorCode.NetProxy),
    );
    assert.throws(
      () => handshake({ target: { host: '', port: 1 } }),
      (e) => isShoalError(e, ErrorCode.NetProxy),
    );
  });

  test('UDP datagrams round-trip; fragments, short and unknown ones are dropped', () => {
    const payload = bytes(1, 2, 3);
    for (const host of ['198.51.100.9', '2001:db8::5', 'tracker.example']) {
      const d = decodeSocks5UdpDatagram(encodeSocks5UdpDatagram({ host, port: 6969 }, payload));
      assert.deepEqual(d?.from, { host, port: 6969 });
      assert.deepEqual(d?.payload, payload);
    }
    const frag = encodeSocks5UdpDatagram({ host: '198.51.100.9', port: 1 }, payload);
    frag[2] = 1;
    assert.equal(decodeSocks5UdpDatagram(frag), undefined);
    assert.equal(decodeSocks5UdpDatagram(bytes(0, 0, 0, 1, 1, 2)), undefined);
    assert.equal(decodeSocks5UdpDatagram(bytes(0, 0, 0, 7, 1, 2, 3, 4, 0, 1)), undefined);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (d) => {
        decodeSocks5UdpDatagram(d);
      }),
    );
  });

  test('IPv6 text: parsed in all forms, printed per RFC 5952', () => {
    assert.equal(formatIpv6(parseIpv6('2001:0db8:0:0:0:0:0:1')!), '2001:db8::1');
    assert.equal(formatIpv6(parseIpv6('::')!), '::');
    assert.equal(formatIpv6(parseIpv6('1:0:0:2:0:0:0:3')!), '1:0:0:2::3');
    assert.equal(formatIpv6(parseIpv6('::ffff:1.2.3.4')!), '::ffff:102:304');
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'fe80::1%eth0', '[::1]', ':1', '1.2.3.4'])
      assert.equal(parseIpv6(bad), undefined, bad);
    assert.equal(parseIpv4('01.2.3.4'), undefined);
    assert.equal(parseIpv4('01.2.3.4', true), 0x01020304);
    assert.equal(parseIpv4('1.2.3.256'), undefined);
  });

  test('proxy options are checked (RFC 1929 lengths, both credentials or none)', () => {
    assert.equal(checkSocks5Proxy({ host: '127.0.0.1', port: 1080 }), undefined);
    assert.match(checkSocks5Proxy({ host: '', port: 1080 }) ?? '', /host/);
    assert.match(checkSocks5Proxy({ host: 'h', port: 0 }) ?? '', /port/);
    assert.match(checkSocks5Proxy({ host: 'h', port: 1, username: 'u' }) ?? '', /go together/);
    assert.match(
      checkSocks5Proxy({ host: 'h', port: 1, username: 'u', password: 'p'.repeat(256) }) ?? '',
      /1-255 bytes/,
    );
  });
});
