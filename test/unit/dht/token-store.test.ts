import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DHT_TOKEN_BYTES, DHT_TOKEN_ROTATE_MS, TokenStore } from '../../../src/dht/index.js';
import { sha1 } from '../../../src/shared/hash.js';
import { SeededRandom } from '../../../src/testing/sim-network.js';

const ip = Uint8Array.of(1, 2, 3, 4);
const other = Uint8Array.of(1, 2, 3, 5);

describe('TokenStore (BEP 5 write tokens)', () => {
  test('a token is bound to the requester IP', () => {
    const s = new TokenStore({ random: new SeededRandom(1) }, 0);
    const tok = s.issue(ip, 0);
    assert.equal(tok.length, DHT_TOKEN_BYTES);
    assert.equal(s.verify(tok, ip, 10), true);
    assert.equal(s.verify(tok, other, 10), false);
    const wrong = tok.slice();
    wrong[0] = wrong[0]! ^ 1;
    assert.equal(s.verify(wrong, ip, 10), false);
    assert.equal(s.verify(new Uint8Array(0), ip, 10), false);
    assert.equal(s.verify(new Uint8Array(40), ip, 10), false);
  });

  test('it is SHA-1 of the IP and a secret', () => {
    const rnd = new SeededRandom(5);
    const secret = new SeededRandom(5).bytes(20);
    const s = new TokenStore({ random: rnd }, 0);
    const expected = sha1(Uint8Array.from([...ip, ...secret])).subarray(0, DHT_TOKEN_BYTES);
    assert.deepEqual(s.issue(ip, 0), expected);
  });

  test('valid across one rotation, invalid after two (5 to 10 minutes of life)', () => {
    const s = new TokenStore({ random: new SeededRandom(2) }, 0);
    const tok = s.issue(ip, 1000);
    assert.equal(s.verify(tok, ip, DHT_TOKEN_ROTATE_MS - 1), true);
    assert.equal(s.verify(tok, ip, DHT_TOKEN_ROTATE_MS), true, 'after one rotation: previous secret');
    assert.equal(s.verify(tok, ip, 2 * DHT_TOKEN_ROTATE_MS - 1), true);
    assert.equal(s.verify(tok, ip, 2 * DHT_TOKEN_ROTATE_MS), false, 'after two rotations');
    const fresh = s.issue(ip, 2 * DHT_TOKEN_ROTATE_MS);
    assert.notDeepEqual(fresh, tok);
    assert.equal(s.verify(fresh, ip, 2 * DHT_TOKEN_ROTATE_MS + 1), true);
  });

  test('a long idle gap invalidates everything at once', () => {
    const s = new TokenStore({ random: new SeededRandom(3) }, 0);
    const tok = s.issue(ip, 0);
    assert.equal(s.verify(tok, ip, 10 * DHT_TOKEN_ROTATE_MS), false);
    assert.equal(s.nextRotation(), 11 * DHT_TOKEN_ROTATE_MS);
  });
});
