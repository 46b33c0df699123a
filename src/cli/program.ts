import { Command, CommanderError } from 'commander';
import { errorLine } from './output.js';

export const SHOAL_VERSION = '0.1.0';

type Register = (program: Command) => void;

/**
 * The modules of commands, in the order `shoal --help` lists them. Each is imported only when one
 * of its commands runs (or for the full help): a `shoal download` process does not load the
 * Bitcoin node, the daemon or the tracker, which cost it ~9 MB of memory.
 */
const COMMAND_MODULES = {
  create: async () => (await import('./commands/create.js')).registerCreateCommand,
  info: async () => (await import('./commands/info.js')).registerInfoCommand,
  download: async () => (await import('./commands/download.js')).registerDownloadCommands,
  feed: async () => (await import('./commands/feed.js')).registerFeedCommands,
  tracker: async () => (await import('./commands/tracker.js')).registerTrackerCommand,
  dht: async () => (await import('./commands/dht.js')).registerDhtCommands,
  daemon: async () => (await import('./commands/daemon.js')).registerDaemonCommand,
  remote: async () => (await import('./commands/remote.js')).registerRemoteCommands,
  remoteOptions: async () => (await import('./commands/remote-options.js')).registerRemoteOptionCommands,
  btc: async () => (await import('./commands/btc.js')).registerBtcCommands,
} satisfies Record<string, () => Promise<Register>>;

type CommandModule = keyof typeof COMMAND_MODULES;

/**
 * Each top-level command name and alias → the modules that register it (`peer` gets subcommands
 * from two). test/unit/cli-program.test.ts checks this table against the full command tree.
 */
export const COMMAND_OWNERS: Readonly<Record<string, readonly CommandModule[]>> = {
  create: ['create'],
  info: ['info'],
  download: ['download'],
  seed: ['download'],
  key: ['feed'],
  publish: ['feed'],
  follow: ['feed'],
  tracker: ['tracker'],
  dht: ['dht'],
  daemon: ['daemon'],
  add: ['remote'],
  list: ['remote'],
  ls: ['remote'],
  pause: ['remote'],
  resume: ['remote'],
  verify: ['remote'],
  remove: ['remote'],
  rm: ['remote'],
  peer: ['remote', 'remoteOptions'],
  set: ['remoteOptions'],
  queue: ['remoteOptions'],
  move: ['remoteOptions'],
  settings: ['remoteOptions'],
  blocklist: ['remoteOptions'],
  bans: ['remoteOptions'],
  btc: ['btc'],
};

/**
 * Builds the `shoal` command tree: only the modules of `command` when it is a known top-level
 * command, else all of them (for the help, or commander's "unknown command" error).
 */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command('shoal')
    .description('Shoal: peer-to-peer data distribution over the BitTorrent protocol family')
    .version(SHOAL_VERSION)
    .showHelpAfterError(false);
  const owners =
    command !== undefined && Object.hasOwn(COMMAND_OWNERS, command) ? COMMAND_OWNERS[command] : undefined;
  for (const [key, load] of Object.entries(COMMAND_MODULES)) {
    if (owners === undefined || owners.includes(key as CommandModule)) (await load())(program);
  }
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
  // argv: node, script, then the command (unless the first word is an option such as --help).
  const first = argv[2];
  const program = await buildProgram(first === undefined || first.startsWith('-') ? undefined : first);
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
