/**
 * Run inside a test-made network namespace (test/helpers/netns.ts) by the impairment tests; prints
 * one JSON line with what it measured.
 *
 *   transfer HOST BYTES  two UtpTransports in this process: one listens on HOST, the other dials it
 *                        and sends BYTES seeded pseudo-random bytes with back-pressure; prints the
 *                        sha256 sent and received, the byte counts and the seconds taken.
 *   sink HOST SECONDS    listens for a uTP flow and a TCP flow on HOST; once TCP has run for SETTLE_MS
 *                        beside uTP, counts what each delivers in SECONDS.
 *   source HOST SECONDS  pours into a uTP flow to the sink, and after UTP_ALONE_MS into a TCP flow too,
 *                        for SECONDS; both as fast as back-pressure lets them.
 */
import { createHash } from 'node:crypto';
import { TcpTransport } from '../../src/net/tcp-transport.js';
import type { PeerStream } from '../../src/net/transport.js';
import { UtpTransport } from '../../src/net/utp-transport.js';
import { pseudoRandomBytes } from './payload.js';

const UTP_ALONE_MS = 3_000;
const SETTLE_MS = 3_000;
const DIAL_TIMEOUT_MS = 10_000;
const CHUNK = 64 * 1024;

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `data` to `s` with back-pressure; resolves when all of it is queued. */
function send(s: PeerStream, data: Uint8Array): Promise<void> {
  let at = 0;
  return new Promise((resolve) => {
    const pump = () => {
      while (at < data.length) {
        const n = Math.min(CHUNK, data.length - at);
        const ok = s.write(data.subarray(at, at + n));
        at += n;
        if (!ok) return;
      }
      resolve();
    };
    s.bind({ data: () => {}, drain: pump, close: () => {} });
    pump();
  });
}

/** Writes `chunk` to `s` over and over while `on()`, with back-pressure. */
function pour(s: PeerStream, chunk: Uint8Array, on: () => boolean): void {
  const pump = () => {
    while (on() && s.isOpen) if (!s.write(chunk)) return;
  };
  s.bind({ data: () => {}, drain: pump, close: () => {} });
  pump();
}

async function transfer(host: string, bytes: number): Promise<Record<string, unknown>> {
  const data = pseudoRandomBytes(bytes, 7);
  const a = new UtpTransport();
  const b = new UtpTransport();
  try {
    const h = createHash('sha256');
    let received = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => {
      done = r;
    });
    const port = await b.listen({ host, port: 0 }, (s) =>
      s.bind({
        data: (c) => {
          h.update(c);
          received += c.length;
          if (received >= bytes) done();
        },
        drain: () => {},
        close: () => done(),
      }),
    );
    const t0 = performance.now();
    const client = await a.dial(host, port, { timeoutMs: DIAL_TIMEOUT_MS });
    await send(client, data);
    await all;
    const seconds = (performance.now() - t0) / 1000;
    const stats = [...a.endpoint.connections()][0]?.stats;
    return {
      sent: createHash('sha256').update(data).digest('hex'),
      received: h.digest('hex'),
      bytes: received,
      seconds,
      timeouts: stats?.timeouts ?? 0,
    };
  } finally {
    await a.close();
    await b.close();
  }
}

/** Ports the sink listens on (in a namespace of the test's own, so fixed ports are free). */
const SINK_UTP_PORT = 6881;
const SINK_TCP_PORT = 6882;

/**
 * Counts the bytes each flow delivers: prints `{"ready":true}` once listening, then, once the
 * TCP flow has run for SETTLE_MS, the rates of both over SECONDS.
 */
async function sink(host: string, seconds: number): Promise<Record<string, unknown>> {
  const utp = new UtpTransport();
  const tcp = new TcpTransport();
  const got = { utp: 0, tcp: 0 };
  let tcpStarted!: () => void;
  const tcpStart = new Promise<void>((r) => {
    tcpStarted = r;
  });
  let utpStartMs = 0;
  const counter = (k: 'utp' | 'tcp') => (s: PeerStream) =>
    s.bind({
      data: (c) => {
        if (got[k] === 0 && k === 'tcp') tcpStarted();
        if (got[k] === 0 && k === 'utp') utpStartMs = performance.now();
        got[k] += c.length;
      },
      drain: () => {},
      close: () => {},
    });
  try {
    await utp.listen({ host, port: SINK_UTP_PORT }, counter('utp'));
    await tcp.listen({ host, port: SINK_TCP_PORT }, counter('tcp'));
    console.log(JSON.stringify({ ready: true }));
    await tcpStart;
    const alone = got.utp / ((performance.now() - utpStartMs) / 1000);
    await delay(SETTLE_MS);
    const u0 = got.utp;
    const t0 = got.tcp;
    await delay(seconds * 1000);
    return { utpAlone: alone, utp: (got.utp - u0) / seconds, tcp: (got.tcp - t0) / seconds };
  } finally {
    await Promise.all([utp.close(), tcp.close()]);
  }
}

/** Pours into a uTP flow to the sink at `host`, and after UTP_ALONE_MS into a TCP flow too, for SECONDS. */
async function source(host: string, seconds: number): Promise<Record<string, unknown>> {
  const chunk = pseudoRandomBytes(CHUNK, 9);
  const utp = new UtpTransport();
  const tcp = new TcpTransport();
  let on = true;
  try {
    const u = await utp.dial(host, SINK_UTP_PORT, { timeoutMs: DIAL_TIMEOUT_MS });
    pour(u, chunk, () => on);
    await delay(UTP_ALONE_MS);
    const t = await tcp.dial(host, SINK_TCP_PORT, { timeoutMs: DIAL_TIMEOUT_MS });
    pour(t, chunk, () => on);
    await delay(seconds * 1000);
    on = false;
    u.destroy();
    t.destroy();
    return { done: true };
  } finally {
    on = false;
    await Promise.all([utp.close(), tcp.close()]);
  }
}

const [mode, host, n] = process.argv.slice(2);
const result =
  mode === 'transfer'
    ? await transfer(host!, Number(n))
    : mode === 'sink'
      ? await sink(host!, Number(n))
      : mode === 'source'
        ? await source(host!, Number(n))
        : undefined;
if (result === undefined) throw new Error(`unknown mode ${mode}`);
console.log(JSON.stringify(result));
process.exit(0);
