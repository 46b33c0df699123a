/**
 * uTP over impaired paths (issue 20). This kernel has no netem, so:
 *
 * - loss: nftables drops 1 % and 5 % of the UDP datagrams (`numgen random`) in a network namespace
 *   this test makes (loopback only, a documentation address); a child process in it moves 4 MiB
 *   between two UtpTransports;
 * - delay, reordering, duplication: a UDP relay (test/helpers/udp-relay.ts) holds each datagram
 *   20–200 ms (so they overtake each other) and sends 5 % of them twice;
 * - yielding: a uTP flow and a TCP flow share a link throttled with `tc tbf`; once both run, TCP
 *   gets ≥ 70 % of what the two move (LEDBAT backs off when TCP fills the queue).
 *
 * Each transfer must end with the sha256 received equal to the one sent. Namespaces are removed
 * in `finally` blocks; the namespace tests need root and fail without it (the CI runs as root).
 * The tbf test's queue is at a router namespace between the sender's and the receiver's (see
 * makeThrottledPath), and its TCP is CUBIC, the loss-based TCP LEDBAT is designed to yield to.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { UtpTransport } from '../../src/net/utp-transport.js';
import { droppedUdp, dropUdp, makeNamespace, makeThrottledPath } from '../helpers/netns.js';
import { pseudoRandomBytes } from '../helpers/payload.js';
import { UdpRelay } from '../helpers/udp-relay.js';

const LOSS_BYTES = 4 * 1024 * 1024;
const RELAY_BYTES = 1024 * 1024;
const CHILD_TIMEOUT_MS = 120_000;

describe('uTP under random loss (nftables numgen in a namespace)', { timeout: 300_000 }, () => {
  for (const [percent, address] of [
    [1, '192.0.2.1'],
    [5, '203.0.113.1'],
  ] as const) {
    test(`${percent} % of datagrams dropped: 4 MiB arrive intact`, async () => {
      const ns = makeNamespace(address);
      try {
        dropUdp(ns, percent);
        const r = await ns.node(
          'impair-peer.ts',
          ['transfer', address, String(LOSS_BYTES)],
          CHILD_TIMEOUT_MS,
        );
        const dropped = droppedUdp(ns);
        console.log(
          `# ${percent} % loss: ${r.bytes} bytes in ${Number(r.seconds).toFixed(1)} s, ${dropped} datagrams dropped`,
        );
        assert.equal(r.bytes, LOSS_BYTES);
        assert.equal(r.received, r.sent);
        // The rule really dropped datagrams (4 MiB is ~3000 data packets).
        assert.ok(dropped > 0, 'nothing was dropped');
      } finally {
        ns.remove();
      }
    });
  }
});

describe('uTP through a relay that delays 20–200 ms, reorders and duplicates', { timeout: 180_000 }, () => {
  const a = new UtpTransport();
  const b = new UtpTransport();
  after(async () => {
    await a.close();
    await b.close();
  });

  test('1 MiB arrives intact', async () => {
    const data = pseudoRandomBytes(RELAY_BYTES, 11);
    const h = createHash('sha256');
    let received = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => {
      done = r;
    });
    const port = await b.listen({ host: '127.0.0.1', port: 0 }, (s) =>
      s.bind({
        data: (c) => {
          h.update(c);
          received += c.length;
          if (received >= RELAY_BYTES) done();
        },
        drain: () => {},
        close: () => done(),
      }),
    );
    const relay = new UdpRelay({
      targetPort: port,
      minDelayMs: 20,
      maxDelayMs: 200,
      duplicate: 0.05,
      seed: 5,
    });
    try {
      const relayPort = await relay.start();
      const t0 = performance.now();
      const s = await a.dial('127.0.0.1', relayPort, { timeoutMs: 10_000 });
      let at = 0;
      const pump = () => {
        while (at < data.length) {
          const n = Math.min(64 * 1024, data.length - at);
          const ok = s.write(data.subarray(at, at + n));
          at += n;
          if (!ok) return;
        }
      };
      s.bind({ data: () => {}, drain: pump, close: () => {} });
      pump();
      await all;
      console.log(
        `# relay: ${received} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
          `${relay.counts.forwarded} datagrams forwarded, ${relay.counts.duplicated} duplicated`,
      );
      assert.equal(received, RELAY_BYTES);
      assert.equal(h.digest('hex'), createHash('sha256').update(data).digest('hex'));
      assert.ok(relay.counts.duplicated > 0);
      s.destroy();
    } finally {
      relay.close();
    }
  });
});

/** The throttled link: 2 MB/s, a queue of up to 300 ms at the router. */
const LINK_RATE = '16mbit';
const LINK_QUEUE = '300ms';
/** What each flow delivers is counted over this long, once both run. */
const SHARE_SECONDS = 8;
/** Issue 20: TCP's share of the link once both run. */
const TCP_MIN_SHARE = 0.7;

test('uTP yields to TCP on a tbf-throttled link: TCP gets ≥ 70 %', { timeout: 120_000 }, async () => {
  const path = makeThrottledPath(LINK_RATE, LINK_QUEUE);
  try {
    let ready!: () => void;
    const listening = new Promise<void>((r) => {
      ready = r;
    });
    const sink = path.receiver.node(
      'impair-peer.ts',
      ['sink', path.receiverAddress, String(SHARE_SECONDS)],
      CHILD_TIMEOUT_MS,
      (line) => {
        if (line.includes('"ready"')) ready();
      },
    );
    sink.catch(() => ready());
    await listening;
    // Pours until the namespace is removed (its process is then ended by PID).
    const source = path.sender.node(
      'impair-peer.ts',
      ['source', path.receiverAddress, '60'],
      CHILD_TIMEOUT_MS,
    );
    source.catch(() => {});
    const r = await sink;
    const utp = Number(r.utp);
    const tcp = Number(r.tcp);
    const mb = (x: number) => (x / 1e6).toFixed(2);
    console.log(
      `# tbf ${LINK_RATE}: uTP alone ${mb(Number(r.utpAlone))} MB/s; both: uTP ${mb(utp)}, TCP ${mb(tcp)} MB/s`,
    );
    // uTP alone used the link (it is not merely slow), then gave way.
    assert.ok(Number(r.utpAlone) > 1e6, 'uTP alone filled half the link at least');
    assert.ok(tcp / (tcp + utp) >= TCP_MIN_SHARE, `TCP got ${((100 * tcp) / (tcp + utp)).toFixed(0)} %`);
  } finally {
    path.remove();
  }
});
