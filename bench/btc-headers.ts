/**
 * `node --import tsx bench/btc-headers.ts` — how fast does a HeaderChain validate headers?
 *
 * Mines BTC_BENCH_HEADERS (default 20,000) regtest headers for SHA-256d (Bitcoin) and 4,000 for
 * scrypt (Litecoin) in memory (regtest's pow limit makes mining cheap), then times
 * `acceptHeaders` on them in 2,000-header batches, as `headers` messages deliver them: every
 * check runs (connection, bits, proof of work, median time, window bookkeeping). Prints
 * headers per second, best of three runs.
 */
import {
  BITCOIN_REGTEST,
  type ChainParams,
  encodeHeader,
  HeaderChain,
  hashToBigInt,
  headerHash,
  LITECOIN_REGTEST,
  powHash,
  validTarget,
} from '../src/bitcoin/index.js';

const N = Number(process.env.BTC_BENCH_HEADERS ?? 20_000);

function mineChain(params: ChainParams, n: number): Uint8Array[] {
  const genesis = new HeaderChain(params).tip;
  const out: Uint8Array[] = [];
  let prev = genesis.hash;
  let time = genesis.time;
  const target = validTarget(genesis.bits, params.powLimit)!;
  for (let i = 0; i < n; i++) {
    time += 150;
    for (let nonce = 0; ; nonce++) {
      const raw = encodeHeader({
        version: 0x20000000,
        prevHash: prev,
        merkleRoot: new Uint8Array(32),
        time,
        bits: genesis.bits,
        nonce,
      });
      if (hashToBigInt(powHash(raw, params.pow)) <= target) {
        out.push(raw);
        prev = headerHash(raw);
        break;
      }
    }
  }
  return out;
}

function measure(params: ChainParams, headers: Uint8Array[]): number {
  let best = Number.POSITIVE_INFINITY;
  const now = 2_000_000_000;
  for (let run = 0; run < 3; run++) {
    const chain = new HeaderChain(params);
    const t0 = performance.now();
    for (let i = 0; i < headers.length; i += 2000) {
      const r = chain.acceptHeaders(headers.slice(i, i + 2000), now);
      if (r.error !== undefined) throw r.error;
    }
    best = Math.min(best, performance.now() - t0);
  }
  return (headers.length / best) * 1000;
}

for (const [params, n] of [
  [BITCOIN_REGTEST, N],
  [LITECOIN_REGTEST, Math.min(N, 4000)],
] as const) {
  const headers = mineChain(params, n);
  const rate = measure(params, headers);
  console.log(
    `${params.name.padEnd(18)} ${params.pow.padEnd(8)} ${String(n).padStart(6)} headers  ${Math.round(rate).toLocaleString('en').padStart(9)} headers/s`,
  );
}
