/**
 * The session's upload limit is first come, first served (src/session/upload-gate.ts): a block
 * that waits for tokens is not overtaken by blocks that ask later. Before, each waiter polled
 * the bucket on its own timer, and a peer with a deep request pipeline could starve one that
 * asked for a single block (seen in the swarm lab: a sharer's last two blocks waited 18 s behind
 * free-riders' pipelines).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket } from '../../../src/engine/index.js';
import { type Bucket, UploadGate } from '../../../src/session/upload-gate.js';

const BLOCK = 16 * 1024;

test('blocks are granted in the order they asked, and later ones wait behind earlier ones', async () => {
  // 1 block per 10 ms, a burst of one block, starting empty. The clock stands still while they
  // queue, so no token comes in between (under load, queueing alone once took over 10 ms).
  let frozen = true;
  const start = performance.now();
  const now = () => (frozen ? 0 : 1000 + performance.now() - start);
  const bucket = new TokenBucket(100 * BLOCK, BLOCK, now());
  bucket.tryTake(BLOCK, now());
  const gate = new UploadGate(bucket, now);
  try {
    const order: string[] = [];
    const wait = (name: string) => {
      const p = gate.acquire(BLOCK, () => false);
      assert.ok(p !== undefined, `${name} waits: the bucket is empty or others wait`);
      return p.then(() => order.push(name));
    };
    const first = wait('single');
    // A deep pipeline asks after it; and while they wait, tokens build up, so a newcomer asking
    // later would find enough tokens — but it must queue behind the others.
    const pipeline = Array.from({ length: 5 }, (_, i) => wait(`pipeline-${i}`));
    frozen = false;
    gate.kick();
    await first;
    const late = wait('late');
    await Promise.all([...pipeline, late]);
    assert.deepEqual(order, [
      'single',
      'pipeline-0',
      'pipeline-1',
      'pipeline-2',
      'pipeline-3',
      'pipeline-4',
      'late',
    ]);
    assert.equal(gate.waiting, 0);
  } finally {
    gate.close();
  }
});

test('nobody waiting and tokens there: granted at once; cancelled waiters take no tokens', async () => {
  // A bucket whose tokens the test hands out, counting what is taken.
  let tokens = 2 * BLOCK;
  let taken = 0;
  const bucket: Bucket = {
    tryTake: (n) => {
      if (tokens < n) return false;
      tokens -= n;
      taken += n;
      return true;
    },
    waitMs: () => 60_000,
  };
  const gate = new UploadGate(bucket, () => 0);
  try {
    assert.equal(
      gate.acquire(BLOCK, () => false),
      undefined,
      'granted synchronously',
    );
    assert.equal(
      gate.acquire(BLOCK, () => false),
      undefined,
    );
    let cancelled = false;
    const gone = gate.acquire(BLOCK, () => cancelled);
    const live = gate.acquire(BLOCK, () => false);
    assert.ok(gone !== undefined && live !== undefined, 'the bucket is empty: both wait');
    cancelled = true; // its torrent closed
    tokens = BLOCK; // one block's worth comes in
    gate.kick();
    await Promise.all([gone, live]);
    assert.equal(taken, 3 * BLOCK, 'the live waiter got the block; the cancelled one took nothing');
    assert.equal(gate.waiting, 0);
  } finally {
    gate.close();
  }
});

test('close releases every waiter; an unlimited rate (kick) releases them at once', async () => {
  const now = () => performance.now();
  const slow = new TokenBucket(1, 1, now()); // 1 byte/s: a block would take hours
  slow.tryTake(1, now());
  const gate = new UploadGate(slow, now);
  const waiters = [gate.acquire(BLOCK, () => false), gate.acquire(BLOCK, () => false)];
  assert.ok(waiters.every((w) => w !== undefined));
  gate.close();
  await Promise.all(waiters);
  assert.equal(gate.waiting, 0);
  assert.equal(
    gate.acquire(BLOCK, () => false),
    undefined,
    'a closed gate holds nobody',
  );

  const bucket = new TokenBucket(1, 1, now());
  bucket.tryTake(1, now());
  const g2 = new UploadGate(bucket, now);
  try {
    const w = g2.acquire(BLOCK, () => false);
    assert.ok(w !== undefined);
    bucket.setRate(0, undefined, now()); // unlimited
    g2.kick();
    await w;
    assert.equal(g2.waiting, 0);
  } finally {
    g2.close();
  }
});

test('bandwidth priority: waiting high-priority blocks go before normal ones, normal before low', async () => {
  // The clock stands still while the five wait, so no token can come in between (under load the
  // queueing alone once took longer than a token's 10 ms); then time moves on and they drain.
  let frozen = true;
  const start = performance.now();
  const now = () => (frozen ? 0 : 1000 + performance.now() - start);
  const bucket = new TokenBucket(100 * BLOCK, BLOCK, now());
  bucket.tryTake(BLOCK, now());
  const gate = new UploadGate(bucket, now);
  try {
    const order: string[] = [];
    const wait = (name: string, priority: 'low' | 'normal' | 'high') =>
      gate.acquire(BLOCK, () => false, priority)!.then(() => order.push(name));
    const all = [
      wait('low-1', 'low'),
      wait('normal-1', 'normal'),
      wait('high-1', 'high'),
      wait('low-2', 'low'),
      wait('high-2', 'high'),
    ];
    assert.equal(gate.waiting, 5);
    frozen = false;
    gate.kick();
    await Promise.all(all);
    assert.deepEqual(order, ['high-1', 'high-2', 'normal-1', 'low-1', 'low-2']);
  } finally {
    gate.close();
  }
});
