/**
 * The toolkit of the hostile peers (test/helpers/hostile-peers.ts): what a behaviour knows and
 * counts, the resources it owns, and the scripted-peer plumbing every behaviour shares (listening
 * as, or dialling from, a hostile loopback address; greeting; serving garbage).
 */
import { randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import {
  EXTENDED_HANDSHAKE_ID,
  ExtensionName,
  encodeExtendedHandshake,
  type WireMessage,
} from '../../src/wire/index.js';
import { ScriptedPeer, ScriptedServer } from './scripted-peer.js';

/** What a behaviour knows of the torrent and the victim. */
export interface AttackContext {
  readonly infoHash: Uint8Array;
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalBytes: number;
  /** The whole payload, in torrent order (the poisoner serves it with one flipped byte). */
  readonly payload: Uint8Array;
  /** The bencoded info dictionary (the metadata liars know the real size). */
  readonly info: Uint8Array;
  /** Where the honest seeder listens (the tracker flood lists it last). */
  readonly honest: { readonly host: string; readonly port: number };
  /** A seed for the behaviour's choices (which byte to flip, …). */
  readonly seed: number;
}

/** What an attacker counts. */
export interface AttackStats {
  /** TCP connections made (dialled by the victim or by the attacker). */
  connections: number;
  /** Blocks (piece messages) sent. */
  blocksSent: number;
  /** Made-up addresses sent (PEX, tracker). */
  addressesSent: number;
  /** Metadata pieces sent. */
  metadataPiecesSent: number;
  /** Connections the victim closed (before the attack ended). */
  closedByVictim: number;
}

/** One running attack. */
export interface Attack {
  readonly name: string;
  /** Addresses the victim is told about (before the honest seeder). */
  readonly endpoints: readonly { readonly host: string; readonly port: number }[];
  /** HTTP tracker URLs the victim's torrent announces to (tracker flood). */
  readonly trackers: readonly string[];
  /** The attacker's own IP addresses (for blame figures). */
  readonly addresses: readonly string[];
  /** Starts what dials the victim (called once the victim's torrent or magnet is added). */
  start(victim: { readonly host: string; readonly port: number }): void;
  readonly stats: AttackStats;
  close(): Promise<void>;
}

export type AttackFactory = (ctx: AttackContext) => Promise<Attack>;

/** The i-th hostile loopback address: 127.0.0.2, 127.0.0.3, … */
export function hostileAddress(i: number): string {
  return `127.0.0.${2 + i}`;
}

/** Made-up address number `n` in 127.1.0.0/16 and up: nothing listens there, dials fail at once. */
export function madeUpAddress(n: number): { host: string; port: number } {
  return {
    host: `127.${1 + ((n >> 16) & 0x7f)}.${(n >> 8) & 0xff}.${n & 0xff || 1}`,
    port: 1024 + (n % 50_000),
  };
}

/** Everything a behaviour opened, closed together. */
export class Resources {
  readonly servers: ScriptedServer[] = [];
  readonly peers: ScriptedPeer[] = [];
  readonly timers = new Set<NodeJS.Timeout>();
  readonly http: HttpServer[] = [];
  closed = false;

  later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
  }

  every(ms: number, fn: () => void): void {
    if (this.closed) return;
    const t = setInterval(() => {
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const p of this.peers) p.close();
    await Promise.all(this.servers.map((s) => s.close()));
    await Promise.all(
      this.http.map(
        (h) =>
          new Promise<void>((resolve) => {
            h.closeAllConnections();
            h.close(() => resolve());
          }),
      ),
    );
  }
}

export function newStats(): AttackStats {
  return { connections: 0, blocksSent: 0, addressesSent: 0, metadataPiecesSent: 0, closedByVictim: 0 };
}

/** Counts `p`'s close as the victim's doing unless the attack ended first. */
export function track(res: Resources, stats: AttackStats, p: ScriptedPeer): void {
  stats.connections++;
  void p.closed.then(() => {
    if (!res.closed) stats.closedByVictim++;
  });
}

/** Our handshake and a BEP 10 handshake offering `ut_metadata` (id 3) and `ut_pex` (id 4). */
export function greet(p: ScriptedPeer, opts: { metadataSize?: number } = {}): void {
  p.sendHandshake();
  p.send({
    type: 'extended',
    extId: EXTENDED_HANDSHAKE_ID,
    payload: encodeExtendedHandshake({
      extensions: new Map([
        [ExtensionName.UtMetadata, 3],
        [ExtensionName.UtPex, 4],
      ]),
      client: 'hostile 1.0',
      ...(opts.metadataSize !== undefined ? { metadataSize: opts.metadataSize } : {}),
    }),
  });
}

/** Claims every piece and unchokes at once. */
export function claimAll(p: ScriptedPeer): void {
  p.send({ type: 'have-all' });
  p.send({ type: 'unchoke' });
}

/**
 * A listening attacker on `host`: each connection the victim makes is greeted (handshake,
 * extended handshake) and then scripted by `onMessage`.
 */
export async function listenAs(
  res: Resources,
  stats: AttackStats,
  ctx: AttackContext,
  host: string,
  script: (p: ScriptedPeer, m: WireMessage) => void,
  onGreeted?: (p: ScriptedPeer) => void,
): Promise<ScriptedServer> {
  const server = await ScriptedServer.listen(
    host,
    { infoHash: ctx.infoHash, pieceCount: ctx.pieceCount },
    (p) => {
      track(res, stats, p);
      p.onMessage = (m) => {
        if (res.closed) return;
        if (m.type === 'handshake') {
          greet(p);
          onGreeted?.(p);
          return;
        }
        script(p, m);
      };
    },
  );
  res.servers.push(server);
  return server;
}

/** Dials the victim from `localAddress` and runs `script` on every message it sends. */
export async function dialAs(
  res: Resources,
  stats: AttackStats,
  ctx: AttackContext,
  victim: { host: string; port: number },
  localAddress: string,
  script: (p: ScriptedPeer, m: WireMessage) => void,
  opts: { peerId?: Uint8Array; handshake?: boolean } = {},
): Promise<ScriptedPeer | undefined> {
  if (res.closed) return undefined;
  let p: ScriptedPeer;
  try {
    p = await ScriptedPeer.dial(
      victim.host,
      victim.port,
      { infoHash: ctx.infoHash, pieceCount: ctx.pieceCount, ...(opts.peerId ? { peerId: opts.peerId } : {}) },
      localAddress,
    );
  } catch {
    return undefined;
  }
  track(res, stats, p);
  res.peers.push(p);
  if (res.closed) {
    p.close();
    return undefined;
  }
  p.onMessage = (m) => {
    if (!res.closed) script(p, m);
  };
  if (opts.handshake !== false) greet(p);
  return p;
}

/** A garbage-serving script: every request is answered at once with random bytes. */
export function garbageScript(stats: AttackStats): (p: ScriptedPeer, m: WireMessage) => void {
  return (p, m) => {
    if (m.type === 'request') {
      stats.blocksSent++;
      p.send({ type: 'piece', index: m.index, begin: m.begin, block: randomBytes(m.length) });
    }
  };
}

export function attack(
  name: string,
  res: Resources,
  stats: AttackStats,
  parts: Partial<Pick<Attack, 'endpoints' | 'trackers' | 'addresses' | 'start'>>,
): Attack {
  return {
    name,
    endpoints: parts.endpoints ?? [],
    trackers: parts.trackers ?? [],
    addresses: parts.addresses ?? [],
    start: parts.start ?? (() => {}),
    stats,
    close: () => res.close(),
  };
}
