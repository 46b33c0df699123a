import { Command } from 'commander';
import { runProgram, SHOAL_VERSION } from './run.js';

export { SHOAL_VERSION };

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

/**
 * Runs the CLI and returns the exit code: the one a command set in `process.exitCode` (130 or
 * 143 for a download interrupted by SIGINT or SIGTERM), else 0; 1 after an error. Every error,
 * commander's usage errors included, prints one line `shoal: error: <message>` to stderr.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  // argv: node, script, then the command (unless the first word is an option such as --help).
  const first = argv[2];
  return runProgram(
    await buildProgram(first === undefined || first.startsWith('-') ? undefined : first),
    argv,
  );
}
