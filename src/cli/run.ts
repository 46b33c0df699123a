/**
 * Running a `shoal` command tree: the error handling of `program.ts`, which builds the tree from
 * the modules of the command that runs only.
 */
import { type Command, CommanderError } from 'commander';
import { errorLine } from './output.js';

export const SHOAL_VERSION = '0.1.0';

/** Applies `fn` to a command and every subcommand below it. */
function eachCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) eachCommand(sub, fn);
}

/**
 * Parses `argv` with `program` and returns the exit code: the one a command set in
 * `process.exitCode`, else 0; 1 after an error, printed as one line `shoal: error: <message>`.
 */
export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
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
