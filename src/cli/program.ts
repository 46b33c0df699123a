import { Command } from 'commander';
import { registerBtcCommands } from './commands/btc.js';
import { registerCreateCommand } from './commands/create.js';
import { registerDaemonCommand } from './commands/daemon.js';
import { registerDhtCommands } from './commands/dht.js';
import { registerDownloadCommands } from './commands/download.js';
import { registerFeedCommands } from './commands/feed.js';
import { registerInfoCommand } from './commands/info.js';
import { registerRemoteCommands } from './commands/remote.js';
import { registerRemoteOptionCommands } from './commands/remote-options.js';
import { registerTrackerCommand } from './commands/tracker.js';
import { runProgram, SHOAL_VERSION } from './run.js';

export { SHOAL_VERSION };

/** Builds the `shoal` command tree. */
export function buildProgram(): Command {
  const program = new Command('shoal')
    .description('Shoal: peer-to-peer data distribution over the BitTorrent protocol family')
    .version(SHOAL_VERSION)
    .showHelpAfterError(false);
  registerCreateCommand(program);
  registerInfoCommand(program);
  registerDownloadCommands(program);
  registerFeedCommands(program);
  registerTrackerCommand(program);
  registerDhtCommands(program);
  registerDaemonCommand(program);
  registerRemoteCommands(program);
  registerRemoteOptionCommands(program);
  registerBtcCommands(program);
  return program;
}

/**
 * Runs the CLI and returns the exit code: the one a command set in `process.exitCode` (130 or
 * 143 for a download interrupted by SIGINT or SIGTERM), else 0; 1 after an error. Every error,
 * commander's usage errors included, prints one line `shoal: error: <message>` to stderr.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  return runProgram(buildProgram(), argv);
}
