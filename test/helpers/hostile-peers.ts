/**
 * Hostile peer behaviours for the attack lab (issue 17, test/helpers/attack-lab.ts): each one a
 * scripted BitTorrent endpoint (test/helpers/scripted-peer.ts, Shoal's own wire encoders) that
 * lives on its own loopback addresses (127.0.0.2, 127.0.0.3, …), because the victim blames by IP
 * address and the honest peers are on 127.0.0.1.
 *
 * A behaviour is a factory `(ctx) => Promise<Attack>`: it listens (the victim dials the
 * `endpoints` it is told about, attacker first) and/or dials the victim once `start` is called.
 * Every socket, server and timer it makes is released by `close()`.
 *
 * The behaviours (see {@link ATTACKS}):
 * - `garbage`: claims every piece, unchokes at once, answers every request at full speed with
 *   random bytes (the case);
 * - `poison`: the right data except one flipped byte in one block of each piece;
 * - `colluders`: garbage from three addresses that each answer a share of every piece, so no
 *   address is ever a sole sender;
 * - `snub`: claims every piece, unchokes, never answers;
 * - `sloth`: claims every piece, unchokes, answers each request only after minutes (never within
 *   a test), keeping the connection alive meanwhile;
 * - `unrequested`: blocks nobody asked for, and blocks of pieces it never had;
 * - `malformed`: one protocol violation per connection (oversized frames, bad bitfields, bad
 *   extension payloads, …), both on connections the victim dials and on ones it accepts;
 * - `slow-handshake`: handshakes sent one byte per second, dialled and answered;
 * - `pex-flood`: connections that each send a full `ut_pex` message of made-up 127/8 addresses,
 *   reconnecting to send more;
 * - `tracker-flood`: a tracker whose reply lists thousands of made-up 127/8 addresses (the
 *   honest seeder last);
 * - `metadata-size`, `metadata-pieces`: BEP 9 peers that lie about `metadata_size`, or announce
 *   the right size and send wrong metadata pieces (magnet downloads);
 * - `sybil`: one address opening many connections with different peer ids, each serving garbage.
 */
import { randomBytes } from 'node:crypto';
import { encode } from '../../src/codec/index.js';
import {
  EXTENDED_HANDSHAKE_ID,
  encodeHandshake,
  encodeMessage,
  MessageId,
  makeReserved,
  type WireMessage,
} from '../../src/wire/index.js';
import { metadataLiar, pexFlood, trackerFlood } from './hostile-floods.js';
import {
  type AttackContext,
  type AttackFactory,
  attack,
  claimAll,
  dialAs,
  garbageScript,
  hostileAddress,
  listenAs,
  newStats,
  Resources,
  track,
} from './hostile-kit.js';
import { type ScriptedPeer, ScriptedServer, scriptedPeerId } from './scripted-peer.js';

export { TRACKER_FLOOD_ADDRESSES } from './hostile-floods.js';
export type { Attack, AttackContext, AttackFactory, AttackStats } from './hostile-kit.js';
export { hostileAddress, madeUpAddress } from './hostile-kit.js';

// ---------------------------------------------------------------------------- data attacks

const garbage: AttackFactory = async (ctx) => {
  const res = new Resources();
  const stats = newStats();
  const host = hostileAddress(0);
  const s = await listenAs(res, stats, ctx, host, garbageScript(stats), claimAll);
  return attack('garbage', res, stats, { endpoints: [{ host, port: s.port }], addresses: [host] });
};

const poison: AttackFactory = async (ctx) => {
  const res = new Resources();
  const stats = newStats();
  const host = hostileAddress(0);
  const blocksPerPiece = Math.ceil(ctx.pieceLength / (16 * 1024));
  const s = await listenAs(
    res,
    stats,
    ctx,
    host,
    (p, m) => {
      if (m.type !== 'request') return;
      const at = m.index * ctx.pieceLength + m.begin;
      const block = Buffer.from(ctx.payload.subarray(at, at + m.length));
      // One block of each piece (chosen per piece, deterministically) has one byte flipped.
      const pieceBlocks = Math.min(
        blocksPerPiece,
        Math.ceil((ctx.totalBytes - m.index * ctx.pieceLength) / 16384),
      );
      const bad = (m.index * 7 + ctx.seed) % pieceBlocks;
      if (m.begin / 16384 === bad) {
        const i = (m.index * 131 + ctx.seed) % block.length;
        block[i] = block[i]! ^ 0x01;
      }
      stats.blocksSent++;
      p.send({ type: 'piece', index: m.index, begin: m.begin, block });
    },
    claimAll,
  );
  return attack('poison', res, stats, { endpoints: [{ host, port: s.port }], addresses: [host] });
};

