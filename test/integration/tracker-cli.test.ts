/**
 * `shoal tracker` as a process: binds the ports it prints, serves a whitelist, reloads it on
 * SIGHUP, refuses a bad whitelist file, and exits cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { httpAnnounce, TrackerError, UdpTrackerSocket } from '../../src/discovery/index.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { toHex } from '../../src/shared/hash.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** The real CLI (its error handling included), from source. */
const MAIN = `
import { runCli } from './src/cli/program.ts';
process.exitCode = await runCli([process.argv[0], 'shoal', ...process.argv.slice(1)]);
`;

const dir = mkdtempSync(join(tmpdir(), 'shoal-tracker-cli-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', MAIN, '--', 'tracker', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  /** Resolves when stdout matches `re` (bounded). */
  const waitFor = (re: RegExp, ms = 15_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timeout waiting for ${re}; stdout: ${out} stderr: ${err}`)),
        ms,
      );
      const check = () => {
        const m = out.match(re);
        if (m) {
          clearTimeout(timer);
          child.stdout.off('data', check);
          resolve(m);
        }
      };
      child.stdout.on('data', check);
      check();
    });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, waitFor, exited, stderr: () => err };
}

const A = new Uint8Array(20).fill(0xa1);
const B = new Uint8Array(20).fill(0xb2);
const req = (infoHash: Uint8Array) => ({
  infoHash,
  peerId: new Uint8Array(20).fill(1),
  port: 5555,
  uploaded: 0,
  downloaded: 0,
  left: 0,
  event: 'started' as const,
});

test('shoal tracker: serves, enforces and reloads the whitelist, stops on SIGTERM', {
  timeout: 60_000,
}, async () => {
  const wl = join(dir, 'whitelist.txt');
  writeFileSync(wl, `# private\n${toHex(A)}\n\n`);
  const p = run(['--http', '0', '--udp', '0', '--host', '127.0.0.1', '--interval', '30', '--whitelist', wl]);
  const [, httpUrl] = await p.waitFor(/tracker: (http:\/\/\S+\/announce)/);
  const [, udpUrl] = await p.waitFor(/tracker: (udp:\/\/\S+\/announce)/);
  await p.waitFor(/private, 1 info-hashes allowed/);
  const r = await httpAnnounce(httpUrl!, req(A));
  assert.equal(r.interval, 30);
  await assert.rejects(
    httpAnnounce(httpUrl!, req(B)),
    (e: unknown) => e instanceof TrackerError && e.code === ErrorCode.TrackerFailure,
  );
  const stats = (await (await fetch(httpUrl!.replace('/announce', '/stats.json'))).json()) as {
    whitelist?: number;
  };
  assert.equal(stats.whitelist, 1);
  writeFileSync(wl, `${toHex(A)}\n${toHex(B)}\n`);
  p.child.kill('SIGHUP');
  await p.waitFor(/whitelist reloaded, 2 info-hashes/);
  const udp = new UdpTrackerSocket({ bindV4: '127.0.0.1' });
  try {
    const u = await udp.announce(udpUrl!, req(B));
    assert.equal(u.complete, 1);
  } finally {
    await udp.close();
  }
  p.child.kill('SIGTERM');
  const [code] = await p.exited;
  assert.equal(code, 0);
  await p.waitFor(/tracker: stopped/, 1000);
});

test('shoal tracker: a broken whitelist file is a clear error, not a crash', {
  timeout: 30_000,
}, async () => {
  const wl = join(dir, 'bad.txt');
  writeFileSync(wl, `${toHex(A)}\nnot-a-hash\n`);
  const p = run(['--http', '0', '--udp', '0', '--host', '127.0.0.1', '--whitelist', wl]);
  const [code] = await p.exited;
  assert.equal(code, 1);
  assert.match(
    p.stderr(),
    /^shoal: error: cannot start the tracker: .*bad\.txt:2: expected 40 \(or 64\) hex digits/m,
  );
  assert.doesNotMatch(p.stderr(), /at .*\.ts:\d+/, 'no stack trace');
  const q = run(['--http', 'abc']);
  const [code2] = await q.exited;
  assert.notEqual(code2, 0);
  assert.match(q.stderr(), /expected a port number/);
});
