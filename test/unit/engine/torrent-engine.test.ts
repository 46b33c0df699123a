import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type EngineAction,
  PiecePriority,
  RECHOKE_INTERVAL_MS,
  REQUEST_TIMEOUT_MS,
  SeededRandom,
  SNUB_TIMEOUT_MS,
  TorrentEngine,
  type TorrentEngineOptions,
  UPLOAD_READS_IN_FLIGHT,
  uniformLayout,
} from '../../../src/engine/index.js';
import { isShoalError } from '../../../src/shared/errors.js';
import {
  BLOCK_BYTES,
  MAX_INVALID_REQUESTS,
  MAX_PEER_ALLOWED_FAST,
  MAX_QUEUED_PEER_REQUESTS,
  MAX_REQUESTS_WHILE_CHOKED,
  MAX_UNEXPECTED_REJECTS,
  MAX_UNREQUESTED_BLOCKS,
} from '../../../src/shared/limits.js';
import {
  Bitfield,
  type BlockMessage,
  type EncodableMessage,
  type WireMessage,
} from '../../../src/wire/index.js';

const INFO_HASH = new Uint8Array(20).fill(7);

/** An engine over `pieces` pieces of `blocks` blocks each (the last piece may be shorter). */
function engine(pieces: number, blocks = 2, options: TorrentEngineOptions = {}, lastPieceBytes?: number) {
  const pieceLength = blocks * BLOCK_BYTES;
  const total = (pieces - 1) * pieceLength + (lastPieceBytes ?? pieceLength);
  return new TorrentEngine({
    infoHash: INFO_HASH,
    layout: { ...uniformLayout(total, pieceLength), pieceLength },
    files: [
      { offset: 0, length: Math.floor(total / 2) },
      { offset: Math.floor(total / 2), length: total - Math.floor(total / 2) },
    ],
    random: new SeededRandom(1),
    now: 0,
    options,
  });
}

const FAST = { supportsFast: true, supportsExtensions: true } as const;
const SLOW = { supportsFast: false, supportsExtensions: false } as const;

function sends(actions: EngineAction[], peer?: string): EncodableMessage[] {
  return actions.flatMap((a) =>
    a.type === 'send' && (peer === undefined || a.peer === peer) ? [a.msg] : [],
  );
}
function ofType<T extends EngineAction['type']>(actions: EngineAction[], type: T) {
  return actions.filter((a): a is Extract<EngineAction, { type: T }> => a.type === type);
}
function requests(actions: EngineAction[], peer?: string): BlockMessage[] {
  return sends(actions, peer).filter((m): m is BlockMessage => m.type === 'request');
}
function bits(s: string): Uint8Array {
  const b = new Bitfield(s.length);
  [...s].forEach((c, i) => {
    if (c === '1') b.set(i);
  });
  return b.toWire();
}
function block(index: number, begin: number, length = BLOCK_BYTES): WireMessage {
  return { type: 'piece', index, begin, block: new Uint8Array(length) };
}

