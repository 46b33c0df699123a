/**
 * `node --import tsx bench/utp.ts [MiB] [runs] [max datagram bytes]` — how fast does uTP move a torrent over loopback?
 *
 * One v1 torrent of MiB (default 256) pseudo-random bytes, 1 MiB pieces, is seeded by a uTP-only
 * python3-libtorrent (test/interop/py/lt_peer.py --utp-only) and downloaded, `runs` times each
 * (default 3), by:
 *
 *   - libtorrent (uTP only): the anchor, libtorrent's own uTP both ends;
 *   - Shoal's UtpTransport with a minimal BitTorrent downloader on Shoal's wire codec (handshake,
 *     interested, 64 requests of 16 KiB in flight, every piece's SHA-1 checked), so the figure is
 *     the transport's, not the session's.
 *
 * And the other way: a uTP-only libtorrent leecher dials Shoal's UtpTransport, which serves
 * every request from memory (test/helpers/utp-wire.ts); libtorrent checks every piece. The third
 * argument sets Shoal's largest datagram (path-MTU probing ceiling; default 1472). libtorrent
 * 2.0.8 drops uTP datagrams larger than about 1500 bytes (seen: 1500 arrive, 2100 never do), so
 * a larger ceiling stalls Shoal → libtorrent; it only helps Shoal → Shoal.
 *
 * And Shoal → Shoal: two UtpTransports in this one process pour the same byte count through one
 * stream (sender and receiver share this thread). Prints MiB/s per run and the medians.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseTorrent } from '../src/metainfo/index.js';
import type { PeerStream } from '../src/net/transport.js';
import { UtpTransport } from '../src/net/utp-transport.js';
import { createTorrent } from '../src/storage/index.js';
import { encodeHandshake, encodeMessage, FrameDecoder, makeReserved } from '../src/wire/index.js';
import { pseudoRandomBytes } from '../test/helpers/payload.js';
import { servePieces, Wire } from '../test/helpers/utp-wire.js';
import { removeOnInterrupt, stopOnInterrupt, throwIfInterrupted } from './interrupt.js';

const MIB = Number(process.argv[2] ?? 256);
const RUNS = Number(process.argv[3] ?? 3);
/** Largest uTP datagram Shoal sends to libtorrent (path-MTU probing ceiling). */
const MAX_DATAGRAM = Number(process.argv[4] ?? 1472);
const PIECE = 1024 * 1024;
const BLOCK = 16 * 1024;
const IN_FLIGHT = 64;
const LT_PEER = new URL('../test/interop/py/lt_peer.py', import.meta.url).pathname;

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
/** Bound of one transfer. */
const TRANSFER_TIMEOUT_MS = 180_000;
function within<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`${what}: no result after ${TRANSFER_TIMEOUT_MS} ms`)),
        TRANSFER_TIMEOUT_MS,
      ).unref(),
    ),
  ]);
}

function libtorrent(args: string[]): {
  proc: ChildProcess;
  line: (t: string) => Promise<Record<string, unknown>>;
} {
  throwIfInterrupted();
  const proc = stopOnInterrupt(
    spawn('/usr/bin/python3', [LT_PEER, ...args, '--utp-only'], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const waiting = new Map<string, (v: Record<string, unknown>) => void>();
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    if (!l.startsWith('{')) return;
    const ev = JSON.parse(l) as Record<string, unknown>;
    waiting.get(String(ev.t))?.(ev);
    if (ev.t === 'error') throw new Error(`libtorrent: ${String(ev.msg)}`);
  });
  return { proc, line: (t) => new Promise((r) => waiting.set(t, r)) };
}

function stop(p: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (p.exitCode !== null) return r();
    p.once('exit', () => r());
    p.stdin?.end();
    p.kill('SIGTERM');
  });
}

