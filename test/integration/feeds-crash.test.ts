/**
 * A follower killed with SIGKILL in the middle of an update (issue 22): `shoal follow` (a child
 * process) has v1 current; v2 changes one big file; while v2 downloads (rate-limited publisher)
 * the follower is killed. `DIR/current` still shows all of v1 (sha256 equal). `shoal follow --once`
 * run again resumes the download (its resume record: the bytes already verified are not fetched
 * again), switches to v2 (sha256 equal) and leaves only v2's folder.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createDhtKeyPair,
  createDhtTestnet,
  type DhtTestnet,
  LOOPBACK_DHT_NODE_OPTIONS,
} from '../../src/discovery/index.js';
import { type FeedPublication, Session } from '../../src/session/index.js';
import { pseudoRandomBytes, sha256File, writeTree } from '../helpers/payload.js';
import { tempDir } from './daemon-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const TSX = import.meta.resolve('tsx');
const TIMEOUT_MS = 60_000;
const BIG = 6 * 1024 * 1024;
const RATE = 1024 * 1024;

/** One `shoal follow` child process; resolves `waitFor` on output matching a pattern. */
class FollowRun {
  readonly child: ChildProcess;
  out = '';
  readonly exited: Promise<number | null>;
  readonly #waiters = new Set<() => void>();

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, ['--import', TSX, MAIN, 'follow', ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const on = (s: string) => {
      this.out += s;
      for (const w of this.#waiters) w();
    };
    this.child.stdout!.setEncoding('utf8').on('data', on);
    this.child.stderr!.setEncoding('utf8').on('data', on);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        for (const w of this.#waiters) w();
        resolve(code);
      }),
    );
  }

  /** Resolves with the first match of `re` in the output; rejects on exit or after TIMEOUT_MS. */
  waitFor(re: RegExp): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no ${re} within ${TIMEOUT_MS} ms:\n${this.out}`));
      }, TIMEOUT_MS);
      const check = () => {
        const m = this.out.match(re);
        const gone = this.child.exitCode !== null || this.child.signalCode !== null;
        if (m === null && !gone) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (m !== null) resolve(m);
        else reject(new Error(`shoal follow exited before ${re}:\n${this.out}`));
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** SIGKILL to this PID only. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

describe('a follower killed with SIGKILL during an update', { timeout: 180_000 }, () => {
  let net: DhtTestnet;
  let tmp: { dir: string; cleanup(): Promise<void> };
  let publisher: Session;
  let pub: FeedPublication | undefined;
  const runs: FollowRun[] = [];

  before(async () => {
    net = await createDhtTestnet({ size: 8 });
    tmp = await tempDir('shoal-feeds-crash-');
    publisher = await Session.create({
      host: '127.0.0.1',
      hashThreads: 1,
      uploadRateLimit: RATE,
      dht: { bootstrap: net.bootstrap, node: LOOPBACK_DHT_NODE_OPTIONS },
    });
  });
  after(async () => {
    for (const r of runs) await r.kill();
    await pub?.close();
    await publisher?.close();
    await net?.close();
    await tmp?.cleanup();
  });

  test('current stays whole; a restart resumes and switches', async () => {
    const src = join(tmp.dir, 'pub', 'data');
    const dir = join(tmp.dir, 'follow');
    const files = { 'big.bin': BIG, 'a.txt': 1000, 'sub/b.bin': 200_000 };
    await writeTree(src, files, 3);
    const keyPair = createDhtKeyPair();
    pub = await publisher.publish({ dir: src, keyPair, reputIntervalMs: 0, pieceLength: 64 * 1024 });
    const args = [
      pub.magnet,
      '-o',
      dir,
      '--poll',
      '0.5',
      '--dht-bootstrap',
      `127.0.0.1:${net.bootstrap[0]!.port}`,
      '--no-lsd',
    ];
    const digestsOf = async (root: string) =>
      Promise.all(Object.keys(files).map((rel) => sha256File(join(root, rel))));
    const v1 = await digestsOf(src);

    const first = new FollowRun(args);
    runs.push(first);
    await first.waitFor(/version 1 is current/);
    assert.deepEqual(await digestsOf(join(dir, 'current')), v1);

    // v2: the big file changes; the follower starts fetching it and is killed half-way.
    await writeFile(join(src, 'big.bin'), pseudoRandomBytes(BIG, 77));
    await pub.close();
    pub = await publisher.publish({ dir: src, keyPair, reputIntervalMs: 0, pieceLength: 64 * 1024 });
    const v2 = await digestsOf(src);
    await first.waitFor(/downloading version 2: 2 files unchanged/);
    const m = await first.waitFor(/version 2 ([1-9][0-9]?\.[0-9])% /);
    await first.kill();
    assert.ok(Number(m[1]) < 100, `killed at ${m[1]}%`);
    assert.deepEqual(await digestsOf(join(dir, 'current')), v1, 'after the kill, current is all of v1');
    const state = JSON.parse(await readFile(join(dir, '.shoal', 'feed.json'), 'utf8')) as {
      pending: string;
      current: string;
    };
    assert.deepEqual([state.current, state.pending], ['1', '2']);

    // Restarted, it resumes v2 and exits once it is current (--once).
    const second = new FollowRun([...args, '--once']);
    runs.push(second);
    await second.waitFor(/version 2 is current/);
    assert.equal(await second.exited, 0);
    assert.deepEqual(await digestsOf(join(dir, 'current')), v2, 'v2 after the restart');
    assert.deepEqual(await readdir(join(dir, '.shoal', 'versions')), ['2']);
    const after2 = JSON.parse(await readFile(join(dir, '.shoal', 'feed.json'), 'utf8')) as {
      current: string;
      pending: string | null;
      versions: { seq: string; downloadedBytes?: number; reusedFiles?: number }[];
    };
    assert.equal(after2.current, '2');
    assert.equal(after2.pending, null);
    const rec = after2.versions.find((v) => v.seq === '2')!;
    assert.equal(rec.reusedFiles, 2);
    // Both runs together fetched the changed file about once: only blocks in flight at the kill
    // (a few pieces) may come twice.
    assert.ok(
      rec.downloadedBytes! <= BIG + 8 * 64 * 1024,
      `downloaded ${rec.downloadedBytes} for a ${BIG}-byte change`,
    );
  });
});
