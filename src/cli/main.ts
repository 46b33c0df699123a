#!/usr/bin/env -S node --max-semi-space-size=4
// The young generation is capped at 4 MiB per semi-space (V8's default grows to 16 MiB, a 32 MiB
// new space). Measured on a 1 GiB transfer: 16 → 8 MiB took the leecher's peak RSS from ~173 to
// ~152 MB at the same throughput and CPU; 8 → 4 MiB took another 7–9 MB off (2026-12-07, A/B in
// one run, CPU within noise). `npm start` passes the same flag; bench/transfer.ts reads it from
// this line.
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv);
