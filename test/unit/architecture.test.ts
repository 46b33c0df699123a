/**
 * Enforces the layer rules of docs/ARCHITECTURE.md: pure layers never touch sockets, files or
 * timers, and layers import downward only.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const SRC = new URL('../../src/', import.meta.url).pathname;
const ORDER = [
  'shared',
  'codec',
  'metainfo',
  'wire',
  'engine',
  'dht',
  'bitcoin',
  'utp',
  'nat',
  'storage',
  'net',
  'btc-node',
  'portmap',
  'discovery',
  'browser',
  'session',
  'tracker',
  'daemon',
  'cli',
] as const;
const PURE = new Set(['shared', 'codec', 'metainfo', 'wire', 'engine', 'dht', 'bitcoin', 'utp', 'nat']);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const FORBIDDEN_IN_PURE = [
  /from 'node:(net|dgram|fs|fs\/promises|timers|timers\/promises|child_process|worker_threads|http|https)'/,
  /\bsetTimeout\(|\bsetInterval\(|\bsetImmediate\(/,
  /\bDate\.now\(|\bnew Date\(\)/,
  /\bMath\.random\(/,
  /\bprocess\.env\b/,
];

test('pure layers do no I/O, timers, clocks or randomness', () => {
  const bad: string[] = [];
  for (const f of files(SRC)) {
    const layer = relative(SRC, f).split('/')[0]!;
    if (!PURE.has(layer)) continue;
    const src = readFileSync(f, 'utf8');
    for (const re of FORBIDDEN_IN_PURE) if (re.test(src)) bad.push(`${relative(SRC, f)}: ${re}`);
  }
  assert.deepEqual(bad, []);
});

test('layers import downward only', () => {
  const bad: string[] = [];
  for (const f of files(SRC)) {
    const rel = relative(SRC, f);
    const layer = rel.split('/')[0]!;
    const rank = ORDER.indexOf(layer as (typeof ORDER)[number]);
    if (rank < 0) continue;
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/from '(\.\.?\/[^']+)'/g)) {
      const target = relative(SRC, join(f, '..', m[1]!)).split('/')[0]!;
      const trank = ORDER.indexOf(target as (typeof ORDER)[number]);
      if (trank < 0 || target === layer) continue;
      if (trank > rank || (PURE.has(layer) && !PURE.has(target))) {
        bad.push(`${rel} imports ${target}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

test('the Bitcoin family imports only shared/, never the BitTorrent layers', () => {
  const bad: string[] = [];
  for (const f of files(join(SRC, 'bitcoin'))) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/from '(\.\.?\/[^']+)'/g)) {
      const target = relative(SRC, join(f, '..', m[1]!)).split('/')[0]!;
      if (target !== 'bitcoin' && target !== 'shared') bad.push(`${relative(SRC, f)} imports ${target}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the connection layer (net/) knows no protocol family: it imports only shared/ and transport protocols (utp/)', () => {
  const bad: string[] = [];
  for (const f of files(join(SRC, 'net'))) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/from '(\.\.?\/[^']+)'/g)) {
      const target = relative(SRC, join(f, '..', m[1]!)).split('/')[0]!;
      if (target !== 'net' && target !== 'shared' && target !== 'utp')
        bad.push(`${relative(SRC, f)} imports ${target}`);
    }
  }
  assert.deepEqual(bad, []);
});

/** STYLE §1: a file past ~600 lines splits along its seams (session/torrent.ts once had 1,415). */
const MAX_SESSION_FILE_LINES = 650;

test(`no file in src/session/ is over ${MAX_SESSION_FILE_LINES} lines`, () => {
  const big = files(join(SRC, 'session'))
    .map((f) => ({ f: relative(SRC, f), n: readFileSync(f, 'utf8').split('\n').length }))
    .filter((x) => x.n > MAX_SESSION_FILE_LINES);
  assert.deepEqual(big, []);
});
