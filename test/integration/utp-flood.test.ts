/**
 * Hostile input on a uTP port: a SYN flood and spoofed ACKs (ST_STATE for connections that do not
 * exist) from 64 loopback addresses, sent by a worker thread of this test at ~10 000 datagrams a
 * second, while an established connection carries a paced transfer (4 MB/s) on the same port.
 *
 * What must hold: the transfer keeps its pace during the flood (≥ 85 % of the bytes it moves
 * without one, measured in alternating phases where the same worker sends the same datagrams to
 * a sink instead, so the CPU the flooder costs is the same in both); the established connection
 * stays open with no retransmission timeout; and the flood is bounded by the endpoint's named limits:
 * the table never holds more than the connection plus MAX_UTP_HALF_OPEN half-open ones, and
 * resets to strangers stay within MAX_UTP_RESETS_PER_SECOND.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { PeerStream } from '../../src/net/transport.js';
import { UtpTransport } from '../../src/net/utp-transport.js';
import { MAX_UTP_HALF_OPEN, MAX_UTP_RESETS_PER_SECOND, UTP_MIN_RTO_MS } from '../../src/shared/limits.js';
import type { UtpConnection } from '../../src/utp/index.js';

const PACE_BYTES_PER_SECOND = 4_000_000;
const TICK_MS = 10;
const PHASE_MS = 1500;
const ROUNDS = 4;
const FLOOD_PER_SECOND = 10_000;

/** The flooder: SYNs and ST_STATEs with random connection ids from 127.0.0.2 … 127.0.0.65. */
const FLOODER = `
const { workerData, parentPort } = require('node:worker_threads');
const dgram = require('node:dgram');
const sockets = [];
let target = workerData.sink, on = true, sent = 0, n = 0;
for (let i = 2; i < 66; i++) { const s = dgram.createSocket('udp4'); s.bind(0, '127.0.0.' + i); sockets.push(s); }
parentPort.on('message', (m) => {
  if (m !== 'stop') { target = m; return; }
  on = false;
  let left = sockets.length;
  for (const s of sockets) s.close(() => { if (--left === 0) parentPort.postMessage(sent); });
});
const perTick = Math.ceil(workerData.rate / 100);
(function tick() {
  if (!on) return;
  for (let k = 0; k < perTick; k++, n++) {
    const b = Buffer.alloc(20);
    b[0] = ((n % 2 === 0 ? 4 : 2) << 4) | 1; // ST_SYN, ST_STATE
    b.writeUInt16BE((Math.random() * 65536) | 0, 2);
    b.writeUInt32BE(n >>> 0, 4);
    b.writeUInt16BE(n & 0xffff, 16);
    b.writeUInt16BE((Math.random() * 65536) | 0, 18);
    sockets[n % sockets.length].send(b, target, '127.0.0.1');
    sent++;
  }
  setTimeout(tick, 10);
})();
`;

const a = new UtpTransport();
const b = new UtpTransport();
const sink = createSocket('udp4');
after(async () => {
  sink.close();
  await a.close();
  await b.close();
});

