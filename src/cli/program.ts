import { Command, CommanderError } from 'commander';
import { registerCreateCommand } from './commands/create.js';
import { registerDaemonCommand } from './commands/daemon.js';
import { registerDhtCommands } from './commands/dht.js';
import { registerDownloadCommands } from './commands/download.js';
import { registerFeedCommands } from './commands/feed.js';
import { registerInfoCommand } from './commands/info.js';
import { registerRemoteCommands } from './commands/remote.js';
import { registerTrackerCommand } from './commands/tracker.js';
import { describeError } from './output.js';

export const SHOAL_VERSION = '0.1.0';

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
  return program;
}

/** Runs the CLI and returns the exit code; errors print one line to stderr. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(`shoal: error: ${describeError(e)}\n`);
    if (process.env.SHOAL_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
