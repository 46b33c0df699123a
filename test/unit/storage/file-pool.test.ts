/**
 * FilePool: writes to one file land one at a time, in the order they were made (so overlapping
 * writes end with the last one's bytes), while writes to other files are not held up; a failed
 * write does not block the ones queued behind it; a descriptor lent out (`lease`) is not closed
 * until it is given back.
 */
import assert from 'node:assert/strict';
import { writeSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MAX_WRITE_CALL_BYTES } from '../../../src/shared/limits.js';
import { FilePool } from '../../../src/storage/index.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'shoal-file-pool-'));
  dirs.push(d);
  return d;
}

describe('FilePool writes', () => {
  test('writes to one file go one at a time, in the order they were made; other files are not held up', async () => {
    const dir = await tempDir();
    // Handles whose writes are counted while in flight (each takes a turn of the event loop).
    const inFlight = new Map<string, number>();
    const most = new Map<string, number>();
    let mostOverall = 0;
    const count = () => [...inFlight.values()].reduce((a, b) => a + b, 0);
    const pool = new FilePool({
      openFile: async (path, flags, mode) => {
        const handle = await open(path, flags, mode);
        const write = handle.write.bind(handle) as (...args: unknown[]) => Promise<unknown>;
        (handle as { write: unknown }).write = async (...args: unknown[]) => {
          inFlight.set(path, (inFlight.get(path) ?? 0) + 1);
          most.set(path, Math.max(most.get(path) ?? 0, inFlight.get(path)!));
          mostOverall = Math.max(mostOverall, count());
          try {
            await new Promise((r) => setImmediate(r));
            return await write(...args);
          } finally {
            inFlight.set(path, inFlight.get(path)! - 1);
          }
        };
        return handle;
      },
    });
    try {
      const a = join(dir, 'a.bin');
      const b = join(dir, 'b.bin');
      const size = 64 * 1024;
      // 20 overlapping writes to each file at once, each with its own byte: the last one wins.
      const writes: Promise<void>[] = [];
      for (let k = 1; k <= 20; k++) {
        writes.push(pool.write(a, 0, new Uint8Array(size).fill(k)));
        writes.push(pool.write(b, 0, new Uint8Array(size).fill(100 + k)));
      }
      await Promise.all(writes);
      assert.equal(most.get(a), 1, 'one write at a time to a.bin');
      assert.equal(most.get(b), 1, 'one write at a time to b.bin');
      assert.equal(mostOverall, 2, 'the two files were written side by side');
      assert.ok(
        (await readFile(a)).every((x) => x === 20),
        'a.bin holds the last write',
      );
      assert.ok(
        (await readFile(b)).every((x) => x === 120),
        'b.bin holds the last write',
      );
    } finally {
      await pool.close();
    }
  });

  test('an unordered write (ordered: false) waits for none of the writes queued before it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'c.bin');
    // The first write to the file is held until released; the ones after it queue behind it.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const pool = new FilePool({
      openFile: async (p, flags, mode) => {
        const handle = await open(p, flags, mode);
        const write = handle.write.bind(handle) as (...args: unknown[]) => Promise<unknown>;
        (handle as { write: unknown }).write = async (...args: unknown[]) => {
          if ((args[0] as Uint8Array)[0] === 1) await held;
          return write(...args);
        };
        return handle;
      },
    });
    try {
      const size = 16 * 1024;
      const first = pool.write(path, 0, new Uint8Array(size).fill(1));
      const queued = pool.write(path, size, new Uint8Array(size).fill(2));
      let queuedDone = false;
      void queued.then(() => {
        queuedDone = true;
      });
      // Disjoint, and unordered: written while the first is still held.
      await pool.write(path, 2 * size, new Uint8Array(size).fill(3), { ordered: false });
      assert.equal(queuedDone, false, 'the ordered write still waits for the first');
      release();
      await Promise.all([first, queued]);
      const bytes = await readFile(path);
      assert.deepEqual([bytes[0], bytes[size], bytes[2 * size]], [1, 2, 3]);
    } finally {
      release();
      await pool.close();
    }
  });

  test(`a write longer than MAX_WRITE_CALL_BYTES (${MAX_WRITE_CALL_BYTES}) goes as several calls`, async () => {
    const dir = await tempDir();
    const lengths: number[] = [];
    const pool = new FilePool({
      openFile: async (path, flags, mode) => {
        const handle = await open(path, flags, mode);
        const write = handle.write.bind(handle) as (...args: unknown[]) => Promise<unknown>;
        (handle as { write: unknown }).write = (...args: unknown[]) => {
          lengths.push(args[2] as number);
          return write(...args);
        };
        return handle;
      },
    });
    try {
      const path = join(dir, 'f.bin');
      const data = new Uint8Array(2 * MAX_WRITE_CALL_BYTES + 1234);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
      await pool.write(path, 5, data);
      assert.deepEqual(lengths, [MAX_WRITE_CALL_BYTES, MAX_WRITE_CALL_BYTES, 1234]);
      const got = await readFile(path);
      assert.equal(got.length, 5 + data.length);
      assert.deepEqual(new Uint8Array(got.subarray(5)), data);
    } finally {
      await pool.close();
    }
  });

  test('a write that fails does not hold up the ones queued behind it', async () => {
    const dir = await tempDir();
    // The first write call fails (a disk error); the ones after it work.
    let calls = 0;
    const pool = new FilePool({
      openFile: async (path, flags, mode) => {
        const handle = await open(path, flags, mode);
        const write = handle.write.bind(handle) as (...args: unknown[]) => Promise<unknown>;
        (handle as { write: unknown }).write = (...args: unknown[]) =>
          calls++ === 0 ? Promise.reject(new Error('EIO (injected)')) : write(...args);
        return handle;
      },
    });
    try {
      const path = join(dir, 'f.bin');
      const bad = pool.write(path, 0, new Uint8Array(4));
      const good = pool.write(path, 0, new Uint8Array([1, 2, 3, 4]));
      await assert.rejects(bad, /EIO \(injected\)/);
      await good;
      assert.deepEqual([...(await readFile(path))], [1, 2, 3, 4]);
    } finally {
      await pool.close();
    }
  });
});

