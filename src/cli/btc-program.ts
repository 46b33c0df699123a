/**
 * `shoal btc …` alone: the same `btc` commands as the whole CLI, in a tree that loads none of the
 * BitTorrent commands' modules (metainfo, DHT, storage, daemon client). A light node's process
 * then holds only what it runs; `main.ts` takes this entry when the first argument is `btc`.
 */
import { Command } from 'commander';
import { registerBtcCommands } from './commands/btc.js';
import { runProgram, SHOAL_VERSION } from './run.js';

/** Runs `shoal btc …` (see {@link runProgram}). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = new Command('shoal')
    .description('Shoal: peer-to-peer data distribution over the BitTorrent protocol family')
    .version(SHOAL_VERSION)
    .showHelpAfterError(false);
  registerBtcCommands(program);
  return runProgram(program, argv);
}
