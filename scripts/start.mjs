// `npm start` until the daemon exists: a first taste of the CLI on a local file.
// Makes a torrent of README.md in a temp folder and shows what it holds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'shoal-start-'));
const out = join(dir, 'README.torrent');
try {
  for (const args of [
    ['create', 'README.md', '--hybrid', '-o', out],
    ['info', out],
  ]) {
    console.log(`$ shoal ${args.join(' ')}`);
    const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
