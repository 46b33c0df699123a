/**
 * The CLI loads only the modules of the command it runs (src/cli/program.ts): the table of
 * owners must name every top-level command and alias of the full tree, and each command must be
 * present when the program is built for it alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProgram, COMMAND_OWNERS } from '../../../src/cli/program.js';

test('every top-level command and alias has its owner modules, and nothing else is listed', async () => {
  const full = await buildProgram();
  const names = full.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  assert.deepEqual([...new Set(names)].sort(), Object.keys(COMMAND_OWNERS).sort());
});

test('a program built for one command has that command with all its subcommands', async () => {
  const full = await buildProgram();
  const subs = (p: Awaited<ReturnType<typeof buildProgram>>, name: string) =>
    p.commands
      .filter((c) => c.name() === name || c.aliases().includes(name))
      .flatMap((c) => c.commands.map((s) => s.name()))
      .sort();
  for (const name of Object.keys(COMMAND_OWNERS)) {
    const one = await buildProgram(name);
    assert.ok(
      one.commands.some((c) => c.name() === name || c.aliases().includes(name)),
      `${name} is registered`,
    );
    assert.deepEqual(subs(one, name), subs(full, name), `${name} has its subcommands`);
    assert.ok(one.commands.length < full.commands.length, `${name} alone loads fewer modules`);
  }
});
