import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReceiveBuffer } from '../../../src/utp/index.js';

describe('ReceiveBuffer', () => {
  test('holds packets by seq across the wrap and grows its table', () => {
    const r = new ReceiveBuffer(1024);
    const base = 65_500;
    for (let k = 0; k < 300; k += 3) r.store((base + k) & 0xffff, base, Uint8Array.of(k & 255, 1), 0, 2);
    assert.equal(r.heldPackets, 100);
    assert.equal(r.has((base + 298) & 0xffff), false);
    assert.equal(r.has((base + 297) & 0xffff), true);
    assert.equal(r.dataOf((base + 297) & 0xffff)[0], 297 & 255);
    r.remove((base + 297) & 0xffff);
    assert.equal(r.heldBytes, 99 * 2);
  });

  test('the arrays kept for reuse stay within the budget whatever the packet sizes', () => {
    const budget = 100_000;
    const r = new ReceiveBuffer(2048, budget);
    const big = new Uint8Array(60_000).fill(9);
    for (let seq = 0; seq < 4000; seq++) {
      r.store(seq & 0xffff, seq & 0xffff, big, 0, big.length);
      // The bytes stay readable during the call that removes the slot.
      r.remove(seq & 0xffff);
      assert.equal(r.dataOf(seq & 0xffff)[59_999], 9);
      assert.ok(r.retainedBytes <= budget + big.length, `${r.retainedBytes}`);
    }
  });
});
