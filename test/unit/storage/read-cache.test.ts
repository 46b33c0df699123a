import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type PieceLoader, PieceReadCache } from '../../../src/storage/read-cache.js';

const PIECE = 1024;

/** A loader that fills the buffer it is given with the piece's index, counting its loads. */
function loader(): { load: PieceLoader; loads: number[]; buffers: Set<ArrayBufferLike> } {
  const loads: number[] = [];
  const buffers = new Set<ArrayBufferLike>();
  const load: PieceLoader = async (index, into) => {
    loads.push(index);
    buffers.add(into.buffer);
    await Promise.resolve();
    const data = into.length >= PIECE ? into.subarray(0, PIECE) : new Uint8Array(PIECE);
    return data.fill(index);
  };
  return { load, loads, buffers };
}

describe('PieceReadCache', () => {
  test('serves the blocks of a cached piece without reading it again', async () => {
    const cache = new PieceReadCache(4 * PIECE, PIECE);
    const { load, loads } = loader();
    const a = await cache.read(3, 0, 16, load);
    const b = await cache.read(3, 512, 16, load);
    assert.deepEqual(loads, [3]);
    assert.deepEqual([...a.data], new Array(16).fill(3));
    assert.deepEqual([...b.data], new Array(16).fill(3));
    a.release();
    b.release();
    assert.equal(cache.bytes, PIECE);
  });

  test('concurrent reads of one piece share one load', async () => {
    const cache = new PieceReadCache(4 * PIECE, PIECE);
    const { load, loads } = loader();
    const leases = await Promise.all([0, 1, 2].map((i) => cache.read(7, i * 100, 10, load)));
    assert.deepEqual(loads, [7]);
    for (const l of leases) assert.ok(l.data.every((x) => x === 7));
  });

  test('an evicted piece buffer is reused only after its last lease is released', async () => {
    // Room for 2 pieces: reading a third evicts the least recently used.
    const cache = new PieceReadCache(2 * PIECE, PIECE);
    const { load, buffers } = loader();
    const held = await cache.read(1, 0, PIECE, load);
    (await cache.read(2, 0, 8, load)).release();
    (await cache.read(3, 0, 8, load)).release(); // evicts 1, still leased
    assert.equal(cache.freeBuffers, 0);
    (await cache.read(4, 0, 8, load)).release(); // evicts 2: its buffer is free
    assert.equal(cache.freeBuffers, 1);
    (await cache.read(5, 0, 8, load)).release(); // reuses 2's buffer, evicts 3
    // Piece 1's bytes were never overwritten while leased.
    assert.ok(held.data.every((x) => x === 1));
    held.release();
    held.release(); // a second release changes nothing
    assert.equal(cache.freeBuffers, 2);
    // Steady state: no new buffers beyond what the cache holds plus the leased one.
    for (let p = 6; p < 30; p++) (await cache.read(p, 0, 8, load)).release();
    assert.ok(buffers.size <= 4, `${buffers.size} buffers allocated`);
  });

  test('free buffers are bounded by what the cache can hold', async () => {
    const cache = new PieceReadCache(2 * PIECE, PIECE);
    const { load } = loader();
    const leases = [];
    for (let p = 0; p < 6; p++) leases.push(await cache.read(p, 0, 8, load));
    for (const l of leases) l.release();
    cache.clear();
    assert.equal(cache.bytes, 0);
    assert.equal(cache.freeBuffers, 2);
  });

  test('an invalidated piece is read again; readers around an eviction get their own piece bytes', async () => {
    const cache = new PieceReadCache(PIECE, PIECE);
    const { load, loads } = loader();
    (await cache.read(9, 0, 8, load)).release();
    cache.invalidate(9);
    (await cache.read(9, 0, 8, load)).release();
    assert.deepEqual(loads, [9, 9]);
    // Two readers wait on piece 10's load; the first evicts it at once by reading piece 11.
    const first = cache.read(10, 0, 8, load).then(async (l) => {
      l.release();
      (await cache.read(11, 0, 8, load)).release();
      return l;
    });
    const second = await cache.read(10, 0, 8, load);
    await first;
    assert.ok(second.data.every((x) => x === 10));
    second.release();
  });

  test('a failed load leaves nothing cached and the buffer free', async () => {
    const cache = new PieceReadCache(2 * PIECE, PIECE);
    await assert.rejects(
      cache.read(1, 0, 8, async () => {
        throw new Error('EIO');
      }),
      /EIO/,
    );
    assert.equal(cache.bytes, 0);
    assert.equal(cache.freeBuffers, 1);
  });

  test('pieces larger than the cache are read into their own buffer, not cached', async () => {
    const cache = new PieceReadCache(PIECE / 2, PIECE);
    const { load, loads } = loader();
    (await cache.read(1, 0, 8, load)).release();
    (await cache.read(1, 0, 8, load)).release();
    assert.deepEqual(loads, [1, 1]);
    assert.equal(cache.bytes, 0);
    assert.equal(cache.freeBuffers, 0);
  });
});