describe('TorrentEngine: connection start', () => {
  test('our first message: bitfield, have all or have none', () => {
    const e = engine(4);
    assert.deepEqual(sends(e.addPeer('a', FAST, 0)), [{ type: 'have-none' }]);
    assert.deepEqual(sends(e.addPeer('b', SLOW, 0)), [], 'BEP 3: the bitfield may be omitted');
    e.setHave([1], 0);
    assert.deepEqual(sends(e.addPeer('c', SLOW, 0)), [{ type: 'bitfield', bitfield: bits('0100') }]);
    e.setHave([0, 2, 3], 0);
    assert.deepEqual(sends(e.addPeer('d', FAST, 0)), [{ type: 'have-all' }]);
  });

  test('BEP 6: fast peers get allowed-fast messages for the pieces we have of their set', () => {
    const e = engine(40, 1, { allowedFastSetSize: 3 });
    e.setHave(
      Array.from({ length: 40 }, (_, i) => i),
      0,
    );
    const msgs = sends(e.addPeer('a', { ...FAST, ip: new Uint8Array([10, 0, 0, 1]) }, 0));
    assert.equal(msgs[0]!.type, 'have-all');
    assert.equal(msgs.filter((m) => m.type === 'allowed-fast').length, 3);
  });

  test('a bitfield makes us interested, an unchoke makes us request only pieces the peer has', () => {
    const e = engine(4);
    e.addPeer('a', FAST, 0);
    assert.deepEqual(sends(e.onMessage('a', { type: 'bitfield', bitfield: bits('0110') }, 0)), [
      { type: 'interested' },
    ]);
    const reqs = requests(e.onMessage('a', { type: 'unchoke' }, 0));
    assert.ok(reqs.length >= 2);
    assert.ok(reqs.every((r) => r.index === 1 || r.index === 2));
    assert.equal(e.picker.availability(1), 1);
  });

  test('bad bitfields close the connection with a typed error', () => {
    const e = engine(10);
    e.addPeer('short', SLOW, 0);
    const [close] = ofType(
      e.onMessage('short', { type: 'bitfield', bitfield: new Uint8Array(1) }, 0),
      'close',
    );
    assert.equal(close?.reason, 'bad-bitfield');
    assert.ok(isShoalError(close?.error));
    assert.deepEqual(e.peerKeys(), []);
    assert.deepEqual(e.onMessage('short', { type: 'unchoke' }, 0), [], 'a closed peer is forgotten');

    e.addPeer('spare', SLOW, 0);
    const spare = e.onMessage('spare', { type: 'bitfield', bitfield: new Uint8Array([0, 0x01]) }, 0);
    assert.equal(ofType(spare, 'close')[0]?.reason, 'bad-bitfield', 'a spare bit set');

    // aria2 re-sends its bitfield instead of a batch of haves: taken as haves, never as a loss.
    e.addPeer('twice', SLOW, 0);
    e.onMessage('twice', { type: 'bitfield', bitfield: bits('1000000000') }, 0);
    const twice = e.onMessage('twice', { type: 'bitfield', bitfield: bits('0100000000') }, 0);
    assert.deepEqual(ofType(twice, 'close'), []);
    assert.equal(e.picker.availability(0), 1, 'piece 0 is kept');
    assert.equal(e.picker.availability(1), 1, 'piece 1 is added');
    const badLate = e.onMessage('twice', { type: 'bitfield', bitfield: new Uint8Array([0, 0x01]) }, 0);
    assert.equal(
      ofType(badLate, 'close')[0]?.reason,
      'bad-bitfield',
      'a malformed late bitfield still closes',
    );
    assert.equal(e.picker.availability(0), 0, 'its pieces left the availability');

    e.addPeer('late', FAST, 0);
    e.onMessage('late', { type: 'have', index: 3 }, 0);
    assert.deepEqual(ofType(e.onMessage('late', { type: 'have-all' }, 0), 'close'), []);
    assert.equal(e.peerStats('late', 0)?.isSeed, true, 'a late have all makes it a seed');
    assert.deepEqual(ofType(e.onMessage('late', { type: 'have-none' }, 0), 'close'), []);
    assert.equal(e.peerStats('late', 0)?.isSeed, true, 'a late have none takes nothing away');

    e.addPeer('slow', SLOW, 0);
    assert.equal(
      ofType(e.onMessage('slow', { type: 'have-all' }, 0), 'close')[0]?.reason,
      'fast-extension-violation',
    );
  });

  test('extension and DHT messages do not end the bitfield phase', () => {
    const e = engine(4);
    e.addPeer('a', FAST, 0);
    e.onMessage('a', { type: 'extended', extId: 0, payload: new Uint8Array() }, 0);
    e.onMessage('a', { type: 'port', port: 6881 }, 0);
    e.onMessage('a', { type: 'keep-alive' }, 0);
    assert.deepEqual(ofType(e.onMessage('a', { type: 'have-all' }, 0), 'close'), []);
    assert.equal(e.peerStats('a', 0)?.isSeed, true);
  });

  test('have out of range, fast messages without BEP 6, a second handshake: closed', () => {
    const e = engine(4);
    e.addPeer('a', FAST, 0);
    assert.equal(
      ofType(e.onMessage('a', { type: 'have', index: 4 }, 0), 'close')[0]?.reason,
      'have-out-of-range',
    );
    for (const msg of [
      { type: 'reject-request', index: 0, begin: 0, length: BLOCK_BYTES },
      { type: 'allowed-fast', index: 0 },
      { type: 'suggest-piece', index: 0 },
    ] as const) {
      e.addPeer('s', SLOW, 0);
      assert.equal(
        ofType(e.onMessage('s', msg, 0), 'close')[0]?.reason,
        'fast-extension-violation',
        msg.type,
      );
    }
    e.addPeer('h', FAST, 0);
    const hs: WireMessage = {
      type: 'handshake',
      protocol: new Uint8Array(),
      reserved: new Uint8Array(8),
      infoHash: INFO_HASH,
      peerId: new Uint8Array(20),
    } as unknown as WireMessage;
    assert.equal(ofType(e.onMessage('h', hs, 0), 'close')[0]?.reason, 'protocol-error');
  });
});

