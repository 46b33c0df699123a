/**
 * `node --import tsx bench/utp-pipe.ts [MiB] [max datagram bytes]` — raw Shoal → Shoal uTP
 * stream throughput between two processes on 127.0.0.1 (no BitTorrent on top), with each side's
 * CPU time. For profiling the transport: run it under `node --cpu-prof` (the child inherits
 * `execArgv`). Prints MiB/s and CPU s per GiB of each side.
 */
import { fork } from 'node:child_process';
import { UtpTransport } from '../src/net/utp-transport.js';
import { stopOnInterrupt } from './interrupt.js';

const MIB = Number(process.argv[2] ?? 256);
const MAX_DATAGRAM = (process.argv[3] ?? '') === '' ? undefined : Number(process.argv[3]);
const BYTES = MIB * 2 ** 20;
// A given size is a fixed ceiling (no raise for loopback: largeDatagramBytes 0).
const opts = MAX_DATAGRAM === undefined ? {} : { maxDatagramBytes: MAX_DATAGRAM, largeDatagramBytes: 0 };

if (process.argv[4] === 'receiver') {
  const t = new UtpTransport(opts);
  let got = 0;
  let t0 = 0;
  let cpu0 = process.cpuUsage();
  const port = await t.listen({ host: '127.0.0.1', port: 0 }, (s) => {
    t0 = performance.now();
    cpu0 = process.cpuUsage();
    s.bind({
      data: (c) => {
        got += c.length;
        if (got >= BYTES) {
          const secs = (performance.now() - t0) / 1000;
          const cpu = process.cpuUsage(cpu0);
          const c = (s as unknown as { connection: { stats: object; mtuFloor: number } }).connection;
          process.send?.({
            mibps: MIB / secs,
            cpuS: (cpu.user + cpu.system) / 1e6,
            stats: c.stats,
            maxRssMB: process.resourceUsage().maxRSS / 1024,
          });
          s.destroy();
          void t.close().then(() => process.exit(0));
        }
      },
      drain: () => {},
      close: () => {},
    });
  });
  process.send?.({ port });
} else {
  const child = stopOnInterrupt(
    fork(
      new URL(import.meta.url).pathname,
      [String(MIB), MAX_DATAGRAM === undefined ? '' : String(MAX_DATAGRAM), 'receiver'].map((a) => a),
      {
        execArgv: process.execArgv,
      },
    ),
  );
  const port = await new Promise<number>((r) => child.once('message', (m: { port: number }) => r(m.port)));
  const a = new UtpTransport(opts);
  const s = await a.dial('127.0.0.1', port, { timeoutMs: 5000 });
  const chunk = new Uint8Array(256 * 1024).fill(7);
  let sent = 0;
  const pump = () => {
    while (sent < BYTES) {
      const n = Math.min(chunk.length, BYTES - sent);
      sent += n;
      if (!s.write(chunk.subarray(0, n))) return;
    }
  };
  s.bind({ data: () => {}, drain: pump, close: () => {} });
  const cpu0 = process.cpuUsage();
  pump();
  const r = await new Promise<{ mibps: number; cpuS: number; stats: object; maxRssMB: number }>((res) =>
    child.on('message', res),
  );
  const cpu = process.cpuUsage(cpu0);
  const gib = BYTES / 2 ** 30;
  console.log(
    `${MIB} MiB, max datagram ${MAX_DATAGRAM ?? 'default'}: ${r.mibps.toFixed(1)} MiB/s; CPU s/GiB sender ${((cpu.user + cpu.system) / 1e6 / gib).toFixed(2)}, receiver ${(r.cpuS / gib).toFixed(2)}`,
  );
  const c = (s as unknown as { connection: { stats: object; mtuFloor: number } }).connection;
  console.log(
    `sender: floor ${c.mtuFloor} B, ${JSON.stringify(c.stats)}; receiver: ${JSON.stringify(r.stats)}`,
  );
  s.destroy();
  await a.close();
  process.exit(0);
}
