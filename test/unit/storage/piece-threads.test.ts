/**
 * The piece threads (src/storage/piece-threads.ts): plain worker threads that check received
 * pieces. Tasks spread over the threads, a thread that dies fails only its own tasks and is
 * replaced, close() fails what is in hand, and idle threads never keep the process alive.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PIECE_DIGEST_TAIL_BYTES, type PieceTask } from '../../../src/storage/piece-task.js';
import { PieceThreads } from '../../../src/storage/piece-threads.js';

const here = (file: string) => fileURLToPath(new URL(`../../../src/storage/${file}`, import.meta.url));
const OPTIONS = {
  entry: here('piece-thread-entry.cjs'),
  workerData: here('piece-thread.ts'),
  youngGenerationMb: 4,
};

/** A v1 piece task over `bytes` (its buffer has room for the digests). */
function task(bytes: Uint8Array, extra: Partial<PieceTask> = {}): PieceTask {
  const data = new Uint8Array(bytes.length + PIECE_DIGEST_TAIL_BYTES);
  data.set(bytes);
  return { type: 'piece', data, length: bytes.length, sha1: true, merkleBytes: 0, merkleLeaves: 1, ...extra };
}

const sha1Of = (b: Uint8Array) => createHash('sha1').update(b).digest();

describe('PieceThreads', () => {
  test('a task moves its buffer to a thread and back with the SHA-1 in its tail; busy threads start more, up to count', async () => {
    const threads = new PieceThreads({ ...OPTIONS, count: 2 });
    try {
      const pieces = [0, 1, 2, 3].map((i) => new Uint8Array(64 * 1024).fill(i + 1));
      const tasks = pieces.map((p) => task(p));
      const running = tasks.map((t) => threads.run(t));
      assert.equal(tasks[0]!.data.byteLength, 0, 'moved, not copied (detached here)');
      assert.equal(threads.live, 2, 'a second thread started for the second task, no third');
      const results = await Promise.all(running);
      results.forEach((r, i) => {
        assert.ok(r instanceof Uint8Array);
        const tail = r.length - PIECE_DIGEST_TAIL_BYTES;
        assert.deepEqual(Buffer.from(r.subarray(tail, tail + 20)), sha1Of(pieces[i]!));
        assert.deepEqual(r.subarray(0, pieces[i]!.length), pieces[i]);
      });
    } finally {
      await threads.close();
    }
  });

  test('a thread that dies fails only its tasks; the next task gets a new thread', async () => {
    const threads = new PieceThreads({ ...OPTIONS, count: 1 });
    try {
      // Merkle leaves that cannot hold the data: the thread throws outside any task handling.
      const bad = task(new Uint8Array(64 * 1024), { sha1: false, merkleBytes: 64 * 1024, merkleLeaves: 1 });
      await assert.rejects(threads.run(bad), RangeError);
      assert.equal(threads.live, 0, 'the dead thread is gone');
      const piece = new Uint8Array(20_000).fill(7);
      const r = await threads.run(task(piece));
      assert.ok(r instanceof Uint8Array);
      const tail = r.length - PIECE_DIGEST_TAIL_BYTES;
      assert.deepEqual(Buffer.from(r.subarray(tail, tail + 20)), sha1Of(piece));
      assert.equal(threads.live, 1);
    } finally {
      await threads.close();
    }
  });

  test('close() fails the tasks in hand and refuses new ones; twice is harmless', async () => {
    const threads = new PieceThreads({ ...OPTIONS, count: 1 });
    const inHand = threads.run(task(new Uint8Array(4 * 1024 * 1024)));
    const closing = threads.close();
    await assert.rejects(inHand, /closed/);
    await closing;
    assert.equal(threads.live, 0);
    await assert.rejects(threads.run(task(new Uint8Array(16))), /closed/);
    await threads.close();
  });

  test('idle threads do not keep the process alive', { timeout: 30_000 }, async () => {
    // A process that starts two threads, runs a task and never closes them must still exit.
    const script = `
      import { PieceThreads } from ${JSON.stringify(here('piece-threads.ts'))};
      const t = new PieceThreads(${JSON.stringify({ ...OPTIONS, count: 2 })});
      t.start();
      const data = new Uint8Array(16 + ${PIECE_DIGEST_TAIL_BYTES});
      await t.run({ type: 'piece', data, length: 16, sha1: true, merkleBytes: 0, merkleLeaves: 1 });
      console.log('live', t.live);
    `;
    const dir = await mkdtemp(join(tmpdir(), 'shoal-piece-threads-'));
    const file = join(dir, 'child.mts');
    await writeFile(file, script);
    const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
    assert.equal(signal, null, `killed after 20 s: the threads kept it alive\n${out}`);
    assert.equal(code, 0, out);
    assert.match(out, /live 2/);
  });
});
