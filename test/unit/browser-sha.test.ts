/** The browser bundle's SHA-1 / SHA-256 (src/browser/sha.ts) against node:crypto, at every block edge. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { Sha, shaDigest } from '../../src/browser/sha.js';

const node = (alg: string, d: Uint8Array) => new Uint8Array(createHash(alg).update(d).digest());

test('sha1 and sha256 equal node:crypto for lengths 0..300 and a 1 MiB input', () => {
  for (const alg of ['sha1', 'sha256'] as const) {
    for (let n = 0; n <= 300; n++) {
      const d = new Uint8Array(n).map((_, i) => (i * 131 + n) & 0xff);
      assert.deepEqual(shaDigest(alg, d), node(alg, d), `${alg} length ${n}`);
    }
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
    assert.deepEqual(shaDigest(alg, big), node(alg, big));
  }
});

test('incremental updates in any split equal one digest', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 500 }), fc.array(fc.nat(500), { maxLength: 6 }), (d, cuts) => {
      for (const alg of ['sha1', 'sha256'] as const) {
        const h = new Sha(alg);
        let at = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          const to = Math.min(c, d.length);
          h.update(d.subarray(at, Math.max(at, to)));
          at = Math.max(at, to);
        }
        h.update(d.subarray(at));
        assert.deepEqual(h.digest(), node(alg, d));
      }
    }),
  );
});
