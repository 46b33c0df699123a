import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seqAdd, seqDiff, seqLess } from '../../../src/utp/index.js';

describe('16-bit sequence arithmetic', () => {
  test('wraps at 65535 → 0', () => {
    assert.equal(seqAdd(65535, 1), 0);
    assert.equal(seqAdd(0, -1), 65535);
    assert.equal(seqDiff(2, 65534), 4);
    assert.equal(seqDiff(65534, 2), 65532);
  });

  test('comparison holds across the wrap and is strict', () => {
    assert.equal(seqLess(65535, 0), true);
    assert.equal(seqLess(0, 65535), false);
    assert.equal(seqLess(65000, 100), true);
    assert.equal(seqLess(5, 5), false);
    assert.equal(seqLess(0, 0x7fff), true);
    assert.equal(seqLess(0, 0x8000), false, 'half the space away is not "before"');
  });
});
