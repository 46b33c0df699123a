import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  METADATA_REQUEST_TIMEOUT_MS,
  type MetadataAction,
  MetadataExchange,
} from '../../../src/engine/index.js';
import { sha1, sha256 } from '../../../src/shared/hash.js';
import { MAX_METADATA_BYTES, METADATA_PIECE_BYTES } from '../../../src/shared/limits.js';
import { pseudoRandomBytes } from '../../helpers/payload.js';

const info = new Uint8Array(pseudoRandomBytes(METADATA_PIECE_BYTES * 2 + 100, 9));
const piece = (i: number) => info.subarray(i * METADATA_PIECE_BYTES, (i + 1) * METADATA_PIECE_BYTES);
const requests = (a: MetadataAction[]) =>
  a.filter((x) => x.type === 'request').map((x) => x.type === 'request' && [x.peer, x.piece]);

describe('MetadataExchange (BEP 9)', () => {
  test('requests every piece, assembles and verifies against the v1 and v2 hashes', () => {
    const mx = new MetadataExchange({ infoHashV1: sha1(info), infoHashV2: sha256(info) });
    const a = mx.onExtendedHandshake('p1', 3, info.length, 0);
    assert.deepEqual(requests(a), [
      ['p1', 0],
      ['p1', 1],
      ['p1', 2],
    ]);
    assert.deepEqual(mx.onData('p1', 0, info.length, piece(0), 1), []);
    assert.deepEqual(mx.onData('p1', 2, info.length, piece(2), 1), []);
    const done = mx.onData('p1', 1, info.length, piece(1), 2);
    assert.equal(done.length, 1);
    assert.equal(done[0]!.type, 'complete');
    assert.deepEqual(done[0]!.type === 'complete' && Buffer.from(done[0]!.info), Buffer.from(info));
    assert.ok(mx.isComplete);
  });

  test('metadata that does not hash to the info-hash is dropped and its senders are bad peers', () => {
    const mx = new MetadataExchange({ infoHashV1: sha1(info) });
    mx.onExtendedHandshake('liar', 3, info.length, 0);
    mx.onExtendedHandshake('honest', 3, info.length, 0);
    const forged = new Uint8Array(piece(0));
    forged[5] = forged[5]! ^ 1;
    mx.onData('liar', 0, info.length, forged, 1);
    mx.onData('liar', 1, info.length, piece(1), 1);
    const after = mx.onData('liar', 2, info.length, piece(2), 1);
    assert.ok(after.some((x) => x.type === 'bad-peer' && x.peer === 'liar'));
    assert.ok(!mx.isComplete);
    // The fetch restarts with the honest peer, which completes it.
    const asked = after.filter((x) => x.type === 'request').map((x) => x.type === 'request' && x.piece);
    assert.deepEqual(asked, [0, 1, 2]);
    mx.onData('honest', 0, info.length, piece(0), 2);
    mx.onData('honest', 1, info.length, piece(1), 2);
    assert.equal(mx.onData('honest', 2, info.length, piece(2), 2)[0]?.type, 'complete');
  });

  test('rejects, disconnects and timeouts move the request to another peer', () => {
    const mx = new MetadataExchange({ infoHashV1: sha1(info) });
    mx.onExtendedHandshake('a', 2, info.length, 0);
    mx.onExtendedHandshake('b', 2, info.length, 0);
    assert.deepEqual(requests(mx.onReject('a', 0, 1)), [['b', 0]]);
    assert.deepEqual(requests(mx.removePeer('b', 2)), [['a', 0]]);
    assert.equal(mx.nextDeadline(), METADATA_REQUEST_TIMEOUT_MS, 'pieces 1 and 2 were asked at t=0');
    mx.onExtendedHandshake('c', 2, info.length, 3);
    const re = requests(mx.tick(2 + METADATA_REQUEST_TIMEOUT_MS));
    assert.ok(re.length > 0, 'timed-out pieces are asked again');
  });

  test('bounds: implausible sizes, wrong total_size and wrong piece lengths cost only that peer', () => {
    const mx = new MetadataExchange({ infoHashV1: sha1(info) });
    assert.equal(mx.onExtendedHandshake('huge', 1, MAX_METADATA_BYTES + 1, 0)[0]?.type, 'bad-peer');
    assert.equal(mx.onExtendedHandshake('zero', 1, 0, 0)[0]?.type, 'bad-peer');
    mx.onExtendedHandshake('ok', 1, info.length, 0);
    mx.onExtendedHandshake('x', 1, undefined, 0);
    assert.equal(mx.size, info.length);
    const bad = mx.onData('ok', 0, info.length + 1, piece(0), 1);
    assert.equal(bad[0]?.type, 'bad-peer');
    const short = mx.onData('x', 1, info.length, piece(1).subarray(1), 1);
    assert.ok(short.some((a) => a.type === 'bad-peer' && a.peer === 'x'));
    assert.deepEqual(mx.onData('nobody', 0, info.length, piece(0), 1), [], 'unknown peers are ignored');
  });

  const badPeers = (a: MetadataAction[]) =>
    a.filter((x) => x.type === 'bad-peer').map((x) => x.type === 'bad-peer' && x.peer);
  const forged = (i: number) => {
    const f = new Uint8Array(piece(i));
    f[7] = f[7]! ^ 1;
    return f;
  };

  test('a peer lying about metadata_size first does not get the honest peer dropped', () => {
    const mx = new MetadataExchange({ infoHashV1: sha1(info) });
    const lie = METADATA_PIECE_BYTES + 10;
    assert.deepEqual(requests(mx.onExtendedHandshake('liar', 3, lie, 0)), [
      ['liar', 0],
      ['liar', 1],
    ]);
    assert.deepEqual(
      requests(mx.onExtendedHandshake('honest', 3, info.length, 0)),
      [],
      'not asked: another size',
    );
    mx.onData('liar', 0, lie, piece(0), 1);
    const failed = mx.onData('liar', 1, lie, new Uint8Array(10), 1);
    assert.deepEqual(badPeers(failed), ['liar']);
    assert.equal(mx.size, info.length, 'the honest size is used now');
    assert.deepEqual(requests(failed), [
      ['honest', 0],
      ['honest', 1],
      ['honest', 2],
    ]);
    mx.onData('honest', 0, info.length, piece(0), 2);
    mx.onData('honest', 1, info.length, piece(1), 2);
    assert.equal(mx.onData('honest', 2, info.length, piece(2), 2)[0]?.type, 'complete');
  });

  test('a peer lying about metadata_size and never answering: the fetch moves to the other size', () => {
    const mx = new MetadataExchange({ infoHashV1: sha1(info) });
    mx.onExtendedHandshake('liar', 3, 5 * METADATA_PIECE_BYTES, 0);
    mx.onExtendedHandshake('honest', 3, info.length, 0);
    const re = mx.tick(METADATA_REQUEST_TIMEOUT_MS);
    assert.equal(mx.size, info.length);
    assert.deepEqual(requests(re), [
      ['honest', 0],
      ['honest', 1],
      ['honest', 2],
    ]);
    mx.onData('honest', 0, info.length, piece(0), 2);
    mx.onData('honest', 1, info.length, piece(1), 2);
    assert.equal(mx.onData('honest', 2, info.length, piece(2), 2)[0]?.type, 'complete');
  });

  test('one wrong piece among honest ones convicts nobody; solo attempts then convict the liar alone', () => {
    const mx = new MetadataExchange({ infoHashV1: sha1(info) });
    mx.onExtendedHandshake('honest', 3, info.length, 0);
    mx.onExtendedHandshake('liar', 3, info.length, 0);
    // The honest peer refuses piece 0 (busy), so the liar sends it: a mixed copy.
    assert.deepEqual(requests(mx.onReject('honest', 0, 1)), [['liar', 0]]);
    mx.onData('honest', 1, info.length, piece(1), 2);
    mx.onData('honest', 2, info.length, piece(2), 2);
    const mixed = mx.onData('liar', 0, info.length, forged(0), 3);
    assert.deepEqual(badPeers(mixed), [], 'a mixed failure names nobody');
    assert.equal(mx.isComplete, false);
    // Solo: every piece from one peer (the liar, which never refused).
    assert.deepEqual(requests(mixed), [
      ['liar', 0],
      ['liar', 1],
      ['liar', 2],
    ]);
    mx.onData('liar', 0, info.length, forged(0), 4);
    mx.onData('liar', 1, info.length, piece(1), 4);
    const solo = mx.onData('liar', 2, info.length, piece(2), 4);
    assert.deepEqual(badPeers(solo), ['liar'], 'a solo failure convicts its sender');
    assert.deepEqual(requests(solo), [
      ['honest', 0],
      ['honest', 1],
      ['honest', 2],
    ]);
    mx.onData('honest', 0, info.length, piece(0), 5);
    mx.onData('honest', 1, info.length, piece(1), 5);
    assert.equal(mx.onData('honest', 2, info.length, piece(2), 5)[0]?.type, 'complete');
  });

  test('solo mode: a peer that refuses a piece gives the attempt to another, never mixing copies', () => {
    const mx = new MetadataExchange({ infoHashV1: sha1(info) });
    mx.onExtendedHandshake('a', 3, info.length, 0);
    mx.onExtendedHandshake('b', 3, info.length, 0);
    mx.onReject('a', 0, 1); // b gets piece 0
    mx.onData('a', 1, info.length, piece(1), 2);
    mx.onData('a', 2, info.length, piece(2), 2);
    const mixed = mx.onData('b', 0, info.length, forged(0), 3);
    assert.deepEqual(badPeers(mixed), []);
    assert.deepEqual(requests(mixed), [
      ['b', 0],
      ['b', 1],
      ['b', 2],
    ]);
    mx.onData('b', 0, info.length, piece(0), 4);
    // b refuses piece 1: its solo attempt is abandoned and a takes it over from the start.
    assert.deepEqual(requests(mx.onReject('b', 1, 5)), [
      ['a', 0],
      ['a', 1],
      ['a', 2],
    ]);
    mx.onData('a', 0, info.length, piece(0), 6);
    mx.onData('a', 1, info.length, piece(1), 6);
    assert.equal(mx.onData('a', 2, info.length, piece(2), 6)[0]?.type, 'complete');
  });
});