describe('TorrentEngine: downloading', () => {
  test('blocks are written, a complete piece is verified, haves go out, done at the end', () => {
    const e = engine(2, 2);
    e.addPeer('a', FAST, 0);
    e.addPeer('b', FAST, 0);
    e.onMessage('a', { type: 'have-all' }, 0);
    e.onMessage('b', { type: 'have-none' }, 0);
    const reqs = requests(e.onMessage('a', { type: 'unchoke' }, 0));
    assert.equal(reqs.length, 2);
    const first = reqs[0]!;
    const w = e.onMessage('a', block(first.index, first.begin), 1);
    assert.equal(ofType(w, 'write-block').length, 1);
    assert.equal(ofType(w, 'piece-complete').length, 0);
    const rest = [...reqs.slice(1), ...requests(w)];
    const acts: EngineAction[] = [];
    for (const r of rest) acts.push(...e.onMessage('a', block(r.index, r.begin), 2));
    for (const r of requests(acts)) acts.push(...e.onMessage('a', block(r.index, r.begin), 3));
    const complete = ofType(acts, 'piece-complete').map((a) => a.index);
    assert.deepEqual(complete.sort(), [0, 1]);
    const v0 = e.onPieceVerified(0, true, 4);
    assert.deepEqual(ofType(v0, 'event'), [{ type: 'event', event: { type: 'piece:verified', index: 0 } }]);
    assert.deepEqual(sends(v0, 'b'), [{ type: 'have', index: 0 }]);
    assert.equal(ofType(v0, 'done').length, 0);
    const v1 = e.onPieceVerified(1, true, 5);
    assert.equal(ofType(v1, 'done').length, 1);
    // we are a seed now: the seed 'a' is redundant and closed
    assert.deepEqual(
      ofType(v1, 'close').map((c) => [c.peer, c.reason]),
      [['a', 'redundant']],
    );
    assert.equal(e.isComplete, true);
    const s = e.stats(5);
    assert.equal(s.downloadedBytes, 4 * BLOCK_BYTES);
    assert.equal(s.leftBytes, 0);
    assert.equal(e.onPieceVerified(1, true, 6).length, 0, 'a second verdict is ignored');
  });

  test('choke without BEP 6 drops requests, which go to another peer', () => {
    const e = engine(1, 2);
    for (const k of ['a', 'b']) {
      e.addPeer(k, SLOW, 0);
      e.onMessage(k, { type: 'bitfield', bitfield: bits('1') }, 0);
    }
    const ra = requests(e.onMessage('a', { type: 'unchoke' }, 0));
    assert.equal(ra.length, 2);
    // b idles: in endgame it duplicates one block
    assert.equal(requests(e.onMessage('b', { type: 'unchoke' }, 0)).length, 1);
    e.onMessage('a', { type: 'choke' }, 1);
    assert.equal(e.peerStats('a', 1)?.outstandingRequests, 0);
    assert.equal(e.peerStats('b', 1)?.outstandingRequests, 2, 'the dropped blocks are requested from b');
    assert.deepEqual(e.picker.requesters(0, 0), ['b']);
    assert.deepEqual(e.picker.requesters(0, BLOCK_BYTES), ['b']);
    // a late block from a (crossing the choke) is still accepted
    const late = e.onMessage('a', block(0, 0), 2);
    assert.equal(ofType(late, 'write-block').length, 1);
    assert.deepEqual(
      sends(late, 'b').filter((m) => m.type === 'cancel'),
      [{ type: 'cancel', index: 0, begin: 0, length: BLOCK_BYTES }],
    );
  });

  test('with BEP 6 a choke keeps requests; rejects return them; stray rejects close after a bound', () => {
    const e = engine(1, 2);
    for (const k of ['a', 'b']) {
      e.addPeer(k, FAST, 0);
      e.onMessage(k, { type: 'have-all' }, 0);
    }
    const ra = requests(e.onMessage('a', { type: 'unchoke' }, 0));
    assert.deepEqual(requests(e.onMessage('a', { type: 'choke' }, 1)), []);
    assert.equal(e.peerStats('a', 1)?.outstandingRequests, 2, 'BEP 6: a choke does not cancel');
    const r = ra[0]!;
    e.onMessage('a', { type: 'reject-request', index: r.index, begin: r.begin, length: r.length }, 2);
    assert.equal(e.picker.blockState(r.index, r.begin / BLOCK_BYTES), 0, 'the rejected block is Free again');
    const moved = requests(e.onMessage('b', { type: 'unchoke' }, 2));
    assert.deepEqual(
      [moved[0]!.index, moved[0]!.begin],
      [r.index, r.begin],
      'b gets the rejected block first',
    );
    let closed: EngineAction[] = [];
    for (let i = 0; i <= MAX_UNEXPECTED_REJECTS && closed.length === 0; i++) {
      closed = ofType(
        e.onMessage('a', { type: 'reject-request', index: 0, begin: 99, length: 1 }, 3),
        'close',
      );
    }
    assert.equal((closed[0] as { reason: string } | undefined)?.reason, 'unexpected-reject');
  });

  test('allowed-fast pieces are requested while choked', () => {
    const e = engine(4, 1);
    e.addPeer('a', FAST, 0);
    e.onMessage('a', { type: 'have-all' }, 0);
    assert.deepEqual(
      requests(e.onMessage('a', { type: 'allowed-fast', index: 2 }, 0)).map((r) => r.index),
      [2],
    );
    assert.deepEqual(
      requests(e.onMessage('a', { type: 'allowed-fast', index: 9 }, 0)),
      [],
      'out of range ignored',
    );
  });

  test('BEP 6: allowed-fast requests are served to starting peers only (≤ k pieces)', () => {
    const k = 3;
    const e = engine(40, 1, { allowedFastSetSize: k, slots: 0, optimisticSlots: 0 });
    e.setHave(
      Array.from({ length: 40 }, (_, i) => i),
      0,
    );
    const ip = { ...FAST, ip: new Uint8Array([10, 0, 0, 9]) };
    const offered = (acts: EngineAction[], key: string) =>
      sends(acts, key).flatMap((m) => (m.type === 'allowed-fast' ? [m.index] : []));
    const set = offered(e.addPeer('new', ip, 0), 'new');
    assert.equal(set.length, k);
    e.onMessage('new', { type: 'have-none' }, 0);
    const served = e.onMessage('new', { type: 'request', index: set[0]!, begin: 0, length: BLOCK_BYTES }, 1);
    assert.equal(ofType(served, 'read-block').length, 1, 'a starting peer is served while choked');

    offered(e.addPeer('old', ip, 0), 'old');
    const many = new Bitfield(40);
    for (let i = 0; i <= k; i++) if (!set.includes(i)) many.set(i);
    for (let i = 0; many.count() <= k; i++) if (!set.includes(i)) many.set(i);
    e.onMessage('old', { type: 'bitfield', bitfield: many.toWire() }, 0);
    const refused = e.onMessage('old', { type: 'request', index: set[0]!, begin: 0, length: BLOCK_BYTES }, 1);
    assert.equal(ofType(refused, 'read-block').length, 0);
    assert.deepEqual(sends(refused, 'old'), [
      { type: 'reject-request', index: set[0]!, begin: 0, length: BLOCK_BYTES },
    ]);
  });

  test('a rejected allowed-fast request while choked is not asked again from that peer', () => {
    const e = engine(4, 1);
    e.addPeer('a', FAST, 0);
    e.onMessage('a', { type: 'have-all' }, 0);
    const [r] = requests(e.onMessage('a', { type: 'allowed-fast', index: 2 }, 0));
    assert.equal(r?.index, 2);
    const after = e.onMessage('a', { type: 'reject-request', index: 2, begin: 0, length: r!.length }, 1);
    assert.deepEqual(requests(after, 'a'), [], 'no request loop on a peer that refuses its set');
  });

  test('at most MAX_PEER_ALLOWED_FAST allowed-fast pieces are remembered per peer', () => {
    const pieces = MAX_PEER_ALLOWED_FAST + 2;
    const run = (fill: number) => {
      const e = engine(pieces, 1);
      e.setHave(
        Array.from({ length: MAX_PEER_ALLOWED_FAST }, (_, i) => i),
        0,
      );
      e.addPeer('a', FAST, 0);
      e.onMessage('a', { type: 'have-all' }, 0);
      for (let i = 0; i < fill; i++) e.onMessage('a', { type: 'allowed-fast', index: i }, 0);
      return requests(e.onMessage('a', { type: 'allowed-fast', index: pieces - 1 }, 0));
    };
    assert.equal(run(MAX_PEER_ALLOWED_FAST - 1).length, 1, 'below the bound: requested while choked');
    assert.equal(run(MAX_PEER_ALLOWED_FAST).length, 0, 'at the bound: ignored');
  });

  test('not interested once the peer has nothing more we want', () => {
    const e = engine(2, 1);
    e.addPeer('a', FAST, 0);
    e.addPeer('b', FAST, 0);
    e.onMessage('a', { type: 'bitfield', bitfield: bits('10') }, 0);
    e.onMessage('b', { type: 'have-all' }, 0);
    const [r] = requests(e.onMessage('a', { type: 'unchoke' }, 0));
    assert.equal(r?.index, 0);
    e.onMessage('a', block(0, 0), 1);
    assert.deepEqual(sends(e.onPieceVerified(0, true, 2), 'a'), [
      { type: 'have', index: 0 },
      { type: 'not-interested' },
    ]);
    assert.equal(e.peerStats('b', 2)?.amInterested, true);
  });

  test('unrequested blocks: BEP 6 peers are closed at once, others after a bound', () => {
    const e = engine(4);
    e.addPeer('f', FAST, 0);
    e.onMessage('f', { type: 'have-all' }, 0);
    assert.equal(ofType(e.onMessage('f', block(0, 0), 0), 'close')[0]?.reason, 'unrequested-block');

    e.addPeer('s', SLOW, 0);
    e.onMessage('s', { type: 'bitfield', bitfield: bits('1111') }, 0);
    for (let i = 0; i < MAX_UNREQUESTED_BLOCKS; i++) {
      const acts = e.onMessage('s', block(3, 0), 0);
      assert.deepEqual(ofType(acts, 'close'), []);
      assert.deepEqual(ofType(acts, 'write-block'), [], 'unrequested data is never written');
    }
    assert.equal(ofType(e.onMessage('s', block(3, 0), 0), 'close')[0]?.reason, 'unrequested-block');
    assert.equal(e.stats(0).wastedBytes, (MAX_UNREQUESTED_BLOCKS + 2) * BLOCK_BYTES);
  });

  test('request timeouts cancel and re-request elsewhere; no block for 60 s snubs', () => {
    const e = engine(1, 2);
    for (const k of ['a', 'b']) {
      e.addPeer(k, FAST, 0);
      e.onMessage(k, { type: 'have-all' }, 0);
    }
    assert.equal(requests(e.onMessage('a', { type: 'unchoke' }, 0)).length, 2);
    assert.equal(e.nextDeadline(), Math.min(REQUEST_TIMEOUT_MS, RECHOKE_INTERVAL_MS));
    const t = e.tick(REQUEST_TIMEOUT_MS);
    assert.equal(sends(t, 'a').filter((m) => m.type === 'cancel').length, 2);
    assert.equal(
      e.peerStats('a', REQUEST_TIMEOUT_MS)?.outstandingRequests,
      1,
      'a timed-out peer gets depth 1',
    );
    requests(e.onMessage('b', { type: 'unchoke' }, REQUEST_TIMEOUT_MS));
    assert.deepEqual(
      e.picker.requesters(0, 0).includes('b') && e.picker.requesters(0, BLOCK_BYTES).includes('b'),
      true,
    );
    let snubbed = false;
    for (let now = REQUEST_TIMEOUT_MS; now <= SNUB_TIMEOUT_MS; now += 1000) {
      snubbed ||= ofType(e.tick(now), 'event').some(
        (a) => a.event.type === 'peer:snubbed' && a.event.peer === 'a',
      );
    }
    assert.ok(snubbed);
    assert.equal(e.peerStats('a', SNUB_TIMEOUT_MS)?.isSnubbed, true);
  });

  test('endgame: the last block is requested twice, and the loser is cancelled', () => {
    const e = engine(1, 1);
    for (const k of ['a', 'b']) {
      e.addPeer(k, FAST, 0);
      e.onMessage(k, { type: 'have-all' }, 0);
    }
    assert.equal(requests(e.onMessage('a', { type: 'unchoke' }, 0)).length, 1);
    assert.equal(requests(e.onMessage('b', { type: 'unchoke' }, 0)).length, 1, 'b idles: it duplicates');
    assert.equal(e.picker.isEndgame, true);
    const got = e.onMessage('b', block(0, 0), 1);
    assert.deepEqual(sends(got, 'a'), [{ type: 'cancel', index: 0, begin: 0, length: BLOCK_BYTES }]);
    assert.equal(ofType(got, 'piece-complete').length, 1);
    const dup = e.onMessage('a', block(0, 0), 2);
    assert.deepEqual(ofType(dup, 'write-block'), [], 'the late duplicate is not written');
    assert.deepEqual(ofType(dup, 'close'), [], 'nor treated as unrequested');
    assert.equal(e.stats(2).wastedBytes, BLOCK_BYTES);
  });

  test('the BEP 10 reqq bounds our pipeline', () => {
    const e = engine(8, 4);
    e.addPeer('a', FAST, 0);
    e.onExtendedHandshake('a', { reqq: 1 }, 0);
    e.onMessage('a', { type: 'have-all' }, 0);
    assert.equal(requests(e.onMessage('a', { type: 'unchoke' }, 0)).length, 1);
  });

  test('skipped files are never requested; finishing them all makes a partial seed', () => {
    const e = engine(4, 1);
    e.setFilePriorities([PiecePriority.Normal, PiecePriority.Skip], 0);
    e.addPeer('a', FAST, 0);
    e.onMessage('a', { type: 'have-all' }, 0);
    const reqs = requests(e.onMessage('a', { type: 'unchoke' }, 0));
    assert.deepEqual(reqs.map((r) => r.index).sort(), [0, 1]);
    for (const r of reqs) e.onMessage('a', block(r.index, r.begin), 1);
    e.onPieceVerified(0, true, 2);
    const fin = e.onPieceVerified(1, true, 2);
    assert.equal(ofType(fin, 'done').length, 1);
    assert.equal(e.isFinished, true);
    assert.equal(e.isComplete, false);
    assert.equal(e.stats(2).leftBytes, 0);
  });
});

