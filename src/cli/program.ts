import { Command, CommanderError } from 'commander';
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
import { errorLine } from './output.js';

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
  registerRemoteOptionCommands(program);
  registerBtcCommands(program);
  return program;
}

/** Applies `fn` to a command and every subcommand below it. */
function eachCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) eachCommand(sub, fn);
}

/**
 * Runs the CLI and returns the exit code: the one a command set in `process.exitCode` (130 or
 * 143 for a download interrupted by SIGINT or SIGTERM), else 0; 1 after an error. Every error,
 * commander's usage errors included, prints one line `shoal: error: <message>` to stderr.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  // Subcommands copy their parent's settings only when created: set them on every one.
  eachCommand(program, (c) => {
    c.exitOverride();
    c.configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(s.startsWith('error:') ? `shoal: ${s}` : s),
    });
  });
  try {
    await program.parseAsync(argv as string[]);
    const code = process.exitCode;
    return typeof code === 'number' ? code : Number(code ?? 0) || 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(errorLine(e));
    if (process.env.SHOAL_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