async function shoalDownload(
  port: number,
  infoHash: Uint8Array,
  pieces: Uint8Array,
  count: number,
  lastLen: number,
) {
  const t = new UtpTransport();
  const stream: PeerStream = await t.dial('127.0.0.1', port, { timeoutMs: 10_000 });
  const decoder = new FrameDecoder({ handshake: true, borrowedChunks: true, pieceCount: count });
  const lenOf = (i: number) => (i === count - 1 ? lastLen : PIECE);
  // libtorrent answers from its disk cache asynchronously: blocks of several pieces interleave.
  const assembling = new Map<number, { buf: Uint8Array; have: number }>();
  let got = 0;
  let piece = 0; // pieces completed
  let nextReq = 0; // block index over the whole torrent
  const totalBlocks = Array.from({ length: count }, (_, i) => Math.ceil(lenOf(i) / BLOCK)).reduce(
    (a, b) => a + b,
    0,
  );
  let outstanding = 0;
  let bad = 0;
  const blockAt = (k: number) => {
    const i = Math.floor((k * BLOCK) / PIECE);
    const begin = k * BLOCK - i * PIECE;
    return { index: i, begin, length: Math.min(BLOCK, lenOf(i) - begin) };
  };
  const request = () => {
    stream.cork();
    while (outstanding < IN_FLIGHT && nextReq < totalBlocks) {
      stream.write(encodeMessage({ type: 'request', ...blockAt(nextReq++) }));
      outstanding++;
    }
    stream.uncork();
  };
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    stream.bind({
      data: (chunk) => {
        for (const m of decoder.push(chunk)) {
          if (m.type === 'unchoke') request();
          else if (m.type === 'have-all' || m.type === 'bitfield')
            stream.write(encodeMessage({ type: 'interested' }));
          else if (m.type === 'piece') {
            outstanding--;
            let a = assembling.get(m.index);
            if (a === undefined) {
              a = { buf: new Uint8Array(lenOf(m.index)), have: 0 };
              assembling.set(m.index, a);
            }
            a.buf.set(m.block, m.begin);
            a.have += m.block.length;
            got += m.block.length;
            if (a.have === lenOf(m.index)) {
              assembling.delete(m.index);
              const d = createHash('sha1').update(a.buf).digest();
              if (!d.equals(pieces.subarray(m.index * 20, m.index * 20 + 20))) bad++;
              if (++piece === count) {
                resolve();
                return;
              }
            }
            request();
          }
        }
      },
      drain: () => {},
      close: (e) => (piece === count ? resolve() : reject(e ?? new Error('closed early'))),
    });
    stream.write(
      encodeHandshake({
        infoHash,
        peerId: new Uint8Array(20).fill(0x42),
        reserved: makeReserved({ fast: true }),
      }),
    );
  });
  const secs = (performance.now() - t0) / 1000;
  const c = (stream as unknown as { connection: { stats: object; mtuFloor: number } }).connection;
  stream.destroy();
  await t.close();
  if (bad > 0) throw new Error(`${bad} pieces failed their hash`);
  return { mibps: got / secs / 2 ** 20, stats: c.stats, mtu: c.mtuFloor };
}

/** Shoal seeds `data` to a uTP-only libtorrent leecher that dials it; MiB/s from its 'added' line. */
async function shoalToLibtorrent(
  torrent: string,
  out: string,
  port: number,
  infoHash: Uint8Array,
  count: number,
  data: Uint8Array,
) {
  const t = new UtpTransport({ maxDatagramBytes: MAX_DATAGRAM });
  let conn: { stats: object; mtuFloor: number } | undefined;
  const listenPort = await t.listen({ host: '127.0.0.1', port: 0 }, (s) => {
    let first = true;
    s.bind({
      data: (c) => {
        if (!first) return;
        first = false;
        // libtorrent tries MSE first; Shoal has none: refuse, it retries in plaintext.
        if (c[0] !== 19) return s.destroy();
        conn = (s as unknown as { connection: { stats: object; mtuFloor: number } }).connection;
        void servePieces(new Wire(s, count, c), { infoHash, pieceBytes: PIECE, data });
      },
      drain: () => {},
      close: () => {},
    });
  });
  const lt = libtorrent([
    '--torrent',
    torrent,
    '--save',
    out,
    '--port',
    String(port),
    '--connect',
    String(listenPort),
    '--exit-when-done',
    '--status-ms',
    '100000',
  ]);
  const added = await lt.line('added');
  const fin = await within(lt.line('finished'), 'Shoal → libtorrent');
  await stop(lt.proc);
  await t.close();
  return { mibps: MIB / (Number(fin.ts) - Number(added.ts)), conn };
}

