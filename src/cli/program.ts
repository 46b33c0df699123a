import { Command } from 'commander';

/** Builds the `shoal` command tree. */
export function buildProgram(): Command {
  const program = new Command('shoal')
    .description('Shoal: peer-to-peer data distribution over the BitTorrent protocol family')
    .version('0.1.0');
  return program;
}

/** Runs the CLI and returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    return typeof code === 'number' ? code : 1;
  }
}
