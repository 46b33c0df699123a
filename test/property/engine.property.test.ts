/**
 * Invariants of the piece picker and the torrent engine under random operation sequences.
 * fast-check prints the seed and path of every failure (re-run with `{ seed, path }`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type EngineAction,
  type PickerPeerView,
  PiecePicker,
  type PiecePriority,
  SeededRandom,
  TorrentEngine,
  uniformLayout,
} from '../../src/engine/index.js';
import { BLOCK_BYTES } from '../../src/shared/limits.js';
import type { WireMessage } from '../../src/wire/index.js';

const RUNS = 300;

// ------------------------------------------------------------------ picker

type PickerOp =
  | { kind: 'pick'; peer: number; max: number }
  | { kind: 'receive'; which: number }
  | { kind: 'release'; which: number }
  | { kind: 'verify'; which: number; ok: boolean }
  | { kind: 'have'; peer: number; piece: number }
  | { kind: 'leave'; peer: number }
  | { kind: 'prio'; piece: number; prio: PiecePriority };

const pickerCase = fc
  .record({
    pieces: fc.integer({ min: 1, max: 10 }),
    blocks: fc.integer({ min: 1, max: 4 }),
    lastBytes: fc.integer({ min: 1, max: 4 * BLOCK_BYTES }),
    peers: fc.array(
      fc.oneof(fc.constant('seed' as const), fc.array(fc.boolean(), { minLength: 10, maxLength: 10 })),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
    seed: fc.integer(),
    randomFirst: fc.integer({ min: 0, max: 3 }),
  })
  .chain((setup) =>
    fc.record({
      setup: fc.constant(setup),
      ops: fc.array(
        fc.oneof(
          {
            weight: 5,
            arbitrary: fc.record({
              kind: fc.constant('pick' as const),
              peer: fc.nat(3),
              max: fc.integer({ min: 1, max: 6 }),
            }),
          },
          { weight: 5, arbitrary: fc.record({ kind: fc.constant('receive' as const), which: fc.nat() }) },
          { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), which: fc.nat() }) },
          {
            weight: 2,
            arbitrary: fc.record({ kind: fc.constant('verify' as const), which: fc.nat(), ok: fc.boolean() }),
          },
          {
            weight: 1,
            arbitrary: fc.record({ kind: fc.constant('have' as const), peer: fc.nat(3), piece: fc.nat(9) }),
          },
          { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), peer: fc.nat(3) }) },
          {
            weight: 1,
            arbitrary: fc.record({
              kind: fc.constant('prio' as const),
              piece: fc.nat(9),
              prio: fc.constantFrom<PiecePriority>(0, 1, 2),
            }),
          },
        ) as fc.Arbitrary<PickerOp>,
        { maxLength: 120 },
      ),
    }),
  );

describe('piece picker invariants', () => {
  test('never a block we have, of a skipped piece, from a peer lacking it, or twice outside endgame', () => {
    fc.assert(
      fc.property(pickerCase, ({ setup, ops }) => {
        const pieceLength = setup.blocks * BLOCK_BYTES;
        const lastBytes = Math.min(setup.lastBytes, pieceLength);
        const total = (setup.pieces - 1) * pieceLength + lastBytes;
        const layout = uniformLayout(total, pieceLength);
        const picker = new PiecePicker(layout, new SeededRandom(setup.seed), {
          randomFirstPieces: setup.randomFirst,
        });
        const N = setup.pieces;
        const blocksOf = (i: number) => Math.ceil(layout.pieceSize(i) / BLOCK_BYTES);

        // the model
        const peerHas: (boolean[] | undefined)[] = setup.peers.map((p) =>
          p === 'seed' ? Array<boolean>(N).fill(true) : p.slice(0, N),
        );
        const isSeed = setup.peers.map((p) => p === 'seed');
        const requesters = new Map<string, Set<string>>(); // "piece:block" -> peers
        const from = new Map<string, string>(); // received block -> peer
        const prio = Array<number>(N).fill(1);
        const have = Array<boolean>(N).fill(false);
        const key = (p: number, b: number) => `${p}:${b}`;
        for (const [k, h] of peerHas.entries()) {
          if (isSeed[k]) picker.addSeed();
          else picker.addPeerPieces(h!.flatMap((x, i) => (x ? [i] : [])));
        }
        const view = (k: number): PickerPeerView => ({ key: `p${k}`, has: (i) => peerHas[k]?.[i] === true });
        const outstanding = () =>
          [...requesters].flatMap(([bk, set]) => [...set].map((peer) => ({ bk, peer })));
        const complete = () =>
          [...Array(N).keys()].filter(
            (i) => !have[i] && [...Array(blocksOf(i)).keys()].every((b) => from.has(key(i, b))),
          );
        const expectedFree = () => {
          let n = 0;
          for (let i = 0; i < N; i++) {
            const avail = peerHas.some((h) => h?.[i] === true);
            if (have[i] || prio[i] === 0 || !avail) continue;
            for (let b = 0; b < blocksOf(i); b++) {
              if (!from.has(key(i, b)) && (requesters.get(key(i, b))?.size ?? 0) === 0) n++;
            }
          }
          return n;
        };

        for (const op of ops) {
          switch (op.kind) {
            case 'pick': {
              if (peerHas[op.peer] === undefined) break;
              const picked = picker.pick(view(op.peer), op.max);
              assert.ok(picked.length <= op.max);
              const seen = new Set<string>();
              for (const b of picked) {
                const bi = b.offset / BLOCK_BYTES;
                const bk = key(b.piece, bi);
                assert.ok(!seen.has(bk), 'a block twice in one pick');
                seen.add(bk);
                assert.ok(!have[b.piece], 'picked a piece we have');
                assert.ok(prio[b.piece]! > 0, 'picked a skipped piece');
                assert.ok(peerHas[op.peer]![b.piece], 'picked a piece the peer lacks');
                assert.ok(!from.has(bk), 'picked a received block');
                assert.equal(b.length, Math.min(BLOCK_BYTES, layout.pieceSize(b.piece) - b.offset));
                const reqs = requesters.get(bk) ?? new Set<string>();
                assert.ok(!reqs.has(`p${op.peer}`), 'picked a block this peer already has requested');
                if (reqs.size > 0)
                  assert.equal(picker.freeAvailableBlocks, 0, 'duplicate request outside endgame');
                reqs.add(`p${op.peer}`);
                requesters.set(bk, reqs);
              }
              break;
            }
            case 'receive': {
              const all = outstanding();
              if (all.length === 0) break;
              const { bk, peer } = all[op.which % all.length]!;
              const [p, b] = bk.split(':').map(Number) as [number, number];
              const r = picker.onBlockReceived(peer, picker.blockRef(p, b));
              if (from.has(bk) || have[p]) assert.equal(r.kind, 'duplicate');
              else {
                assert.equal(r.kind, 'new');
                const others = [...(requesters.get(bk) ?? [])].filter((k) => k !== peer).sort();
                assert.deepEqual(r.kind === 'new' ? [...r.cancel].sort() : [], others);
                from.set(bk, peer);
              }
              requesters.delete(bk);
              break;
            }
            case 'release': {
              const all = outstanding();
              if (all.length === 0) break;
              const { bk, peer } = all[op.which % all.length]!;
              const [p, b] = bk.split(':').map(Number) as [number, number];
              assert.equal(picker.release(peer, picker.blockRef(p, b)), true);
              requesters.get(bk)!.delete(peer);
              break;
            }
            case 'verify': {
              const done = complete();
              if (done.length === 0) break;
              const i = done[op.which % done.length]!;
              if (op.ok) {
                picker.onPieceVerified(i);
                have[i] = true;
              } else {
                const blamed = picker.onPieceFailed(i).sort();
                const expected = [
                  ...new Set([...Array(blocksOf(i)).keys()].map((b) => from.get(key(i, b))!)),
                ].sort();
                assert.deepEqual(blamed, expected);
              }
              for (let b = 0; b < blocksOf(i); b++) from.delete(key(i, b));
              break;
            }
            case 'have': {
              const h = peerHas[op.peer];
              if (h === undefined || op.piece >= N || h[op.piece]) break;
              h[op.piece] = true;
              picker.addPeerHave(op.piece);
              break;
            }
            case 'leave': {
              const h = peerHas[op.peer];
              if (h === undefined) break;
              for (const { bk, peer } of outstanding()) {
                if (peer !== `p${op.peer}`) continue;
                const [p, b] = bk.split(':').map(Number) as [number, number];
                picker.release(peer, picker.blockRef(p, b));
                requesters.get(bk)!.delete(peer);
              }
              if (isSeed[op.peer]) picker.removeSeed();
              else picker.removePeerPieces(h.flatMap((x, i) => (x ? [i] : [])));
              peerHas[op.peer] = undefined;
              break;
            }
            case 'prio':
              if (op.piece >= N) break;
              picker.setPiecePriority(op.piece, op.prio);
              prio[op.piece] = op.prio;
              break;
          }
          for (const [bk, set] of requesters) if (set.size === 0) requesters.delete(bk);
          assert.equal(picker.freeAvailableBlocks, expectedFree(), `free-block count after ${op.kind}`);
          assert.equal(picker.haveCount, have.filter(Boolean).length);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// ------------------------------------------------------------------ engine

const hostileMessage = (pieces: number): fc.Arbitrary<WireMessage> => {
  const index = fc.oneof(fc.nat(pieces - 1), fc.integer({ min: 0, max: pieces + 2 }));
  const begin = fc.oneof(fc.constantFrom(0, BLOCK_BYTES), fc.nat(3 * BLOCK_BYTES));
  const length = fc.oneof(fc.constant(BLOCK_BYTES), fc.integer({ min: 0, max: BLOCK_BYTES + 1 }));
  const state = (type: 'choke' | 'unchoke' | 'interested' | 'not-interested' | 'have-all' | 'have-none') =>
    fc.constant({ type } as WireMessage);
  return fc.oneof(
    state('choke'),
    state('unchoke'),
    state('interested'),
    state('not-interested'),
    state('have-all'),
    state('have-none'),
    fc.constant({ type: 'keep-alive' } as WireMessage),
    index.map((i) => ({ type: 'have', index: i }) as WireMessage),
    index.map((i) => ({ type: 'allowed-fast', index: i }) as WireMessage),
    index.map((i) => ({ type: 'suggest-piece', index: i }) as WireMessage),
    fc.uint8Array({ maxLength: 3 }).map((b) => ({ type: 'bitfield', bitfield: b }) as WireMessage),
    fc
      .tuple(fc.constantFrom('request', 'cancel', 'reject-request'), index, begin, length)
      .map(([type, i, b, l]) => ({ type, index: i, begin: b, length: l }) as WireMessage),
    fc
      .tuple(index, begin, length)
      .map(([i, b, l]) => ({ type: 'piece', index: i, begin: b, block: new Uint8Array(l) }) as WireMessage),
  );
};

type EngineStep =
  | { kind: 'msg'; msg: WireMessage }
  | { kind: 'tick'; dt: number }
  | { kind: 'verify'; ok: boolean };

describe('torrent engine invariants against a hostile peer', () => {
  test('never throws; requests only what the peer claims; serves only unchoked or allowed-fast; writes only requested data', () => {
    const PIECES = 12;
    fc.assert(
      fc.property(
        fc.record({
          fast: fc.boolean(),
          ours: fc.array(fc.boolean(), { minLength: PIECES, maxLength: PIECES }),
          seed: fc.integer(),
          steps: fc.array(
            fc.oneof(
              {
                weight: 8,
                arbitrary: hostileMessage(PIECES).map((msg) => ({ kind: 'msg', msg }) as EngineStep),
              },
              {
                weight: 1,
                arbitrary: fc
                  .integer({ min: 0, max: 30_000 })
                  .map((dt) => ({ kind: 'tick', dt }) as EngineStep),
              },
              { weight: 1, arbitrary: fc.boolean().map((ok) => ({ kind: 'verify', ok }) as EngineStep) },
            ),
            { maxLength: 80 },
          ),
        }),
        ({ fast, ours, seed, steps }) => {
          const pieceLength = 2 * BLOCK_BYTES;
          const e = new TorrentEngine({
            infoHash: new Uint8Array(20),
            layout: { ...uniformLayout(PIECES * pieceLength - 100, pieceLength), pieceLength },
            random: new SeededRandom(seed),
            now: 0,
          });
          e.setHave(
            ours.flatMap((x, i) => (x ? [i] : [])),
            0,
          );
          let now = 0;
          let open = true;
          let choking = true;
          const allowed = new Set<number>();
          const claims = new Set<number>();
          const requested = new Set<string>();
          const complete: number[] = [];
          const check = (actions: EngineAction[]) => {
            for (const a of actions) {
              if (a.type === 'close' || a.type === 'ban') {
                assert.equal(a.type === 'ban' ? a.address : a.peer, 'h');
                open = false;
              } else if (a.type === 'send') {
                assert.ok(open, 'no message after close');
                const m = a.msg;
                if (m.type === 'choke') choking = true;
                if (m.type === 'unchoke') choking = false;
                if (m.type === 'allowed-fast') allowed.add(m.index);
                if (m.type === 'request') {
                  assert.ok(claims.has(m.index), `requested piece ${m.index} the peer never claimed`);
                  assert.ok(!e.have(m.index), 'requested a piece we have');
                  requested.add(`${m.index}:${m.begin}`);
                }
              } else if (a.type === 'read-block') {
                assert.ok(
                  !choking || allowed.has(a.piece),
                  'served a choked peer outside its allowed-fast set',
                );
                assert.ok(e.have(a.piece), 'served a piece we lack');
                check(e.onBlockSent(a.peer, a, now));
              } else if (a.type === 'write-block') {
                assert.ok(requested.has(`${a.piece}:${a.offset}`), 'wrote a block we never requested');
              } else if (a.type === 'piece-complete') complete.push(a.index);
            }
          };
          check(
            e.addPeer(
              'h',
              { supportsFast: fast, supportsExtensions: true, ip: new Uint8Array([9, 9, 9, 9]) },
              now,
            ),
          );
          for (const step of steps) {
            if (step.kind === 'tick') {
              now += step.dt;
              check(e.tick(now));
            } else if (step.kind === 'verify') {
              const i = complete.shift();
              if (i !== undefined) check(e.onPieceVerified(i, step.ok, now));
            } else {
              const m = step.msg;
              if (open) {
                if (m.type === 'have' && m.index < PIECES) claims.add(m.index);
                if (m.type === 'have-all') for (let i = 0; i < PIECES; i++) claims.add(i);
                if (m.type === 'bitfield' && m.bitfield.length === 2) {
                  for (let i = 0; i < PIECES; i++)
                    if ((m.bitfield[i >> 3]! >> (7 - (i & 7))) & 1) claims.add(i);
                }
              }
              const out = e.onMessage('h', m, now);
              if (!open) assert.deepEqual(out, [], 'a closed peer is ignored');
              check(out);
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
