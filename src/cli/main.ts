#!/usr/bin/env -S node --max-semi-space-size=8
// The young generation is capped at 8 MiB per semi-space (V8's default grows to 16 MiB, a 32 MiB
// new space): measured on a 1 GiB transfer, the leecher's peak RSS fell from ~173 to ~152 MB at
// the same throughput and CPU; at 4 MiB scavenges start to cost CPU (bench:transfer).
// `npm start` passes the same flag; bench/transfer.ts reads it from this line.
// `shoal btc …` loads the Bitcoin commands alone (see btc-program.ts); anything else, the whole CLI.
const { runCli } =
  process.argv[2] === 'btc' ? await import('./btc-program.js') : await import('./program.js');

process.exitCode = await runCli(process.argv);
