/**
 * `npm run bench:rc4` — throughput of Shoal's TypeScript RC4 (src/wire/mse/rc4.ts) beside
 * OpenSSL's, measured in the same run, and the CPU cost of one MSE handshake.
 *
 * - TypeScript: `process` (in place, as the connection layer decrypts reads) and `processTo`
 *   (into another buffer, as it encrypts writes), over 64 KiB and 16 KiB chunks.
 * - OpenSSL: node:crypto's `createCipheriv('rc4', key, null).update(chunk)`. OpenSSL 3 keeps RC4
 *   in its legacy provider, so that part runs in a child process started with
 *   `--openssl-legacy-provider`. `update` returns a fresh buffer per call (node has no in-place
 *   form), which is part of what a caller of that API pays.
 * - Handshake: one MSE initiator and one responder completing a handshake in memory (two DH
 *   public keys, two shared secrets, the hashes, four RC4 key schedules with their 1024-byte
 *   discards), and the DH operations alone.
 *
 * Runs alternate between the implementations so that noise from other work on the machine
 * spreads evenly; the table gives medians. Environment: BENCH_RUNS (default 7), BENCH_MIB (MiB
 * per run and implementation, default 64).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import {
  MseInitiator,
  MseResponder,
  msePrivateKey,
  msePublicKey,
  mseReq2Hash,
  mseSharedSecret,
  Rc4,
} from '../src/wire/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const MIB = Number(process.env.BENCH_MIB ?? 64);
const KEY = new Uint8Array(randomBytes(20));
const HANDSHAKES = 200;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** MB/s (10^6 bytes per second) of `fn` over `chunks` calls on `chunk`-byte buffers. */
function rate(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

function tsInPlace(chunk: number): number {
  const rc4 = new Rc4(KEY, 1024);
  const buf = new Uint8Array(chunk);
  const n = Math.ceil((MIB * 1024 * 1024) / chunk);
  for (let k = 0; k < 64; k++) rc4.process(buf); // warm-up
  const t = performance.now();
  for (let k = 0; k < n; k++) rc4.process(buf);
  return rate(n * chunk, performance.now() - t);
}

function tsInto(chunk: number): number {
  const rc4 = new Rc4(KEY, 1024);
  const src = new Uint8Array(chunk);
  const dst = new Uint8Array(chunk);
  const n = Math.ceil((MIB * 1024 * 1024) / chunk);
  for (let k = 0; k < 64; k++) rc4.processTo(src, dst);
  const t = performance.now();
  for (let k = 0; k < n; k++) rc4.processTo(src, dst);
  return rate(n * chunk, performance.now() - t);
}

/** The OpenSSL child: one measured run per chunk size after a warm-up; prints JSON. */
const OPENSSL_CHILD = `
const crypto = require('node:crypto');
const [mib, ...sizes] = process.argv.slice(1).map(Number);
const key = crypto.randomBytes(20);
const out = {};
for (const chunk of sizes) {
  const c = crypto.createCipheriv('rc4', key, null);
  const buf = Buffer.alloc(chunk);
  const n = Math.ceil((mib * 1024 * 1024) / chunk);
  for (let k = 0; k < 64; k++) c.update(buf);
  const t = performance.now();
  for (let k = 0; k < n; k++) c.update(buf);
  out[chunk] = (n * chunk) / 1e6 / ((performance.now() - t) / 1000);
}
console.log(JSON.stringify(out));
`;

function openssl(sizes: number[]): Record<string, number> | string {
  const r = spawnSync(
    process.execPath,
    ['--openssl-legacy-provider', '-e', OPENSSL_CHILD, String(MIB), ...sizes.map(String)],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0)
    return `OpenSSL RC4 unavailable: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`;
  return JSON.parse(r.stdout) as Record<string, number>;
}

/** One full in-memory handshake, both sides; returns the ms it took. */
function handshake(): number {
  const skey = new Uint8Array(randomBytes(20));
  const req2 = Buffer.from(mseReq2Hash(skey)).toString('hex');
  const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
  const t = performance.now();
  const a = new MseInitiator({
    skey,
    provide: { plaintext: true, rc4: true },
    ia: new Uint8Array(68),
    random,
  });
  const b = new MseResponder({
    findSkey: (h) => (Buffer.from(h).toString('hex') === req2 ? skey : undefined),
    allow: { plaintext: true, rc4: true },
    prefer: 'rc4',
    random,
  });
  const s1 = b.push(a.start());
  const s2 = a.push(s1.send!);
  const s3 = b.push(s2.send!);
  const s4 = a.push(s3.send!);
  const ms = performance.now() - t;
  if (s3.result === undefined || s4.result === undefined) throw new Error('handshake did not complete');
  return ms;
}

function dhOnly(): { pub: number; secret: number } {
  const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
  const xs = Array.from({ length: HANDSHAKES }, () => msePrivateKey(random));
  let t = performance.now();
  const ys = xs.map((x) => msePublicKey(x));
  const pub = (performance.now() - t) / HANDSHAKES;
  t = performance.now();
  for (let k = 0; k < HANDSHAKES; k++) mseSharedSecret(xs[k]!, ys[(k + 1) % HANDSHAKES]!);
  const secret = (performance.now() - t) / HANDSHAKES;
  return { pub, secret };
}

const SIZES = [64 * 1024, 16 * 1024];
console.log(
  `bench:rc4 — ${RUNS} runs of ${MIB} MiB per implementation and chunk size; node ${process.version}, ` +
    `${cpus()[0]?.model ?? '?'} ×${cpus().length}, load ${loadavg()[0]!.toFixed(2)}`,
);
const firstDhMs = (() => {
  const t = performance.now();
  msePublicKey(msePrivateKey((n) => new Uint8Array(randomBytes(n))));
  return performance.now() - t;
})();
const results: Record<string, number[]> = {};
const push = (name: string, v: number): void => {
  results[name] ??= [];
  results[name].push(v);
};
let opensslNote: string | undefined;
for (let r = 0; r < RUNS; r++) {
  for (const size of SIZES) {
    push(`TypeScript process (in place), ${size / 1024} KiB chunks`, tsInPlace(size));
    push(`TypeScript processTo (copy), ${size / 1024} KiB chunks`, tsInto(size));
  }
  const o = openssl(SIZES);
  if (typeof o === 'string') opensslNote = o;
  else for (const size of SIZES) push(`OpenSSL update (node:crypto), ${size / 1024} KiB chunks`, o[size]!);
}
console.log('\n| RC4 | MB/s (median) | min | max |\n|---|---|---|---|');
for (const [name, xs] of Object.entries(results)) {
  console.log(
    `| ${name} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${Math.max(...xs).toFixed(0)} |`,
  );
}
if (opensslNote !== undefined) console.log(`\n${opensslNote}`);

for (let k = 0; k < 20; k++) handshake(); // warm-up
const hs: number[] = [];
for (let k = 0; k < HANDSHAKES; k++) hs.push(handshake());
const dh = dhOnly();
console.log('\n| MSE handshake CPU | ms |\n|---|---|');
console.log(`| full handshake, initiator + responder (median of ${HANDSHAKES}) | ${median(hs).toFixed(3)} |`);
console.log(`| one DH public key (mean) | ${dh.pub.toFixed(3)} |`);
console.log(`| one DH shared secret (mean) | ${dh.secret.toFixed(3)} |`);
console.log(`| first DH use in the process (OpenSSL checks the prime once) | ${firstDhMs.toFixed(1)} |`);
