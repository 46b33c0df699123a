/**
 * Hostile behaviours against discovery (issue 17): floods of made-up 127/8 addresses through
 * PEX and a tracker reply, and BEP 9 peers that lie about the metadata. See hostile-peers.ts.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encode } from '../../src/codec/index.js';
import { MAX_PEX_PEERS_PER_MESSAGE, METADATA_PIECE_BYTES } from '../../src/shared/limits.js';
import {
  decodeExtendedHandshake,
  decodeUtMetadata,
  EXTENDED_HANDSHAKE_ID,
  ExtensionName,
  encodeUtMetadata,
  encodeUtPex,
  type PexPeer,
  type WireMessage,
} from '../../src/wire/index.js';
import {
  type AttackFactory,
  attack,
  claimAll,
  dialAs,
  garbageScript,
  greet,
  hostileAddress,
  madeUpAddress,
  newStats,
  Resources,
  track,
} from './hostile-kit.js';
import { type ScriptedPeer, ScriptedServer, scriptedPeerId } from './scripted-peer.js';

// ---------------------------------------------------------------------------- address floods

/** Connections each sending one full PEX message; reconnecting for more. */
const PEX_FLOOD_ADDRESSES = 8;
const PEX_FLOOD_ROUNDS = 4;
export const pexFlood: AttackFactory = async (ctx) => {
  const res = new Resources();
  const stats = newStats();
  let made = 0;
  const hosts = Array.from({ length: PEX_FLOOD_ADDRESSES }, (_, i) => hostileAddress(i));
  const flood = (p: ScriptedPeer, m: WireMessage, round: number, redial: () => void) => {
    if (m.type !== 'extended' || m.extId !== EXTENDED_HANDSHAKE_ID) return;
    const pex = decodeExtendedHandshake(m.payload).extensions.get(ExtensionName.UtPex);
    if (pex === undefined || pex === 0) return;
    const added: PexPeer[] = [];
    for (let i = 0; i < MAX_PEX_PEERS_PER_MESSAGE; i++) {
      const a = madeUpAddress(made++);
      added.push({ ...a, family: 4, flags: 0x10 });
    }
    stats.addressesSent += added.length;
    p.send({ type: 'extended', extId: pex, payload: encodeUtPex({ added, dropped: [] }) });
    // Hang up (after the victim read it: a round trip) and come back with more.
    if (round + 1 < PEX_FLOOD_ROUNDS) {
      p.send({ type: 'have-none' });
      res.later(200, () => {
        p.close();
        redial();
      });
    }
  };
  return attack('pex-flood', res, stats, {
    addresses: hosts,
    start: (victim) => {
      for (const host of hosts) {
        // Up to the per-address cap of connections from each address, each with its own id.
        for (let c = 0; c < 4; c++) {
          const go = (round: number) => {
            void dialAs(res, stats, ctx, victim, host, (p, m) => flood(p, m, round, () => go(round + 1)), {
              peerId: scriptedPeerId(),
            });
          };
          go(0);
        }
      }
    },
  });
};

/** Made-up addresses in the flooding tracker's reply (the honest seeder comes last). */
export const TRACKER_FLOOD_ADDRESSES = 1999;
export const trackerFlood: AttackFactory = async (ctx) => {
  const res = new Resources();
  const stats = newStats();
  const compact = Buffer.alloc((TRACKER_FLOOD_ADDRESSES + 1) * 6);
  const put = (i: number, host: string, port: number) => {
    host.split('.').forEach((o, k) => {
      compact[i * 6 + k] = Number(o);
    });
    compact.writeUInt16BE(port, i * 6 + 4);
  };
  for (let i = 0; i < TRACKER_FLOOD_ADDRESSES; i++) {
    const a = madeUpAddress(i);
    put(i, a.host, a.port);
  }
  put(TRACKER_FLOOD_ADDRESSES, ctx.honest.host, ctx.honest.port);
  const reply = encode({ interval: 1800, complete: 1, incomplete: 2000, peers: compact });
  const http = createHttpServer((req, resp) => {
    stats.addressesSent += TRACKER_FLOOD_ADDRESSES;
    resp.writeHead(200, { 'content-type': 'text/plain', 'content-length': reply.length });
    resp.end(reply);
    void req;
  });
  res.http.push(http);
  await new Promise<void>((resolve) => http.listen(0, hostileAddress(0), () => resolve()));
  const { port } = http.address() as AddressInfo;
  return attack('tracker-flood', res, stats, {
    trackers: [`http://${hostileAddress(0)}:${port}/announce`],
    addresses: [hostileAddress(0)],
  });
};

// ---------------------------------------------------------------------------- metadata (BEP 9)

/**
 * A BEP 9 liar: `size` announces a wrong `metadata_size` (one piece short of the real one) and
 * serves that many bytes of garbage; `pieces` announces the right size, serves garbage for the
 * even pieces and refuses the odd ones (so that an honest peer sends those, and the copy that
 * fails is a mixed one). It claims every piece and serves garbage blocks too.
 */
export function metadataLiar(kind: 'size' | 'pieces'): AttackFactory {
  return async (ctx) => {
    const res = new Resources();
    const stats = newStats();
    const host = hostileAddress(0);
    const real = ctx.info.length;
    const size = kind === 'size' ? Math.max(1, real - METADATA_PIECE_BYTES + 1) : real;
    const garbageBlocks = garbageScript(stats);
    const server = await ScriptedServer.listen(host, { infoHash: ctx.infoHash }, (p) => {
      track(res, stats, p);
      p.onMessage = (m) => {
        if (res.closed) return;
        if (m.type === 'handshake') {
          greet(p, { metadataSize: size });
          claimAll(p);
          return;
        }
        if (m.type === 'extended' && m.extId === 3) {
          // A request to our ut_metadata id.
          let msg: ReturnType<typeof decodeUtMetadata>;
          try {
            msg = decodeUtMetadata(m.payload);
          } catch {
            return;
          }
          if (msg?.type !== 'request') return;
          const theirs = theirUtMetadata(p);
          if (theirs === undefined) return;
          const len = Math.min(METADATA_PIECE_BYTES, size - msg.piece * METADATA_PIECE_BYTES);
          if (len <= 0) return;
          if (kind === 'pieces' && msg.piece % 2 === 1) {
            // Odd pieces are refused: an honest peer sends them, so the copy is mixed.
            p.send({
              type: 'extended',
              extId: theirs,
              payload: encodeUtMetadata({ type: 'reject', piece: msg.piece }),
            });
            return;
          }
          stats.metadataPiecesSent++;
          p.send({
            type: 'extended',
            extId: theirs,
            payload: encodeUtMetadata({
              type: 'data',
              piece: msg.piece,
              totalSize: size,
              data: randomBytes(len),
            }),
          });
          return;
        }
        garbageBlocks(p, m);
      };
    });
    res.servers.push(server);
    return attack(`metadata-${kind}`, res, stats, {
      endpoints: [{ host, port: server.port }],
      addresses: [host],
    });
  };
}

/** The victim's `ut_metadata` id, from its extended handshake. */
function theirUtMetadata(p: ScriptedPeer): number | undefined {
  for (const m of p.messages) {
    if (m.type === 'extended' && m.extId === EXTENDED_HANDSHAKE_ID) {
      const id = decodeExtendedHandshake(m.payload).extensions.get(ExtensionName.UtMetadata);
      if (id !== undefined && id > 0) return id;
    }
  }
  return undefined;
}