/**
 * Three addresses serving garbage, each refusing (BEP 6 reject) the blocks of a piece that are
 * not "its" share, so that every bad piece has several senders and none is a sole sender.
 */
const colluders: AttackFactory = async (ctx) => {
  const res = new Resources();
  const stats = newStats();
  const n = 3;
  const hosts = Array.from({ length: n }, (_, i) => hostileAddress(i));
  const endpoints: { host: string; port: number }[] = [];
  for (const [k, host] of hosts.entries()) {
    const s = await listenAs(
      res,
      stats,
      ctx,
      host,
      (p, m) => {
        if (m.type !== 'request') return;
        if ((m.begin / 16384) % n !== k) {
          p.send({ type: 'reject-request', index: m.index, begin: m.begin, length: m.length });
          return;
        }
        stats.blocksSent++;
        p.send({ type: 'piece', index: m.index, begin: m.begin, block: randomBytes(m.length) });
      },
      claimAll,
    );
    endpoints.push({ host, port: s.port });
  }
  return attack('colluders', res, stats, { endpoints, addresses: hosts });
};

const snub: AttackFactory = async (ctx) => {
  const res = new Resources();
  const stats = newStats();
  const host = hostileAddress(0);
  const s = await listenAs(res, stats, ctx, host, () => {}, claimAll);
  return attack('snub', res, stats, { endpoints: [{ host, port: s.port }], addresses: [host] });
};

/** Answers after SLOTH_DELAY_MS (minutes): never within a test. Keeps the connection alive. */
const SLOTH_DELAY_MS = 5 * 60_000;
const sloth: AttackFactory = async (ctx) => {
  const res = new Resources();
  const stats = newStats();
  const host = hostileAddress(0);
  const s = await listenAs(
    res,
    stats,
    ctx,
    host,
    (p, m) => {
      if (m.type !== 'request') return;
      res.later(SLOTH_DELAY_MS, () => {
        stats.blocksSent++;
        p.send({
          type: 'piece',
          index: m.index,
          begin: m.begin,
          block: Buffer.from(ctx.payload.subarray(0, m.length)),
        });
      });
    },
    (p) => {
      claimAll(p);
    },
  );
  res.every(2_000, () => {
    for (const p of s.peers) if (!p.isClosed) p.send({ type: 'keep-alive' });
  });
  return attack('sloth', res, stats, { endpoints: [{ host, port: s.port }], addresses: [host] });
};

/**
 * Unrequested blocks: right after the handshake, blocks nobody asked for (of pieces it claims,
 * and of pieces it never claimed); requests are answered with a block of another piece.
 */
const unrequested: AttackFactory = async (ctx) => {
  const res = new Resources();
  const stats = newStats();
  const host = hostileAddress(0);
  const block = (index: number) => ({
    type: 'piece' as const,
    index,
    begin: 0,
    block: randomBytes(Math.min(16384, ctx.totalBytes - index * ctx.pieceLength)),
  });
  const s = await listenAs(
    res,
    stats,
    ctx,
    host,
    (p, m) => {
      if (m.type !== 'request') return;
      stats.blocksSent++;
      p.send(block((m.index + 1) % ctx.pieceCount));
    },
    (p) => {
      // Claims the even pieces only, then sends blocks of odd ones (never had) and even ones.
      const bits = Buffer.alloc(Math.ceil(ctx.pieceCount / 8));
      for (let i = 0; i < ctx.pieceCount; i += 2) bits[i >> 3]! |= 0x80 >> (i & 7);
      p.send({ type: 'bitfield', bitfield: bits });
      p.send({ type: 'unchoke' });
      for (const i of [1 % ctx.pieceCount, 0, 2 % ctx.pieceCount]) {
        stats.blocksSent++;
        p.send(block(i));
      }
    },
  );
  return attack('unrequested', res, stats, {
    endpoints: [{ host, port: s.port }],
    addresses: [host],
  });
};

