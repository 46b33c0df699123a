/**
 * UDP tracker load generator (BEP 15), run as its own process by bench/tracker.ts.
 *
 *   node --import tsx bench/tracker-load.ts --port P [--torrents 10000] [--peers 100000]
 *        [--requests 200000] [--window 32] [--sockets 8] [--deadline-ms 120000]
 *        [--rate 10000] [--rate-seconds 5] [--single 20000]
 *
 * Loopback only (127.0.0.1). Phase 1 announces every peer once (`started`; a third are seeders),
 * so the tracker holds `peers` peers over `torrents` torrents; phase 2 sends `requests` regular
 * announces of random peers and measures them with at most `window` requests in flight (a closed
 * loop: throughput, and latency including queueing); phase 3 sends announces at a fixed offered
 * `rate` per second for `rate-seconds` (an open loop, the way a tracker's clients arrive: they do
 * not wait for each other's replies, so a stalled tracker faces the requests piling up and every
 * one of them counts; latency at a given load, from each request's due time; a lost request
 * counts as infinitely slow);
 * phase 4 sends `single` more announces one at a time (service latency without queueing). Requests are spread over `sockets` sockets that each
 * got a connection id first. A request without a
 * reply after 1 s counts as lost and is replaced. The process stops by itself at the deadline
 * whatever happens, and prints one JSON line of results.
 *
 * Peer i announces torrent (i mod torrents) with TCP port 10000 + ⌊i / torrents⌋, so every
 * (address, port) is distinct within its torrent: trackers that key peers by address and port
 * (opentracker and Shoal do) hold all of them. Info-hash i is sha1("shoal-bench-torrent-" + i).
 */
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    torrents: { type: 'string', default: '10000' },
    peers: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '200000' },
    window: { type: 'string', default: '32' },
    sockets: { type: 'string', default: '8' },
    'deadline-ms': { type: 'string', default: '120000' },
    single: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '10000' },
    'rate-seconds': { type: 'string', default: '5' },
  },
});
const PORT = Number(values.port);
const TORRENTS = Number(values.torrents);
const PEERS = Number(values.peers);
const REQUESTS = Number(values.requests);
const WINDOW = Number(values.window);
const SOCKETS = Number(values.sockets);
const SINGLE = Number(values.single);
const RATE = Number(values.rate);
const RATE_SECONDS = Number(values['rate-seconds']);
const LOST_MS = 1000;
if (!Number.isInteger(PORT) || PORT <= 0) throw new Error('--port is required');

const deadline = setTimeout(() => {
  console.log(JSON.stringify({ error: 'deadline reached' }));
  process.exit(2);
}, Number(values['deadline-ms']));

const hashes: Buffer[] = [];
for (let i = 0; i < TORRENTS; i++)
  hashes.push(createHash('sha1').update(`shoal-bench-torrent-${i}`).digest());

/** xorshift32, seeded: the same announce sequence against every tracker. */
let rng = 0x9e3779b9;
function rand(n: number): number {
  rng ^= rng << 13;
  rng ^= rng >>> 17;
  rng ^= rng << 5;
  return (rng >>> 0) % n;
}

interface Slot {
  sentAt: number;
  socket: number;
  resolve: (() => void) | undefined;
}

const sockets: dgram.Socket[] = [];
const connIds: Buffer[] = [];
const slots = new Map<number, Slot>();
let nextTid = 1;

function announcePacket(socketIndex: number, tid: number, peer: number, event: number): Buffer {
  const b = Buffer.allocUnsafe(98);
  connIds[socketIndex]!.copy(b, 0);
  b.writeUInt32BE(1, 8);
  b.writeUInt32BE(tid, 12);
  hashes[peer % TORRENTS]!.copy(b, 16);
  b.writeUInt32BE(0x2d534230, 36); // "-SB0"
  b.writeUInt32BE(peer, 40);
  b.fill(0x61, 44, 56);
  b.writeBigUInt64BE(0n, 56); // downloaded
  b.writeBigUInt64BE(peer % 3 === 0 ? 0n : 1000n, 64); // left
  b.writeBigUInt64BE(0n, 72); // uploaded
  b.writeUInt32BE(event, 80);
  b.writeUInt32BE(0, 84);
  b.writeUInt32BE(peer, 88); // key
  b.writeInt32BE(50, 92); // num_want
  b.writeUInt16BE(10_000 + Math.floor(peer / TORRENTS), 96);
  return b;
}

async function openSockets(): Promise<void> {
  for (let i = 0; i < SOCKETS; i++) {
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    s.on('message', (msg) => {
      if (msg.length < 8) return;
      const slot = slots.get(msg.readUInt32BE(4));
      if (slot === undefined) return;
      slots.delete(msg.readUInt32BE(4));
      if (msg.readUInt32BE(0) === 0 && msg.length >= 16) connIds[i] = Buffer.from(msg.subarray(8, 16));
      slot.resolve?.();
    });
    sockets.push(s);
    // Connect (retry until answered: the tracker may still be starting).
    for (;;) {
      const tid = nextTid++;
      const c = Buffer.alloc(16);
      c.writeUInt32BE(0x417, 0);
      c.writeUInt32BE(0x27101980, 4);
      c.writeUInt32BE(0, 8);
      c.writeUInt32BE(tid, 12);
      const ok = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => {
          slots.delete(tid);
          resolve(false);
        }, 500);
        slots.set(tid, {
          sentAt: 0,
          socket: i,
          resolve: () => {
            clearTimeout(t);
            resolve(true);
          },
        });
        s.send(c, PORT, '127.0.0.1');
      });
      if (ok) break;
    }
  }
}

