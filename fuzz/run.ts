/**
 * Long fuzz runs, outside `npm test`: `npm run fuzz -- <target> [iterations] [seed]`.
 * Each target in this folder exports `target: FuzzTarget`. A failure prints the seed and the
 * input in hex so it can be replayed and turned into a fixture.
 */
import { readdirSync } from 'node:fs';
import type { FuzzTarget } from './target.js';

const [name, iterArg, seedArg] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'target.ts'].includes(f))
  .map((f) => f.slice(0, -3));
if (name === undefined || !available.includes(name)) {
  console.error(`usage: npm run fuzz -- <${available.join('|')}> [iterations] [seed]`);
  process.exit(2);
}
const iterations = Number(iterArg ?? 200_000);
let seed = Number(seedArg ?? Date.now() % 2 ** 31);
console.log(`fuzz ${name}: ${iterations} iterations, seed ${seed}`);

// Small deterministic PRNG (mulberry32) so a seed replays a run exactly.
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const mod = (await import(`./${name}.ts`)) as { target: FuzzTarget };
const { target } = mod;
const corpus = target.seeds();
const t0 = performance.now();
let slowest = 0;
for (let i = 0; i < iterations; i++) {
  const base = corpus[Math.floor(random() * corpus.length)] ?? new Uint8Array();
  const input = mutate(base, random);
  const s = performance.now();
  try {
    target.run(input);
  } catch (e) {
    console.error(`FAIL at iteration ${i}: ${String(e)}\ninput hex: ${Buffer.from(input).toString('hex')}`);
    process.exit(1);
  }
  slowest = Math.max(slowest, performance.now() - s);
  if (i % 20_000 === 0 && corpus.length < 5000) corpus.push(input);
}
const secs = (performance.now() - t0) / 1000;
console.log(`ok: ${iterations} inputs in ${secs.toFixed(1)} s, slowest ${slowest.toFixed(2)} ms`);
const report = target.report?.();
if (report !== undefined) console.log(report);

function mutate(base: Uint8Array, rnd: () => number): Uint8Array {
  const out = Array.from(base);
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rnd() * (out.length + 1));
    switch (Math.floor(rnd() * 5)) {
      case 0:
        if (out.length > 0) out[at % out.length] = Math.floor(rnd() * 256);
        break;
      case 1:
        out.splice(at, 1);
        break;
      case 2:
        out.splice(at, 0, Math.floor(rnd() * 256));
        break;
      case 3:
        out.splice(at, 0, ...out.slice(at, at + Math.floor(rnd() * 16)));
        break;
      default:
        out.splice(
          at,
          0,
          ...'ilde0123456789:'
            .charAt(Math.floor(rnd() * 15))
            .split('')
            .map((c) => c.charCodeAt(0)),
        );
    }
  }
  return Uint8Array.from(out);
}
