/**
 * The peer pool with an IP blocklist (src/net/peer-pool.ts): blocked addresses are never learned
 * (so never dialled) nor admitted, and a new list makes owners forget them and tells listeners.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBlocklist } from '../../../src/net/ip-blocklist.js';
import { PeerPool } from '../../../src/net/peer-pool.js';

const LIMITS = { maxConnections: 10, maxHalfOpen: 4, maxKnown: 100, maxPerAddress: 2 };

test('blocked addresses are neither added, dialled nor admitted; others are', () => {
  const pool = new PeerPool({ now: () => 0, maxConnections: 50 });
  pool.setBlocklist(parseBlocklist('127.0.0.2\n2001:db8::/32').list);
  const owner = pool.openOwner(LIMITS);
  assert.equal(owner.add('127.0.0.2', 6881, 'user'), false);
  assert.equal(owner.add('2001:db8::9', 6881, 'tracker'), false);
  assert.equal(owner.add('127.0.0.1', 6881, 'tracker'), true);
  assert.deepEqual(
    owner.dialable(0).map((k) => k.host),
    ['127.0.0.1'],
  );
  assert.equal(owner.admit('127.0.0.2', 50000, false), 'blocked');
  assert.equal(owner.admit('::ffff:127.0.0.2', 50000, false), 'blocked');
  const ok = owner.admit('127.0.0.1', 50000, false);
  assert.equal(typeof ok, 'object');
  assert.equal(pool.isBlocked('127.0.0.2'), true);
  assert.equal(pool.isBlocked('127.0.0.1'), false);
});

test('a new list: owners forget what it blocks, listeners hear it, removing it unblocks', () => {
  const pool = new PeerPool({ now: () => 0, maxConnections: 50 });
  const owner = pool.openOwner(LIMITS);
  owner.add('192.0.2.1', 1, 'tracker');
  owner.add('192.0.2.2', 1, 'tracker');
  owner.add('198.51.100.1', 1, 'tracker');
  const heard: boolean[][] = [];
  const stop = pool.onBlocklist((isBlocked) => heard.push(['192.0.2.1', '198.51.100.1'].map(isBlocked)));
  pool.setBlocklist(parseBlocklist('192.0.2.0/24').list);
  assert.deepEqual(
    owner.knownAddresses().map((k) => k.host),
    ['198.51.100.1'],
  );
  assert.deepEqual(heard, [[true, false]]);
  pool.setBlocklist(undefined);
  assert.equal(owner.add('192.0.2.1', 1, 'tracker'), true);
  stop();
  pool.setBlocklist(parseBlocklist('198.51.100.1').list);
  assert.equal(heard.length, 1);
});