async function shoalToShoal(bytes: number): Promise<number> {
  const a = new UtpTransport({ maxDatagramBytes: 65_507 });
  const b = new UtpTransport({ maxDatagramBytes: 65_507 });
  let t0 = 0;
  const done = new Promise<number>((resolve) => {
    void b.listen({ host: '127.0.0.1', port: 0 }, (s) => {
      let got = 0;
      s.bind({
        data: (c) => {
          got += c.length;
          if (got === bytes) resolve(bytes / ((performance.now() - t0) / 1000) / 2 ** 20);
        },
        drain: () => {},
        close: () => {},
      });
    });
  });
  await new Promise((r) => setTimeout(r, 50));
  t0 = performance.now();
  const s = await a.dial('127.0.0.1', b.port, { timeoutMs: 5000 });
  const chunk = new Uint8Array(256 * 1024).fill(7);
  let sent = 0;
  const pump = () => {
    while (sent < bytes) {
      const n = Math.min(chunk.length, bytes - sent);
      sent += n;
      if (!s.write(chunk.subarray(0, n))) return;
    }
  };
  s.bind({ data: () => {}, drain: pump, close: () => {} });
  pump();
  const r = await done;
  s.destroy();
  await a.close();
  await b.close();
  return r;
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-utp-'));
const undoDir = removeOnInterrupt(dir);
try {
  const seedDir = join(dir, 'seed');
  await mkdir(seedDir, { recursive: true });
  const file = join(seedDir, 'data.bin');
  const seedBytes = pseudoRandomBytes(MIB * 2 ** 20, 5);
  await writeFile(file, seedBytes);
  const t = await createTorrent(file, { version: 'v1', pieceLength: PIECE });
  const torrent = join(dir, 'b.torrent');
  await writeFile(torrent, t.bytes);
  const meta = parseTorrent(t.bytes);
  const lastLen = meta.totalLength - (meta.pieceCount - 1) * PIECE;
  const seedPort = 20_000 + Math.floor(Math.random() * 20_000);
  const seeder = libtorrent(['--torrent', torrent, '--save', seedDir, '--port', String(seedPort), '--seed']);
  await seeder.line('ready');
  const rows: { who: string; mibps: number[] }[] = [
    { who: 'libtorrent → libtorrent (uTP)', mibps: [] },
    { who: 'libtorrent → Shoal UtpTransport', mibps: [] },
    { who: 'Shoal UtpTransport → libtorrent', mibps: [] },
    { who: 'Shoal → Shoal UtpTransport (one process)', mibps: [] },
  ];
  for (let run = 0; run < RUNS; run++) {
    const out = join(dir, `lt-${run}`);
    await mkdir(out);
    const port = seedPort + 1 + run;
    const lt = libtorrent([
      '--torrent',
      torrent,
      '--save',
      out,
      '--port',
      String(port),
      '--connect',
      String(seedPort),
      '--exit-when-done',
      '--status-ms',
      '100000',
    ]);
    const added = await lt.line('added');
    const fin = await within(lt.line('finished'), 'libtorrent → libtorrent');
    const secs = Number(fin.ts) - Number(added.ts);
    rows[0]!.mibps.push(MIB / secs);
    await stop(lt.proc);
    await rm(out, { recursive: true, force: true });
    const s = await within(
      shoalDownload(seedPort, meta.infoHashV1!, meta.pieces!, meta.pieceCount, lastLen),
      'libtorrent → Shoal',
    );
    rows[1]!.mibps.push(s.mibps);
    console.log(
      `run ${run + 1}: lt→lt ${rows[0]!.mibps.at(-1)!.toFixed(1)}, lt→shoal ${s.mibps.toFixed(1)} MiB/s (mtu ${s.mtu}, ${JSON.stringify(s.stats)})`,
    );
    const up = join(dir, `up-${run}`);
    await mkdir(up);
    const u = await shoalToLibtorrent(torrent, up, port + 100, meta.infoHashV1!, meta.pieceCount, seedBytes);
    rows[2]!.mibps.push(u.mibps);
    await rm(up, { recursive: true, force: true });
    console.log(
      `run ${run + 1}: shoal→lt ${u.mibps.toFixed(1)} MiB/s (mtu ${u.conn?.mtuFloor}, ${JSON.stringify(u.conn?.stats)})`,
    );
    rows[3]!.mibps.push(await shoalToShoal(MIB * 2 ** 20));
    console.log(`run ${run + 1}: shoal→shoal ${rows[3]!.mibps.at(-1)!.toFixed(1)} MiB/s`);
  }
  console.log(
    `\n${MIB} MiB over uTP on 127.0.0.1, median of ${RUNS} (MiB/s; lt→lt counts from libtorrent's torrent added)`,
  );
  for (const r of rows)
    console.log(
      `  ${r.who.padEnd(42)} ${median(r.mibps).toFixed(1).padStart(8)}   [${r.mibps.map((x) => x.toFixed(1)).join(', ')}]`,
    );
  await stop(seeder.proc);
} finally {
  await rm(dir, { recursive: true, force: true });
  undoDir();
}
