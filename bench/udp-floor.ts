/**
 * `npm run bench:udp-floor [-- --runs N --mib M]` — what Node's `dgram` alone costs per datagram on
 * this machine, the floor under any uTP written on it, beside Shoal's uTP stream at the same
 * datagram size in the same run.
 *
 * Floor: a sender process pushes M MiB (default 256) of datagrams of one size to a receiver
 * process on 127.0.0.1, at most 32 sends in flight (so the sender never grows a queue), with no
 * protocol on top and no acknowledgements. Each side's CPU time (user + system, `cpuUsage`) is
 * divided by the datagrams it handled: the sender's per datagram sent, the receiver's per
 * datagram received (a receiver overrun drops datagrams; their cost is not counted for it).
 *
 * Beside it: `bench/utp-pipe.ts M 1472` (a Shoal → Shoal uTP stream forced to 1472-byte
 * datagrams, as towards libtorrent) and the same stream with datagrams as large as loopback
 * carries. Medians of N runs (default 3), alternated.
 *
 * Read it as: the uTP sender handles at least one datagram sent and one ACK received per 1472
 * bytes (at most one ACK per two data packets when they arrive together), the receiver the
 * reverse; so the floor per GiB of a uTP side is about (send + receive cost) × 730,000 / 2–1.
 */
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { stopOnInterrupt, throwIfInterrupted } from './interrupt.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const RUNS = arg('runs', 3);
const MIB = arg('mib', 256);
const SIZES = [1472, 16_384, 65_000];
const IN_FLIGHT = 32;
const SELF = fileURLToPath(import.meta.url);

interface Side {
  readonly datagrams: number;
  readonly bytes: number;
  readonly cpuS: number;
}

if (process.argv[2] === 'receiver') {
  const s = createSocket('udp4');
  let bytes = 0;
  let datagrams = 0;
  let cpu0 = process.cpuUsage();
  s.on('message', (m) => {
    if (datagrams === 0) cpu0 = process.cpuUsage();
    bytes += m.length;
    datagrams++;
  });
  process.on('message', (m) => {
    if (m !== 'done') return;
    // Datagrams still in the socket's queue arrive within this pause.
    setTimeout(() => {
      const u = process.cpuUsage(cpu0);
      process.send?.({ datagrams, bytes, cpuS: (u.user + u.system) / 1e6 } satisfies Side);
      s.close();
      process.disconnect();
    }, 200);
  });
  s.bind(0, '127.0.0.1', () => {
    s.setRecvBufferSize(4 << 20);
    process.send?.(s.address().port);
  });
}

/** One floor run: sender here, receiver in a child. */
async function floor(size: number): Promise<{ send: Side; recv: Side }> {
  throwIfInterrupted();
  const child = stopOnInterrupt(fork(SELF, ['receiver'], { execArgv: process.execArgv }));
  const port = await new Promise<number>((r) => child.once('message', (m) => r(m as number)));
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  s.setSendBufferSize(4 << 20);
  const buf = Buffer.alloc(size, 7);
  const total = MIB * 2 ** 20;
  let sent = 0;
  let inFlight = 0;
  const cpu0 = process.cpuUsage();
  await new Promise<void>((done) => {
    const burst = (): void => {
      while (inFlight < IN_FLIGHT && sent < total) {
        inFlight++;
        sent += size;
        s.send(buf, port, '127.0.0.1', () => {
          inFlight--;
          if (sent >= total && inFlight === 0) done();
          else if (inFlight < IN_FLIGHT / 2) setImmediate(burst);
        });
      }
    };
    burst();
  });
  const u = process.cpuUsage(cpu0);
  s.close();
  child.send('done');
  const recv = await new Promise<Side>((r) =>
    child.on('message', (m) => typeof m === 'object' && r(m as Side)),
  );
  await new Promise((r) => child.once('exit', r));
  return { send: { datagrams: Math.ceil(total / size), bytes: sent, cpuS: (u.user + u.system) / 1e6 }, recv };
}

/** One uTP stream run (bench/utp-pipe.ts): MiB/s and each side's CPU s per GiB. */
async function utp(
  maxDatagram: number | undefined,
): Promise<{ mibps: number; sendS: number; recvS: number }> {
  const script = fileURLToPath(new URL('./utp-pipe.ts', import.meta.url));
  throwIfInterrupted();
  const child = stopOnInterrupt(
    fork(script, [String(MIB), maxDatagram === undefined ? '' : String(maxDatagram)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    }),
  );
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`utp-pipe exited ${code}: ${out}`);
  const m = /([\d.]+) MiB\/s; CPU s\/GiB sender ([\d.]+), receiver ([\d.]+)/.exec(out);
  if (m === null) throw new Error(`utp-pipe printed no figures: ${out}`);
  return { mibps: Number(m[1]), sendS: Number(m[2]), recvS: Number(m[3]) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const floors = new Map<number, { send: Side; recv: Side }[]>();
  const streams = new Map<string, { mibps: number; sendS: number; recvS: number }[]>();
  for (let r = 0; r < RUNS; r++) {
    for (const size of SIZES) {
      const f = await floor(size);
      floors.set(size, [...(floors.get(size) ?? []), f]);
    }
    for (const [name, max] of [
      ['Shoal uTP, 1472-byte datagrams', 1472],
      ['Shoal uTP, as large as loopback carries', undefined],
    ] as const) {
      streams.set(name, [...(streams.get(name) ?? []), await utp(max)]);
    }
    console.log(`run ${r + 1} of ${RUNS} done`);
  }
  const gib = (s: Side) => s.bytes / 2 ** 30;
  console.log(
    `\n| dgram alone, ${MIB} MiB, median of ${RUNS} | sender µs a datagram | sender CPU s per GiB | receiver µs a datagram | receiver CPU s per GiB | received |`,
  );
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const size of SIZES) {
    const fs = floors.get(size)!;
    const sendUs = median(fs.map((f) => (f.send.cpuS * 1e6) / f.send.datagrams));
    const sendGiB = median(fs.map((f) => f.send.cpuS / gib(f.send)));
    const recvUs = median(fs.map((f) => (f.recv.cpuS * 1e6) / Math.max(1, f.recv.datagrams)));
    const recvGiB = median(fs.map((f) => f.recv.cpuS / Math.max(1e-9, gib(f.recv))));
    const got = median(fs.map((f) => f.recv.bytes / f.send.bytes));
    console.log(
      `| ${size} B | ${sendUs.toFixed(2)} | ${sendGiB.toFixed(2)} | ${recvUs.toFixed(2)} | ${recvGiB.toFixed(2)} | ${(got * 100).toFixed(0)} % |`,
    );
  }
  console.log(
    `\n| uTP stream, ${MIB} MiB, median of ${RUNS} | MiB/s | sender CPU s per GiB | receiver CPU s per GiB |`,
  );
  console.log('|---|---:|---:|---:|');
  for (const [name, rs] of streams)
    console.log(
      `| ${name} | ${median(rs.map((x) => x.mibps)).toFixed(1)} | ${median(rs.map((x) => x.sendS)).toFixed(2)} | ${median(rs.map((x) => x.recvS)).toFixed(2)} |`,
    );
}

if (process.argv[2] !== 'receiver') await main();
