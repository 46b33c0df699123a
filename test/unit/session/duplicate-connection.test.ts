/**
 * Two peers that dial each other end up with two connections; both ends must close the same one
 * (src/session/torrent.ts `keepsNewConnection`), or they would both close theirs and lose the peer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { keepsNewConnection } from '../../../src/session/index.js';

const id = fc.uint8Array({ minLength: 20, maxLength: 20 });

test('property: both ends keep the same one of two crossing connections', () => {
  fc.assert(
    fc.property(id, id, fc.boolean(), (a, b, firstOpenedByA) => {
      fc.pre(Buffer.compare(a, b) !== 0);
      // Connection 1 was opened by A if firstOpenedByA, connection 2 by the other end. Each end
      // sees connection 1 first (existing) and connection 2 second (new).
      const atA = keepsNewConnection(a, b, !firstOpenedByA, firstOpenedByA);
      const atB = keepsNewConnection(b, a, firstOpenedByA, !firstOpenedByA);
      assert.equal(atA, atB, 'both ends keep the same connection');
      // The kept one was opened by the end with the larger id.
      const kept = atA ? (firstOpenedByA ? 'B' : 'A') : firstOpenedByA ? 'A' : 'B';
      assert.equal(kept, Buffer.compare(a, b) > 0 ? 'A' : 'B');
    }),
    { numRuns: 500 },
  );
});

test('a second connection opened by the same end never replaces the first', () => {
  const a = new Uint8Array(20).fill(2);
  const b = new Uint8Array(20).fill(1);
  for (const outgoing of [true, false]) {
    assert.equal(keepsNewConnection(a, b, outgoing, outgoing), false);
    assert.equal(keepsNewConnection(b, a, outgoing, outgoing), false);
  }
});