test('a SYN flood and spoofed ACKs do not slow an established transfer', { timeout: 60_000 }, async () => {
  sink.on('message', () => {});
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  let received = 0;
  let server: PeerStream | undefined;
  const flooded: PeerStream[] = [];
  const port = await b.listen({ host: '127.0.0.1', port: 0 }, (s) => {
    if (server !== undefined) {
      flooded.push(s); // a half-open connection of the flood: never bound, never read
      return;
    }
    server = s;
    s.bind({
      data: (c) => {
        received += c.length;
      },
      drain: () => {},
      close: () => {},
    });
  });
  const client = await a.dial('127.0.0.1', port, { timeoutMs: 5_000 });
  client.bind({ data: () => {}, drain: () => {}, close: () => {} });
  const block = new Uint8Array(PACE_BYTES_PER_SECOND / 10);
  // Paced by the clock (timers fire late on a busy machine: each tick writes what is due);
  // what the network cannot take yet waits in the stream.
  const paceStart = performance.now();
  let written = 0;
  const pacer = setInterval(() => {
    const due = ((performance.now() - paceStart) / 1000) * PACE_BYTES_PER_SECOND;
    while (written + block.length <= due) {
      client.write(block);
      written += block.length;
    }
  }, TICK_MS);
  const serverConn = (): UtpConnection =>
    [...b.endpoint.connections()].find((c) => c.state === 'connected' && c.stats.bytesDelivered > 0)!;
  const clientConn = [...a.endpoint.connections()][0]!;

  const worker = new Worker(FLOODER, {
    eval: true,
    workerData: { sink: sink.address().port, rate: FLOOD_PER_SECOND },
  });
  let maxTable = 0;
  // Both ends live in this process: a stall of the process itself (a loaded machine) holds every
  // ACK back, and the retransmission timer, which runs before the socket is read, can fire.
  const stalls = monitorEventLoopDelay({ resolution: 10 });
  stalls.enable();
  const watch = setInterval(() => {
    maxTable = Math.max(maxTable, b.endpoint.size);
  }, 50);
  const phase = async (target: number): Promise<number> => {
    worker.postMessage(target);
    await new Promise((r) => setTimeout(r, 200)); // let the switch take effect
    const r0 = received;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, PHASE_MS));
    return (received - r0) / ((performance.now() - t0) / 1000);
  };
  const control: number[] = [];
  const flood: number[] = [];
  const floodStart = performance.now();
  try {
    // Past slow start: the stream has caught up with the pace (bounded by the test's timeout).
    await new Promise((r) => setTimeout(r, 500));
    while (written - received > block.length) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < ROUNDS; i++) {
      control.push(await phase(sink.address().port));
      flood.push(await phase(port));
    }
  } finally {
    worker.postMessage('stop');
    await once(worker, 'message');
    await worker.terminate();
    clearInterval(pacer);
    clearInterval(watch);
    stalls.disable();
  }
  const longestStallMs = stalls.max / 1e6;
  const floodSeconds = (performance.now() - floodStart) / 1000;
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  const mb = (x: number) => (x / 1e6).toFixed(1);
  const st = b.endpoint.stats;
  console.log(
    `# paced transfer: ${control.map(mb).join(', ')} MB/s without the flood, ${flood.map(mb).join(', ')} MB/s under it; ` +
      `flood: ${st.refusedHalfOpen} SYNs refused (half-open full), ${st.refusedRate} rate-limited, ` +
      `${st.unknown} packets for unknown connections, ${st.resetsSent} resets sent; table peaked at ${maxTable}`,
  );
  assert.ok(sum(flood) >= 0.85 * sum(control), `under the flood ${mb(sum(flood))} vs ${mb(sum(control))}`);
  // Catching up after a late timer is allowed, so the pace is checked over both kinds of phase.
  assert.ok(
    sum(control) + sum(flood) >= 0.8 * 2 * ROUNDS * PACE_BYTES_PER_SECOND,
    'the pace itself was kept',
  );
  // The flood reached the endpoint and was refused by its bounds.
  assert.ok(st.refusedHalfOpen + st.refusedRate > 1000, 'SYNs were refused');
  assert.ok(st.unknown > 1000, 'spoofed ACKs were seen');
  assert.ok(maxTable <= 1 + MAX_UTP_HALF_OPEN, `table peaked at ${maxTable}`);
  assert.equal(flooded.length, st.accepted - 1);
  assert.ok(st.accepted <= 1 + MAX_UTP_HALF_OPEN, `${st.accepted} accepted`);
  assert.ok(
    st.resetsSent <= MAX_UTP_RESETS_PER_SECOND * (Math.ceil(floodSeconds) + 1),
    `${st.resetsSent} resets`,
  );
  // The established connection lost nothing: no retransmission timeout, unless the process itself
  // stalled for most of the smallest timeout (then the timeout says nothing about the flood).
  if (longestStallMs < 0.8 * UTP_MIN_RTO_MS)
    assert.equal(
      clientConn.stats.timeouts,
      0,
      `no retransmission timeout (longest stall ${longestStallMs} ms)`,
    );
  else console.log(`# the process stalled for ${longestStallMs} ms; ${clientConn.stats.timeouts} timeouts`);
  assert.equal(serverConn().state, 'connected');
  assert.equal(client.isOpen, true);
});