/** Raw frames that break the protocol, one per connection. */
function malformedFrames(ctx: AttackContext): { name: string; bytes: Uint8Array }[] {
  const prefix = (len: number, id?: number, body?: Uint8Array): Uint8Array => {
    const head = Buffer.alloc(id === undefined ? 4 : 5);
    head.writeUInt32BE(len >>> 0, 0);
    if (id !== undefined) head[4] = id;
    return Buffer.concat([head, body ?? Buffer.alloc(0)]);
  };
  const bf = Math.ceil(ctx.pieceCount / 8);
  const ext = (extId: number, payload: Uint8Array) => encodeMessage({ type: 'extended', extId, payload });
  return [
    { name: 'length 2^32-1', bytes: prefix(0xffffffff) },
    {
      name: 'length 2^31',
      bytes: Buffer.concat([prefix(2 ** 31, MessageId.Piece), Buffer.alloc(64 * 1024)]),
    },
    { name: 'bitfield too long', bytes: prefix(1 + bf + 1, MessageId.Bitfield, Buffer.alloc(bf + 1, 0xff)) },
    {
      name: 'bitfield too short',
      bytes: prefix(bf, MessageId.Bitfield, Buffer.alloc(Math.max(0, bf - 1), 0xff)),
    },
    { name: 'have beyond the piece count', bytes: encodeMessage({ type: 'have', index: ctx.pieceCount }) },
    { name: 'have 2^32-1', bytes: encodeMessage({ type: 'have', index: 0xffffffff }) },
    {
      name: 'request of 1 MiB',
      bytes: prefix(13, MessageId.Request, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0])),
    },
    { name: 'request with a short body', bytes: prefix(9, MessageId.Request, Buffer.alloc(8)) },
    { name: 'block above 16 KiB', bytes: prefix(9 + 16385, MessageId.Piece, Buffer.alloc(8 + 16385)) },
    { name: 'choke with a body', bytes: prefix(3, MessageId.Choke, Buffer.alloc(2)) },
    {
      name: 'extended handshake, bad bencode',
      bytes: ext(EXTENDED_HANDSHAKE_ID, Buffer.from('d1:md11:ut_metadatai')),
    },
    { name: 'extended handshake, not a dict', bytes: ext(EXTENDED_HANDSHAKE_ID, Buffer.from('li1ee')) },
    {
      name: 'extended handshake, m of 1000 names',
      bytes: ext(
        EXTENDED_HANDSHAKE_ID,
        encode({ m: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x${i}`, 1 + (i % 200)])) }),
      ),
    },
    { name: 'ut_pex, bad compact length', bytes: ext(2, encode({ added: Buffer.alloc(7) })) },
    { name: 'ut_metadata, piece 2^40', bytes: ext(1, encode({ msg_type: 0, piece: 2 ** 40 })) },
    { name: 'ut_metadata, garbage', bytes: ext(1, Buffer.from('i-0e')) },
    {
      name: 'hash request with a bad layer',
      bytes: prefix(1 + 48, MessageId.HashRequest, Buffer.alloc(48, 0xff)),
    },
    {
      name: 'hashes, not a multiple of 32',
      bytes: prefix(1 + 48 + 33, MessageId.Hashes, Buffer.alloc(48 + 33)),
    },
    { name: 'unknown id with a 1 MiB body', bytes: prefix(1 + 1024 * 1024, 99, Buffer.alloc(1024 * 1024)) },
    { name: 'port with a long body', bytes: prefix(8, MessageId.Port, Buffer.alloc(7)) },
  ];
}

const malformed: AttackFactory = async (ctx) => {
  const res = new Resources();
  const stats = newStats();
  const host = hostileAddress(0);
  const frames = malformedFrames(ctx);
  let next = 0;
  // The victim dials us: each of its connections gets the next bad frame after our greeting.
  const s = await listenAs(
    res,
    stats,
    ctx,
    host,
    () => {},
    (p) => {
      claimAll(p);
      p.sendRaw(frames[next++ % frames.length]!.bytes);
    },
  );
  return attack('malformed', res, stats, {
    endpoints: [{ host, port: s.port }],
    addresses: [host, hostileAddress(1)],
    start: (victim) => {
      // And we dial it: every bad frame once, from a second address, one connection each.
      for (const f of frames) {
        void dialAs(res, stats, ctx, victim, hostileAddress(1), () => {}).then((p) => {
          if (p === undefined) return;
          claimAll(p);
          p.sendRaw(f.bytes);
        });
      }
    },
  });
};

/** Slow-handshake connections the attacker dials (one byte per second each). */
export const SLOW_HANDSHAKE_DIALS = 12;
const slowHandshake: AttackFactory = async (ctx) => {
  const res = new Resources();
  const stats = newStats();
  const host = hostileAddress(0);
  const dribble = (p: ScriptedPeer) => {
    const hs = encodeHandshake({
      infoHash: ctx.infoHash,
      peerId: p.peerId,
      reserved: makeReserved({ fast: true, extended: true }),
    });
    let at = 0;
    const step = () => {
      if (p.isClosed || at >= hs.length) return;
      p.sendRaw(hs.subarray(at, at + 1));
      at++;
      res.later(1_000, step);
    };
    step();
  };
  // The victim dials us: we answer one byte per second.
  const server = await ScriptedServer.listen(
    host,
    { infoHash: ctx.infoHash, pieceCount: ctx.pieceCount },
    (p) => {
      track(res, stats, p);
      dribble(p);
    },
  );
  res.servers.push(server);
  return attack('slow-handshake', res, stats, {
    endpoints: [{ host: host, port: server.port }],
    addresses: [host, hostileAddress(1)],
    start: (victim) => {
      for (let i = 0; i < SLOW_HANDSHAKE_DIALS; i++) {
        void dialAs(res, stats, ctx, victim, hostileAddress(1), () => {}, { handshake: false }).then((p) => {
          if (p !== undefined) dribble(p);
        });
      }
    },
  });
};

// ---------------------------------------------------------------------------- sybil

/** Connections one address opens to the victim, each with its own peer id. */
export const SYBIL_CONNECTIONS = 20;
/** Longest the sybil holds its garbage back while its connections settle, ms. */
const SYBIL_HOLD_MS = 5_000;
const sybil: AttackFactory = async (ctx) => {
  const res = new Resources();
  const stats = newStats();
  const host = hostileAddress(0);
  const garbage = garbageScript(stats);
  // Garbage waits until every connection is settled (attached: the victim's handshake came; or
  // closed): else, on a slow machine, the first ones were banned before the later ones asked to
  // attach, and the per-address cap was never reached. Bounded by SYBIL_HOLD_MS.
  const settled = new WeakSet<ScriptedPeer>();
  let count = 0;
  let serving = false;
  const held: [ScriptedPeer, WireMessage][] = [];
  const serve = (): void => {
    if (serving) return;
    serving = true;
    clearTimeout(hold);
    for (const [p, m] of held.splice(0)) if (!res.closed) garbage(p, m);
  };
  const settle = (p?: ScriptedPeer): void => {
    if (p !== undefined && settled.has(p)) return;
    if (p !== undefined) settled.add(p);
    if (++count === SYBIL_CONNECTIONS) serve();
  };
  const hold = setTimeout(serve, SYBIL_HOLD_MS);
  hold.unref();
  return attack('sybil', res, stats, {
    addresses: [host],
    start: (victim) => {
      for (let i = 0; i < SYBIL_CONNECTIONS; i++) {
        void dialAs(
          res,
          stats,
          ctx,
          victim,
          host,
          (p, m) => {
            if (m.type === 'handshake') {
              claimAll(p);
              settle(p);
            }
            if (serving) garbage(p, m);
            else held.push([p, m]);
          },
          { peerId: scriptedPeerId() },
        ).then((p) => {
          if (p === undefined) settle();
          else void p.closed.then(() => settle(p));
        });
      }
    },
  });
};

/** Every behaviour, by name. */
export const ATTACKS: Readonly<Record<string, AttackFactory>> = {
  garbage,
  poison,
  colluders,
  snub,
  sloth,
  unrequested,
  malformed,
  'slow-handshake': slowHandshake,
  'pex-flood': pexFlood,
  'tracker-flood': trackerFlood,
  'metadata-size': metadataLiar('size'),
  'metadata-pieces': metadataLiar('pieces'),
  sybil,
};

/** Behaviours that need a magnet download (the victim fetches the metadata). */
export const MAGNET_ATTACKS: ReadonlySet<string> = new Set(['metadata-size', 'metadata-pieces']);
