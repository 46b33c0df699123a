import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_PEER_REQQ,
  MAX_REQUEST_QUEUE,
  MIN_REQUEST_QUEUE,
  REQUEST_TIMEOUT_MS,
  RequestScheduler,
  SNUB_TIMEOUT_MS,
} from '../../../src/engine/index.js';
import { BLOCK_BYTES } from '../../../src/shared/limits.js';

const block = (piece: number, i: number) => ({ piece, offset: i * BLOCK_BYTES, length: BLOCK_BYTES });

describe('RequestScheduler: depth', () => {
  test('starts at the minimum and grows with the measured rate', () => {
    const s = new RequestScheduler(0);
    assert.equal(s.targetDepth(0), MIN_REQUEST_QUEUE);
    // 1 MiB/s for 2 s: depth ≈ 1 MiB/s × 3 s / 16 KiB = 192
    let t = 0;
    for (let i = 0; i < 128; i++) {
      s.onRequestSent(block(i, 0), t);
      t += 1000 / 64;
      assert.equal(s.onBlock(block(i, 0), t), 'requested');
    }
    const d = s.targetDepth(t);
    assert.ok(d > 150 && d < 250, `depth ${d}`);
  });

  test("is capped by the peer's reqq and by MAX_REQUEST_QUEUE", () => {
    const s = new RequestScheduler(0);
    for (let i = 0; i < 2000; i++) {
      s.onRequestSent(block(i, 0), 0);
      s.onBlock(block(i, 0), 1);
    }
    assert.equal(s.targetDepth(1), DEFAULT_PEER_REQQ, 'no reqq advertised: the BEP 10 default');
    s.setPeerReqq(10_000);
    assert.equal(s.targetDepth(1), MAX_REQUEST_QUEUE);
    s.setPeerReqq(16);
    assert.equal(s.targetDepth(1), 16);
    assert.equal(s.freeSlots(1), 16);
    s.setPeerReqq(-3); // ignored
    assert.equal(s.targetDepth(1), 16);
  });
});

describe('RequestScheduler: matching answers', () => {
  test('requested, cancelled and unrequested blocks', () => {
    const s = new RequestScheduler(0);
    s.onRequestSent(block(1, 0), 0);
    s.onRequestSent(block(1, 1), 0);
    assert.equal(s.outstanding, 2);
    assert.equal(s.has(block(1, 0)), true);
    assert.equal(s.cancel(block(1, 1)), true);
    assert.equal(s.cancel(block(1, 1)), false);
    assert.equal(s.onBlock(block(1, 1), 5), 'cancelled', 'a block crossing our cancel is not unrequested');
    assert.equal(s.onBlock(block(1, 1), 5), 'unrequested', 'but only once');
    assert.equal(s.onBlock({ piece: 1, offset: 0, length: 10 }, 5), 'unrequested', 'wrong length');
    assert.equal(s.onBlock({ piece: 1, offset: 7, length: BLOCK_BYTES }, 5), 'unrequested', 'misaligned');
    assert.equal(s.onBlock(block(1, 0), 5), 'requested');
    assert.equal(s.outstanding, 0);
    assert.equal(s.onReject(block(9, 9)), 'unrequested');
  });

  test('asked again after a cancel: the answer to the cancelled request and to the new one are both accepted', () => {
    // The peer sent the block before our cancel reached it, then answers the new request too.
    const s = new RequestScheduler(0);
    s.onRequestSent(block(2, 0), 0);
    s.cancel(block(2, 0));
    s.onRequestSent(block(2, 0), 1);
    assert.equal(s.onBlock(block(2, 0), 2), 'requested', 'the first copy serves the new request');
    assert.equal(s.outstanding, 0);
    assert.equal(s.onBlock(block(2, 0), 3), 'cancelled', 'the second copy is the late one, not unrequested');
    assert.equal(s.onBlock(block(2, 0), 4), 'unrequested', 'a third copy was never asked for');

    // A BEP 6 peer rejected the cancelled request (as it must), then sends the new one's block.
    const f = new RequestScheduler(0);
    f.onRequestSent(block(3, 1), 0);
    f.cancel(block(3, 1));
    f.onRequestSent(block(3, 1), 1);
    assert.equal(f.onReject(block(3, 1)), 'cancelled', 'the reject answers the cancelled request');
    assert.equal(f.has(block(3, 1)), true, 'the new request is still open');
    assert.equal(f.onBlock(block(3, 1), 2), 'requested');
    assert.equal(f.onReject(block(3, 1)), 'unrequested');
  });

  test('dropAll (choke without BEP 6) remembers the dropped requests', () => {
    const s = new RequestScheduler(0);
    for (let i = 0; i < 3; i++) s.onRequestSent(block(0, i), 0);
    assert.equal(s.dropAll().length, 3);
    assert.equal(s.outstanding, 0);
    assert.equal(s.onReject(block(0, 1)), 'cancelled');
    assert.equal(s.onBlock(block(0, 2), 1), 'cancelled');
  });
});