describe('FilePool leases', () => {
  test('a leased descriptor stays open: eviction passes it by, and closeFile and close wait for its release', async () => {
    const dir = await tempDir();
    const closed: string[] = [];
    const pool = new FilePool({
      maxOpen: 1,
      openFile: async (path, flags, mode) => {
        const handle = await open(path, flags, mode);
        const close = handle.close.bind(handle);
        (handle as { close: unknown }).close = async () => {
          closed.push(path);
          await close();
        };
        return handle;
      },
    });
    try {
      const a = join(dir, 'nested', 'a.bin');
      const b = join(dir, 'b.bin');
      const lease = await pool.lease(a);
      // Written by someone else through the descriptor (as a hash thread does).
      writeSync(lease.fd, Buffer.from('leased'), 0, 6, 0);
      // Over the bound of one open handle: the leased one is not the one evicted.
      await pool.write(b, 0, new Uint8Array([1]));
      await pool.write(join(dir, 'c.bin'), 0, new Uint8Array([2]));
      assert.ok(!closed.includes(a), 'the leased handle was not evicted');
      let closedA = false;
      const closing = pool.closeFile(a).then(() => {
        closedA = true;
      });
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(closedA, false, 'closeFile waits for the lease');
      // The descriptor is still this file's: a write through it lands in a.bin.
      writeSync(lease.fd, Buffer.from('!'), 0, 1, 6);
      lease.release();
      lease.release(); // a second release does nothing
      await closing;
      assert.ok(closed.includes(a));
      assert.equal(await readFile(a, 'utf8'), 'leased!');
      // close() waits for leases too.
      const again = await pool.lease(a);
      let poolClosed = false;
      const closingPool = pool.close().then(() => {
        poolClosed = true;
      });
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(poolClosed, false, 'close waits for the lease');
      again.release();
      await closingPool;
    } finally {
      await pool.close();
    }
  });
});