describe('TorrentEngine: hash failures and smart ban', () => {
  const d = (n: number) => new Uint8Array(20).fill(n);

  test('a sole contributor is banned at once; the piece is re-downloaded', () => {
    const e = engine(1, 2);
    e.addPeer('bad', FAST, 0);
    e.onMessage('bad', { type: 'have-all' }, 0);
    e.addPeer('good', FAST, 0);
    e.onMessage('good', { type: 'have-all' }, 0);
    for (const r of requests(e.onMessage('bad', { type: 'unchoke' }, 0)))
      e.onMessage('bad', block(r.index, r.begin), 1);
    e.onMessage('good', { type: 'unchoke' }, 1);
    const v = e.onPieceVerified(0, false, 2, { blockDigests: [d(1), d(2)] });
    assert.deepEqual(
      ofType(v, 'ban').map((b) => [b.address, b.reason]),
      [['bad', 'sole-sender']],
    );
    assert.equal(ofType(v, 'event')[0]?.event.type, 'piece:failed');
    assert.equal(requests(v, 'good').length, 2, 'the piece is fetched again from the honest peer');
    assert.equal(e.stats(2).hashFailures, 1);
    assert.equal(e.stats(2).wastedBytes, 2 * BLOCK_BYTES);
    assert.equal(e.peerKeys().includes('bad'), false, 'the engine forgot the banned peer');
  });

  test('a shared failure bans nobody; the copy that passes convicts exactly the sender of the differing block', () => {
    const e = engine(1, 2);
    for (const k of ['x', 'y']) {
      e.addPeer(k, FAST, 0);
      e.onMessage(k, { type: 'have-all' }, 0);
    }
    const rx = requests(e.onMessage('x', { type: 'unchoke' }, 0));
    const [dup] = requests(e.onMessage('y', { type: 'unchoke' }, 0)); // endgame duplicate
    e.onMessage('y', block(dup!.index, dup!.begin), 1);
    for (const r of rx) e.onMessage('x', block(r.index, r.begin), 1);
    const senders = e.blockSenders(0);
    assert.deepEqual(new Set(senders), new Set(['x', 'y']), 'both contributed');
    const bad = senders.indexOf('y');
    const digests = [d(10), d(11)];
    digests[bad] = d(99); // y's block was wrong
    const v1 = e.onPieceVerified(0, false, 2, { blockDigests: digests });
    assert.deepEqual(ofType(v1, 'ban'), [], 'shared failures alone ban nobody');
    assert.deepEqual(e.wantsBlockDigests(0), true);
    assert.deepEqual(e.smartBanStats(), { pieces: 1, blocks: 2 });
    // exclusive re-download: one peer gets the whole piece, nobody duplicates it
    const again = ofType(v1, 'send').filter((a) => a.msg.type === 'request');
    assert.equal(again.length, 2);
    assert.equal(new Set(again.map((a) => a.peer)).size, 1);
    const from = again[0]!.peer;
    for (const a of again) {
      const m = a.msg as { index: number; begin: number };
      e.onMessage(from, block(m.index, m.begin), 3);
    }
    const v2 = e.onPieceVerified(0, true, 4, { blockDigests: [d(10), d(11)] });
    assert.deepEqual(
      ofType(v2, 'ban').map((b) => [b.address, b.reason]),
      [['y', 'smart-ban']],
    );
    assert.equal(e.wantsBlockDigests(0), false, 'the record is gone');
  });

  test('the failed piece goes to a peer that did not contribute, when one unchokes us', () => {
    const e = engine(1, 2);
    for (const k of ['x', 'y', 'z']) {
      e.addPeer(k, FAST, 0);
      e.onMessage(k, { type: 'have-all' }, 0);
    }
    const rx = requests(e.onMessage('x', { type: 'unchoke' }, 0));
    const [dup] = requests(e.onMessage('y', { type: 'unchoke' }, 0));
    e.onMessage('z', { type: 'unchoke' }, 0);
    e.onMessage('y', block(dup!.index, dup!.begin), 1);
    for (const r of rx) e.onMessage('x', block(r.index, r.begin), 1);
    const v = e.onPieceVerified(0, false, 2, { blockDigests: [d(1), d(2)] });
    assert.equal(requests(v, 'z').length, 2, 'z, which sent nothing of the failed copy, fetches it');
    assert.equal(requests(v, 'x').length + requests(v, 'y').length, 0, 'the contributors are not asked');
  });

  /** x and y shared a failed copy of piece 0; z (which sent none of it) is asked for it again. */
  function failedWithBystander() {
    const e = engine(1, 2);
    for (const k of ['x', 'y', 'z']) {
      e.addPeer(k, FAST, 0);
      e.onMessage(k, { type: 'have-all' }, 0);
    }
    const rx = requests(e.onMessage('x', { type: 'unchoke' }, 0));
    const [dup] = requests(e.onMessage('y', { type: 'unchoke' }, 0));
    const zEndgame = requests(e.onMessage('z', { type: 'unchoke' }, 0)); // cancelled when x delivers
    e.onMessage('y', block(dup!.index, dup!.begin), 1);
    for (const r of rx) e.onMessage('x', block(r.index, r.begin), 1);
    const v = e.onPieceVerified(0, false, 2, { blockDigests: [d(1), d(2)] });
    const toZ = requests(v, 'z');
    assert.equal(toZ.length, 2, 'z is asked for the failed piece');
    return { e, toZ, zEndgame };
  }

  test('a bystander that refuses the failed piece does not hold it back from the contributors', () => {
    const { e, toZ, zEndgame } = failedWithBystander();
    const out: EngineAction[] = [];
    // BEP 6: z answers every request once, so first the endgame request we cancelled, then the new ones.
    for (const r of [...zEndgame, ...toZ])
      out.push(
        ...e.onMessage('z', { type: 'reject-request', index: r.index, begin: r.begin, length: r.length }, 3),
      );
    assert.equal(
      requests(out, 'x').length + requests(out, 'y').length,
      2,
      'once z refused it, a contributor fetches the piece (alone, it settles the blame either way)',
    );
  });

  test('a bystander whose requests time out does not hold the failed piece back from the contributors', () => {
    const { e } = failedWithBystander();
    const out = e.tick(2 + REQUEST_TIMEOUT_MS + 1);
    assert.equal(
      requests(out, 'x').length + requests(out, 'y').length,
      2,
      'after z timed out, a contributor fetches the piece',
    );
  });

  /**
   * h had both blocks of piece 0 on the wire; x won the endgame race for one, so h's request for
   * it was cancelled. The piece fails, x leaves, and h is asked for the whole piece again.
   */
  function cancelledThenAskedAgain() {
    const e = engine(1, 2);
    for (const k of ['h', 'x']) {
      e.addPeer(k, FAST, 0);
      e.onMessage(k, { type: 'have-all' }, 0);
    }
    const rh = requests(e.onMessage('h', { type: 'unchoke' }, 0));
    const [dup] = requests(e.onMessage('x', { type: 'unchoke' }, 0));
    const cancel = e.onMessage('x', block(dup!.index, dup!.begin), 1);
    assert.deepEqual(sends(cancel, 'h'), [
      { type: 'cancel', index: 0, begin: dup!.begin, length: BLOCK_BYTES },
    ]);
    const other = rh.find((r) => r.begin !== dup!.begin)!;
    e.onMessage('h', block(other.index, other.begin), 1);
    e.removePeer('x', 2);
    const again = requests(e.onPieceVerified(0, false, 2, { blockDigests: [d(1), d(2)] }), 'h');
    assert.equal(again.length, 2, 'h, the peer left, fetches the piece again');
    return { e, dup: dup!, again };
  }

  test('a block cancelled and asked again of the same peer: the copy sent before the cancel and the new one are both taken', () => {
    const { e, dup, again } = cancelledThenAskedAgain();
    const out = e.onMessage('h', block(dup.index, dup.begin), 3); // sent before our cancel reached h
    for (const r of again) out.push(...e.onMessage('h', block(r.index, r.begin), 3));
    assert.deepEqual(ofType(out, 'close'), [], 'no copy is unrequested');
    assert.equal(ofType(out, 'piece-complete').length, 1);
    assert.equal(e.peerKeys().includes('h'), true);
  });

  test('a block cancelled and asked again: the BEP 6 reject answers the cancel, the new request stays open', () => {
    const { e, dup, again } = cancelledThenAskedAgain();
    const out = e.onMessage(
      'h',
      { type: 'reject-request', index: dup.index, begin: dup.begin, length: BLOCK_BYTES },
      3,
    );
    assert.equal(e.peerStats('h', 3)?.outstandingRequests, 2, 'both new requests are still on the wire');
    for (const r of again) out.push(...e.onMessage('h', block(r.index, r.begin), 3));
    assert.deepEqual(ofType(out, 'close'), []);
    assert.equal(ofType(out, 'piece-complete').length, 1);
  });

  test('blame follows the address: a peer that reconnects under a new key is still convicted', () => {
    const e = engine(1, 2);
    e.addPeer('h1', { ...FAST, blameId: '192.0.2.9' }, 0);
    e.onMessage('h1', { type: 'have-all' }, 0);
    e.addPeer('g', { ...FAST, blameId: '198.51.100.1' }, 0);
    e.onMessage('g', { type: 'have-all' }, 0);
    const rh = requests(e.onMessage('h1', { type: 'unchoke' }, 0));
    const [dup] = requests(e.onMessage('g', { type: 'unchoke' }, 0));
    e.onMessage('g', block(dup!.index, dup!.begin), 1);
    for (const r of rh) e.onMessage('h1', block(r.index, r.begin), 1);
    const senders = e.blockSenders(0);
    const digests = senders.map((s) => (s === '192.0.2.9' ? d(66) : d(5)));
    const failed = e.onPieceVerified(0, false, 2, { blockDigests: digests });
    const gone = e.removePeer('h1', 3);
    e.addPeer('h2', { ...FAST, blameId: '192.0.2.9' }, 4); // same address, new connection
    e.onMessage('h2', { type: 'have-none' }, 4);
    const again = [...requests(failed, 'g'), ...requests(gone, 'g')];
    assert.equal(again.length, 2, 'g fetches the piece again');
    for (const r of again) e.onMessage('g', block(r.index, r.begin), 6);
    const v = e.onPieceVerified(0, true, 7, { blockDigests: [d(5), d(5)] });
    assert.deepEqual(
      ofType(v, 'ban').map((b) => b.address),
      ['192.0.2.9'],
    );
    assert.equal(
      e.peerKeys().includes('h2'),
      false,
      'the new connection from the banned address is dropped too',
    );
  });
});