describe('RequestScheduler: timeouts and snubbing', () => {
  test('requests time out after REQUEST_TIMEOUT_MS without a block; depth drops to 1', () => {
    const s = new RequestScheduler(0);
    s.onRequestSent(block(0, 0), 0);
    s.onRequestSent(block(0, 1), 0);
    assert.equal(s.nextDeadline(), REQUEST_TIMEOUT_MS);
    assert.equal(s.checkTimeouts(REQUEST_TIMEOUT_MS - 1).timedOut.length, 0);
    const r = s.checkTimeouts(REQUEST_TIMEOUT_MS);
    assert.equal(r.timedOut.length, 2);
    assert.equal(r.becameSnubbed, false);
    assert.equal(s.targetDepth(REQUEST_TIMEOUT_MS), 1);
    assert.equal(s.onBlock(block(0, 0), REQUEST_TIMEOUT_MS + 1), 'cancelled', 'late answers are accepted');
    assert.equal(s.targetDepth(REQUEST_TIMEOUT_MS + 1), MIN_REQUEST_QUEUE);
  });

  test('a flowing peer does not time out its deep queue', () => {
    const s = new RequestScheduler(0);
    for (let i = 0; i < 50; i++) s.onRequestSent(block(i, 0), 0);
    for (let i = 0; i < 49; i++) s.onBlock(block(i, 0), (i + 1) * 1000);
    assert.equal(s.checkTimeouts(49_000 + REQUEST_TIMEOUT_MS - 1).timedOut.length, 0);
  });

  test('no block for SNUB_TIMEOUT_MS while waiting: snubbed until a block arrives', () => {
    const s = new RequestScheduler(0);
    let t = 0;
    s.onRequestSent(block(0, 0), t);
    let snubbedAt: number | undefined;
    for (let i = 1; snubbedAt === undefined && i < 10; i++) {
      t = s.nextDeadline()!;
      const r = s.checkTimeouts(t);
      if (r.becameSnubbed) snubbedAt = t;
      // the engine re-requests after a timeout (depth 1)
      if (s.outstanding === 0) s.onRequestSent(block(0, i), t);
    }
    assert.equal(snubbedAt, SNUB_TIMEOUT_MS);
    assert.equal(s.isSnubbed, true);
    assert.equal(s.targetDepth(t), 1);
    assert.equal(s.checkTimeouts(t + 1).becameSnubbed, false, 'reported once');
    s.onBlock(block(0, 3), t + 2);
    assert.equal(s.isSnubbed, false);
  });

  test('not waiting (nothing requested) means no deadline', () => {
    const s = new RequestScheduler(0);
    assert.equal(s.nextDeadline(), undefined);
    s.onRequestSent(block(0, 0), 10);
    s.cancel(block(0, 0));
    assert.equal(s.nextDeadline(), undefined);
  });
});
