/**
 * `shoal dht get-peers` and `shoal dht ping` as processes, against a loopback DHT of this
 * process: the peers and node ids they print are the real ones; bad input exits 1.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Command, CommanderError } from 'commander';
import { parseInfoHashArg, registerDhtCommands } from '../../src/cli/commands/dht.js';
import { describeError } from '../../src/cli/output.js';
import { createDhtTestnet, type DhtTestnet } from '../../src/discovery/dht-testnet.js';
import { base32Encode } from '../../src/metainfo/index.js';
import { toHex } from '../../src/shared/hash.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = `
import { Command } from 'commander';
import { registerDhtCommands } from './src/cli/commands/dht.ts';
import { describeError } from './src/cli/output.ts';
const p = new Command('shoal');
p.exitOverride();
registerDhtCommands(p);
try { await p.parseAsync(process.argv.slice(1), { from: 'user' }); }
catch (e) {
  if (typeof e.exitCode !== 'number') process.stderr.write('shoal: error: ' + describeError(e) + '\\n');
  process.exitCode = e.exitCode ?? 1;
}
`;
const LOOP = '127.0.0.1';
const children: ChildProcess[] = [];

/** Runs `shoal dht ...args` to its end (bounded) and returns its exit code and output. */
function shoal(
  args: string[],
  timeoutMs = 30_000,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', MAIN, '--', 'dht', ...args],
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
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shoal dht ${args.join(' ')}: no exit after ${timeoutMs} ms; ${out} ${err}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** Runs `shoal dht ...args` in this process, for arguments that fail before any I/O. */
async function shoalInProcess(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const p = new Command('shoal');
  p.exitOverride();
  p.configureOutput({ writeErr: (t) => (err += t), writeOut: () => {} });
  registerDhtCommands(p);
  try {
    await p.parseAsync(['dht', ...args], { from: 'user' });
    return { code: 0, err };
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode, err };
    return { code: 1, err: err + describeError(e) };
  }
}

describe('shoal dht', () => {
  let net: DhtTestnet;
  const h = new Uint8Array(20).map((_, i) => i * 7 + 1);
  before(async () => {
    net = await createDhtTestnet({ size: 8 });
    await net.nodes[3]!.announce(h, 7400);
    await net.nodes[5]!.announce(h, 7401);
  });
  after(async () => {
    for (const c of children)
      if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await net?.close();
  });

  const boot = () => ['--bootstrap', `${LOOP}:${net.nodes[0]!.port}`, '--host', LOOP];

  test('get-peers prints the announced peers, one a line', { timeout: 40_000 }, async () => {
    const r = await shoal(['get-peers', toHex(h), ...boot(), '--timeout', '20']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n').sort(), [`${LOOP}:7400`, `${LOOP}:7401`]);
    assert.match(r.err, /2 peers for .* \(lookup finished, \d+ queries, \d+ nodes known\)/);
  });

  test('get-peers --json, with a base32 info-hash and two bootstrap nodes', { timeout: 40_000 }, async () => {
    const r = await shoal([
      'get-peers',
      base32Encode(h, false),
      ...boot(),
      '--bootstrap',
      `${LOOP}:${net.nodes[1]!.port}`,
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as {
      infoHash: string;
      peers: { host: string; port: number }[];
      timedOut: boolean;
    };
    assert.equal(report.infoHash, toHex(h));
    assert.equal(report.timedOut, false);
    assert.deepEqual(report.peers.map((p) => p.port).sort(), [7400, 7401]);
  });

  test('get-peers exits 1 when nobody has the torrent', { timeout: 40_000 }, async () => {
    const r = await shoal(['get-peers', 'ff'.repeat(20), ...boot(), '--json']);
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.out).peers, []);
    assert.match(r.err, /no peers found/);
  });

  test('ping prints the node id and the round-trip time', { timeout: 40_000 }, async () => {
    const target = net.nodes[4]!;
    const r = await shoal(['ping', `${LOOP}:${target.port}`, '--host', LOOP, '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { id: string; rttMs: number; port: number };
    assert.equal(j.id, toHex(target.nodeId()!));
    assert.equal(j.port, target.port);
    const human = await shoal(['ping', `${LOOP}:${target.port}`, '--host', LOOP]);
    assert.match(human.out, new RegExp(`^127\\.0\\.0\\.1:${target.port}  id ${j.id}  rtt [\\d.]+ ms`));
  });

  test('bad arguments exit 1 with a message (in process: no socket is opened)', async () => {
    const cases: [string[], RegExp][] = [
      [['get-peers', 'xyz', ...boot()], /not an info-hash/],
      [['get-peers', toHex(h), '--bootstrap', 'nohost'], /expected host:port/],
      [['get-peers', toHex(h), '--bootstrap', '::1:6881'], /\[address\]:port/],
      [['get-peers', toHex(h), '--timeout', '0'], /expected seconds/],
      [['ping', 'nohost'], /expected host:port/],
      [['ping', `${LOOP}:70000`], /1\.\.65535/],
    ];
    for (const [args, re] of cases) {
      const r = await shoalInProcess(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.err, re, args.join(' '));
    }
  });

  test('a silent node: ping times out with exit 1', { timeout: 40_000 }, async () => {
    const closed = await net.add();
    const port = closed.port;
    await closed.close();
    const r = await shoal(['ping', `${LOOP}:${port}`, '--host', LOOP, '--timeout', '0.5']);
    assert.equal(r.code, 1);
    assert.match(r.err, /did not answer/);
  });
});

test('parseInfoHashArg: hex, base32, v2 and magnet forms', () => {
  const h = new Uint8Array(20).fill(0xab);
  assert.deepEqual(parseInfoHashArg('AB'.repeat(20)), h);
  assert.deepEqual(parseInfoHashArg(base32Encode(h, false).toLowerCase()), h);
  assert.deepEqual(parseInfoHashArg(`${'ab'.repeat(20)}${'cd'.repeat(12)}`), h);
  assert.deepEqual(parseInfoHashArg(`magnet:?xt=urn:btih:${'ab'.repeat(20)}`), h);
  assert.throws(() => parseInfoHashArg('ab'.repeat(19)));
});