describe('TorrentEngine: uploading', () => {
  function seeding(pieces = 4, options: TorrentEngineOptions = {}) {
    const e = engine(pieces, 2, options);
    e.setHave(
      Array.from({ length: pieces }, (_, i) => i),
      0,
    );
    return e;
  }
  const req = (index: number, begin = 0, length = BLOCK_BYTES): WireMessage => ({
    type: 'request',
    index,
    begin,
    length,
  });

  test('an interested peer is unchoked into a free slot and served, reads bounded in flight', () => {
    const e = seeding(8);
    e.addPeer('a', FAST, 0);
    e.onMessage('a', { type: 'have-none' }, 0);
    assert.deepEqual(sends(e.onMessage('a', { type: 'interested' }, 0)), [{ type: 'unchoke' }]);
    const reads: EngineAction[] = [];
    for (let i = 0; i < 8; i++) reads.push(...e.onMessage('a', req(i), 1));
    const rb = ofType(reads, 'read-block');
    assert.equal(rb.length, UPLOAD_READS_IN_FLIGHT);
    assert.deepEqual(e.onMessage('a', req(0), 1), [], 'a duplicate request is ignored');
    const next = ofType(e.onBlockSent('a', rb[0]!, 2), 'read-block');
    assert.equal(next.length, 1);
    assert.equal(e.peerStats('a', 2)?.uploadedBytes, BLOCK_BYTES);
    assert.equal(e.stats(2).uploadedBytes, BLOCK_BYTES);
    // a cancelled queued request is answered by a reject (BEP 6)
    assert.deepEqual(
      sends(e.onMessage('a', { type: 'cancel', index: 7, begin: 0, length: BLOCK_BYTES }, 3)),
      [{ type: 'reject-request', index: 7, begin: 0, length: BLOCK_BYTES }],
    );
    // a failed read is rejected too
    assert.equal(sends(e.onReadFailed('a', rb[1]!, 3))[0]?.type, 'reject-request');
  });

  test('requests while choked: BEP 6 rejects, others are dropped; a flood is closed', () => {
    const e = seeding(4, { slots: 0, optimisticSlots: 0 });
    e.addPeer('f', FAST, 0);
    e.addPeer('s', SLOW, 0);
    assert.deepEqual(sends(e.onMessage('f', req(1), 0)), [
      { type: 'reject-request', index: 1, begin: 0, length: BLOCK_BYTES },
    ]);
    assert.deepEqual(e.onMessage('s', req(1), 0), []);
    let closed: EngineAction[] = [];
    for (let i = 1; i <= MAX_REQUESTS_WHILE_CHOKED && closed.length === 0; i++) {
      closed = ofType(e.onMessage('s', req(1), 0), 'close');
      assert.equal(closed.length === 0, i < MAX_REQUESTS_WHILE_CHOKED, `request ${i + 1}`);
    }
    assert.equal((closed[0] as { reason: string }).reason, 'requests-while-choked');
  });

  test('a choked peer is served its allowed-fast pieces', () => {
    const e = seeding(40, { slots: 0, optimisticSlots: 0 });
    const msgs = sends(e.addPeer('a', { ...FAST, ip: new Uint8Array([1, 2, 3, 4]) }, 0));
    const allowed = msgs.flatMap((m) => (m.type === 'allowed-fast' ? [m.index] : []));
    assert.equal(allowed.length, 10);
    assert.equal(ofType(e.onMessage('a', req(allowed[0]!), 0), 'read-block').length, 1);
    const notAllowed = [...Array(40).keys()].find((i) => !allowed.includes(i))!;
    assert.equal(sends(e.onMessage('a', req(notAllowed), 0))[0]?.type, 'reject-request');
  });

  test('invalid requests are rejected, then closed past the bound', () => {
    const e = seeding(2);
    e.addPeer('a', FAST, 0);
    e.onMessage('a', { type: 'interested' }, 0);
    const bad = [req(2), req(0, BLOCK_BYTES + 1), req(0, 0, BLOCK_BYTES + 1), req(0, 0, 0)];
    for (const m of bad) assert.equal(sends(e.onMessage('a', m, 0))[0]?.type, 'reject-request');
    let closed: EngineAction[] = [];
    for (let i = bad.length; i <= MAX_INVALID_REQUESTS; i++)
      closed = ofType(e.onMessage('a', req(5), 0), 'close');
    assert.equal((closed[0] as { reason: string }).reason, 'invalid-request');
  });

  test('the queue of a peer is bounded: BEP 6 rejects beyond it, others are dropped', () => {
    const pieces = Math.ceil((MAX_QUEUED_PEER_REQUESTS + UPLOAD_READS_IN_FLIGHT) / 2) + 1;
    for (const init of [FAST, SLOW]) {
      const e = seeding(pieces);
      e.addPeer('a', init, 0);
      e.onMessage('a', { type: 'interested' }, 0);
      let last: EngineAction[] = [];
      let n = 0;
      for (let i = 0; i < pieces && n <= MAX_QUEUED_PEER_REQUESTS + UPLOAD_READS_IN_FLIGHT; i++) {
        for (const begin of [0, BLOCK_BYTES]) {
          last = e.onMessage('a', req(i, begin), 0);
          n++;
          if (n > MAX_QUEUED_PEER_REQUESTS + UPLOAD_READS_IN_FLIGHT) break;
        }
      }
      if (init.supportsFast) assert.equal(sends(last)[0]?.type, 'reject-request');
      else assert.equal(ofType(last, 'close')[0]?.reason, 'request-flood');
    }
  });

  test('choking a peer rejects its queued requests (BEP 6), and the slot goes to another', () => {
    const e = seeding(8, { slots: 1, optimisticSlots: 0 });
    e.addPeer('a', FAST, 0);
    e.addPeer('b', FAST, 0);
    assert.deepEqual(sends(e.onMessage('a', { type: 'interested' }, 0)), [{ type: 'unchoke' }]);
    for (let i = 0; i < 8; i++) e.onMessage('a', req(i), 1);
    assert.deepEqual(sends(e.onMessage('b', { type: 'interested' }, 1)), [], 'no free slot for b');
    const acts = e.onMessage('a', { type: 'not-interested' }, 2);
    const toA = sends(acts, 'a');
    assert.equal(toA[0]?.type, 'choke', 'choke first, then reject (BEP 6)');
    assert.equal(toA.filter((m) => m.type === 'reject-request').length, 8 - UPLOAD_READS_IN_FLIGHT);
    assert.deepEqual(sends(acts, 'b'), [{ type: 'unchoke' }]);
  });
});