/** Sends announce number `k` (on socket k mod SOCKETS); `onReply` runs when its answer arrives. */
function sendAnnounce(k: number, peer: number, event: number, sentAt: number, onReply: () => void): void {
  const si = k % SOCKETS;
  const tid = nextTid++ >>> 0;
  slots.set(tid, { sentAt, socket: si, resolve: onReply });
  sockets[si]!.send(announcePacket(si, tid, peer, event), PORT, '127.0.0.1');
}

/** Every 100 ms, forgets the announces unanswered for LOST_MS and calls `onLost` for each. */
function sweepLost(onLost: () => void): NodeJS.Timeout {
  return setInterval(() => {
    const now = performance.now();
    for (const [tid, s] of slots) {
      if (s.sentAt > 0 && now - s.sentAt > LOST_MS) {
        slots.delete(tid);
        onLost();
      }
    }
  }, 100);
}

/** Sends `count` announces with at most `window` in flight; returns latencies (ms) and losses. */
function run(count: number, window: number, pick: (k: number) => { peer: number; event: number }) {
  return new Promise<{ latencies: Float64Array; lost: number; seconds: number }>((resolve) => {
    const latencies = new Float64Array(count);
    let sent = 0;
    let done = 0;
    let lost = 0;
    const t0 = performance.now();
    const settleOrRefill = (): void => {
      if (done + lost < count) {
        sendOne();
        return;
      }
      clearInterval(sweeper);
      resolve({ latencies: latencies.subarray(0, done), lost, seconds: (performance.now() - t0) / 1000 });
    };
    const sendOne = (): void => {
      if (sent >= count) return;
      const k = sent++;
      const { peer, event } = pick(k);
      const sentAt = performance.now();
      sendAnnounce(k, peer, event, sentAt, () => {
        latencies[done++] = performance.now() - sentAt;
        settleOrRefill();
      });
    };
    // A lost request is replaced, so the window stays full.
    const sweeper = sweepLost(() => {
      lost++;
      settleOrRefill();
    });
    for (let i = 0; i < window; i++) sendOne();
  });
}

/**
 * Open loop: announce k is due at t0 + k / rate, whatever the replies; every timer turn sends all
 * that are due. Latency runs from the due time, so a generator that runs late counts against
 * the tracker (the stricter reading; the largest lateness is reported as `lateMs`). Requests
 * unanswered after LOST_MS count as lost.
 */
function runAtRate(rate: number, seconds: number, pick: () => { peer: number; event: number }) {
  return new Promise<{ latencies: Float64Array; lost: number; sent: number; lateMs: number }>((resolve) => {
    const count = Math.round(rate * seconds);
    const latencies = new Float64Array(count);
    let sent = 0;
    let done = 0;
    let lost = 0;
    let lateMs = 0;
    const t0 = performance.now() + 5;
    const finishIfDone = (): void => {
      if (sent < count || done + lost < count) return;
      clearInterval(sweeper);
      resolve({ latencies: latencies.subarray(0, done), lost, sent, lateMs });
    };
    const pump = (): void => {
      const now = performance.now();
      while (sent < count) {
        const due = t0 + (sent * 1000) / rate;
        if (due > now) break;
        lateMs = Math.max(lateMs, now - due);
        const { peer, event } = pick();
        sendAnnounce(sent++, peer, event, due, () => {
          latencies[done++] = performance.now() - due;
          finishIfDone();
        });
      }
      if (sent < count) setTimeout(pump, 0);
    };
    const sweeper = sweepLost(() => {
      lost++;
      finishIfDone();
    });
    pump();
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

await openSockets();
const populate = await run(PEERS, WINDOW, (k) => ({ peer: k, event: 2 }));
const measure = await run(REQUESTS, WINDOW, () => ({ peer: rand(PEERS), event: 0 }));
const sorted = Float64Array.from(measure.latencies).sort();
// Latency at a fixed offered load; lost requests sort last (infinitely slow).
const paced = await runAtRate(RATE, RATE_SECONDS, () => ({ peer: rand(PEERS), event: 0 }));
const pacedSorted = new Float64Array(paced.latencies.length + paced.lost).fill(Number.POSITIVE_INFINITY);
pacedSorted.set(paced.latencies);
pacedSorted.sort();
// Service latency without queueing: one request in flight.
const single = await run(SINGLE, 1, () => ({ peer: rand(PEERS), event: 0 }));
const singleSorted = Float64Array.from(single.latencies).sort();
console.log(
  JSON.stringify({
    populate: {
      announces: PEERS,
      seconds: populate.seconds,
      perSecond: PEERS / populate.seconds,
      lost: populate.lost,
    },
    measure: {
      announces: REQUESTS,
      seconds: measure.seconds,
      perSecond: measure.latencies.length / measure.seconds,
      lost: measure.lost,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    },
    paced: {
      rate: RATE,
      announces: paced.sent,
      lost: paced.lost,
      p50Ms: percentile(pacedSorted, 50),
      p99Ms: percentile(pacedSorted, 99),
      p999Ms: percentile(pacedSorted, 99.9),
      generatorLateMs: paced.lateMs,
    },
    single: {
      announces: SINGLE,
      p50Ms: percentile(singleSorted, 50),
      p99Ms: percentile(singleSorted, 99),
      lost: single.lost,
    },
    window: WINDOW,
    sockets: SOCKETS,
  }),
);
clearTimeout(deadline);
for (const s of sockets) s.close();
