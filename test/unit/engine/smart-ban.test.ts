import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_SMART_BAN_BLOCKS, MAX_SMART_BAN_PIECES, SmartBan } from '../../../src/engine/index.js';

const d = (n: number) => new Uint8Array(20).fill(n);

describe('SmartBan', () => {
  test('a passing copy convicts the senders of differing blocks and clears the others', () => {
    const sb = new SmartBan();
    sb.onFailed(3, [
      { sender: 'a', digest: d(1) },
      { sender: 'b', digest: d(9) },
      { sender: undefined, digest: d(3) },
    ]);
    assert.equal(sb.has(3), true);
    assert.equal(sb.isContributor(3, 'a'), true);
    assert.equal(sb.isContributor(3, 'c'), false);
    assert.deepEqual(sb.onPassed(3, [d(1), d(2), d(3)]), { guilty: ['b'], cleared: ['a'] });
    assert.equal(sb.has(3), false);
    assert.equal(sb.blockCount, 0);
  });

  test('evidence from several failures adds up; a sender that was right once and wrong once is guilty', () => {
    const sb = new SmartBan();
    sb.onFailed(0, [
      { sender: 'a', digest: d(1) },
      { sender: 'b', digest: d(2) },
    ]);
    sb.onFailed(0, [
      { sender: 'b', digest: d(1) },
      { sender: 'a', digest: d(7) },
    ]);
    sb.onFailed(0, [
      { sender: 'b', digest: d(1) },
      { sender: 'a', digest: d(7) },
    ]); // repeated: kept once
    assert.equal(sb.blockCount, 4);
    assert.deepEqual(sb.onPassed(0, [d(1), d(2)]).guilty, ['a']);
  });

  test(`at most MAX_SMART_BAN_PIECES (${MAX_SMART_BAN_PIECES}) pieces are remembered, oldest forgotten first`, () => {
    const sb = new SmartBan();
    for (let i = 0; i <= MAX_SMART_BAN_PIECES; i++) sb.onFailed(i, [{ sender: 'x', digest: d(i % 250) }]);
    assert.equal(sb.size, MAX_SMART_BAN_PIECES);
    assert.equal(sb.has(0), false, 'the oldest record went first');
    assert.equal(sb.has(MAX_SMART_BAN_PIECES), true);
  });

  test(`at most MAX_SMART_BAN_BLOCKS (${MAX_SMART_BAN_BLOCKS}) blocks are recorded in all`, () => {
    const sb = new SmartBan();
    const perPiece = 1024;
    const pieces = Math.ceil(MAX_SMART_BAN_BLOCKS / perPiece) + 2;
    for (let i = 0; i < pieces; i++) {
      sb.onFailed(
        i,
        Array.from({ length: perPiece }, (_, b) => ({ sender: `s${b % 3}`, digest: d(b % 200) })),
      );
      assert.ok(sb.blockCount <= MAX_SMART_BAN_BLOCKS, `bound held after piece ${i}`);
    }
    assert.equal(sb.has(pieces - 1), true, 'the newest evidence is kept');
    assert.equal(sb.has(0), false);
  });
});
