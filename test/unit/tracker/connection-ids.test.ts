import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionIds } from '../../../src/tracker/index.js';

const A = Uint8Array.of(127, 0, 0, 1);
const B = Uint8Array.of(127, 0, 0, 2);

test('connection ids: bound to address and port, valid for one to two rotation periods', () => {
  let now = 0;
  const ids = new ConnectionIds(() => now, { rotateMs: 60_000 });
  const id = ids.issue(A, 1000);
  assert.equal(id.length, 8);
  assert.ok(ids.verify(id, A, 1000));
  assert.ok(!ids.verify(id, A, 1001), 'other port');
  assert.ok(!ids.verify(id, B, 1000), 'other address');
  assert.ok(!ids.verify(id.subarray(0, 7), A, 1000), 'short id');
  const flipped = Buffer.from(id);
  flipped[7]! ^= 1;
  assert.ok(!ids.verify(flipped, A, 1000), 'one bit off');
  now = 119_999; // next period: the previous secret still counts
  assert.ok(ids.verify(id, A, 1000));
  now = 120_000; // two periods later: expired
  assert.ok(!ids.verify(id, A, 1000));
});

test('connection ids: the memo of verified ids never outlives the rotation', () => {
  let now = 0;
  const ids = new ConnectionIds(() => now, { rotateMs: 60_000 });
  const id = ids.issue(A, 1);
  assert.ok(ids.verify(id, A, 1, 'A:1'));
  assert.ok(ids.verify(id, A, 1, 'A:1'));
  assert.ok(!ids.verify(id, B, 1, 'B:1'), 'a memo entry is per address');
  now = 60_000;
  assert.ok(ids.verify(id, A, 1, 'A:1'));
  now = 120_000;
  assert.ok(!ids.verify(id, A, 1, 'A:1'));
});

test('connection ids: different trackers (secrets) issue different ids', () => {
  const a = new ConnectionIds(() => 0);
  const b = new ConnectionIds(() => 0);
  assert.notDeepEqual(a.issue(A, 1), b.issue(A, 1));
  assert.ok(!b.verify(a.issue(A, 1), A, 1));
});
