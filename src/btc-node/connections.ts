/**
 * DEV DOCS — the light node's connections, on the shared connection layer (`net/`).
 *
 * - Addresses: the user's peers go into the node's {@link PoolOwner} as `user` addresses (dialled
 *   again after the pool's back-off whenever they drop). Unless `onlyPeers`, the address manager
 *   (addresses from `addr`/`addrv2`, and the DNS seeds when it is empty) feeds the owner one
 *   address at a time as `pex` addresses (peer exchange) while we have fewer outbound connections
 *   than wanted.
 * - Limits come from the pool: the owner's connection, half-open and per-address caps, the
 *   node-wide caps shared with BitTorrent, the IP blocklist.
 * - Bans: a peer closed for misbehaving is banned in the pool by address (for every owner, the
 *   BitTorrent torrents included) and forgotten by the address manager; any ban in the pool closes
 *   our connections to that address.
 * - Inbound: {@link btcInboundProtocol} recognizes a stream by its first 4 bytes (the network
 *   magic) for the inbound stage (`InboundRouter`); the stream is admitted by the same owner.
 */
import { randomBytes } from 'node:crypto';
import { resolve4, resolve6 } from 'node:dns/promises';
import {
  AddrV2Network,
  type BtcMessage,
  type ChainParams,
  ipToString,
  ServiceFlags,
} from '../bitcoin/index.js';
import type {
  Admission,
  InboundProtocol,
  KnownAddress,
  PeerPool,
  PeerStream,
  PoolOwner,
  Recognition,
  Transport,
} from '../net/index.js';
import type { AddrManager } from './addr-manager.js';
import type { BtcLogger, ResolvedBtcNodeOptions } from './options.js';
import { BtcPeer, type BtcPeerHandler, type PeerCloseReason } from './peer.js';

/** Dials at once (per node). */
const MAX_HALF_OPEN = 4;
/** Addresses the pool owner holds for dialling (the address manager holds the rest). */
const MAX_POOL_ADDRESSES = 128;
/** Connections accepted beyond the outbound ones, when listening. */
const INBOUND_SLACK = 8;

/** The inbound-stage recognizer of a network's streams: its 4 magic bytes come first. */
export function btcInboundProtocol(
  params: ChainParams,
  take: (stream: PeerStream, head: Uint8Array) => void,
): InboundProtocol {
  return {
    name: `bitcoin:${params.name}`,
    recognize(head: Uint8Array): Recognition {
      const n = Math.min(head.length, 4);
      for (let i = 0; i < n; i++) if (head[i] !== params.magic[i]) return 'no';
      return n < 4 ? 'more' : 'yes';
    },
    take,
  };
}

export interface ConnectionsInit {
  readonly options: ResolvedBtcNodeOptions;
  readonly pool: PeerPool;
  readonly transport: Transport;
  readonly addrman: AddrManager;
  /** Monotonic clock, ms. */
  readonly now: () => number;
  readonly startHeight: () => number;
  readonly handler: BtcPeerHandler;
  readonly logger: BtcLogger | undefined;
}

interface Slot {
  readonly peer: BtcPeer;
  readonly admission: Admission;
}

/** See the module notes. */
export class Connections {
  readonly owner: PoolOwner;
  readonly #init: ConnectionsInit;
  readonly #slots = new Map<BtcPeer, Slot>();
  readonly #nonce = randomBytes(8).readBigUInt64LE();
  readonly #stopBanListener: () => void;
  readonly #dials = new Set<AbortController>();
  #nextId = 1;
  #seeding = false;
  #closed = false;

  constructor(init: ConnectionsInit) {
    this.#init = init;
    const o = init.options;
    this.owner = init.pool.openOwner({
      maxConnections: o.maxOutbound,
      incomingSlack: o.listen === undefined ? 0 : INBOUND_SLACK,
      maxHalfOpen: MAX_HALF_OPEN,
      maxKnown: MAX_POOL_ADDRESSES,
      maxPerAddress: 4,
    });
    this.#stopBanListener = init.pool.onBan((ban) => {
      for (const p of this.#slots.keys()) if (p.host === ban.address) p.close(`banned: ${ban.reason}`, false);
    });
  }

  /** Every connection, handshaking or ready. */
  all(): BtcPeer[] {
    return [...this.#slots.keys()];
  }

  /** Connections that completed the handshake. */
  ready(): BtcPeer[] {
    return this.all().filter((p) => p.isReady);
  }

  /** Dials what the limits allow and runs every peer's deadlines. Called about once a second. */
  tick(): void {
    if (this.#closed) return;
    const now = this.#init.now();
    for (const p of [...this.#slots.keys()]) p.tick();
    for (const u of this.#init.options.peers) this.owner.add(u.host, u.port, 'user');
    if (!this.#init.options.onlyPeers) this.#feed();
    for (const k of this.owner.dialable(now)) {
      if (!this.owner.dialStarted(k)) continue;
      void this.#dial(k);
    }
  }

  /** An accepted stream that the inbound stage gave us (its first bytes in `head`). */
  accept(stream: PeerStream, head: Uint8Array): void {
    if (this.#closed) {
      stream.destroy();
      return;
    }
    const admission = this.owner.admit(stream.remoteAddress, stream.remotePort, false);
    if (typeof admission === 'string') {
      stream.destroy();
      return;
    }
    this.#attach(stream, admission, head);
  }

  /** Addresses a peer relayed (`addr`/`addrv2`), under its rate limit, into the address manager. */
  onAddresses(
    peer: BtcPeer,
    entries: readonly { host: string; port: number; services: bigint; time: number }[],
    solicited: boolean,
  ): number {
    const take = peer.admitAddresses(entries.length, solicited);
    for (let i = 0; i < take; i++) this.#init.addrman.add(entries[i]!, peer.host);
    return take;
  }

  /**
   * An `addr` or `addrv2` message: its IPv4/IPv6 entries into the address manager, every entry
   * (those of other networks too) counted against the peer's rate.
   */
  onAddrMessage(
    peer: BtcPeer,
    m: Extract<BtcMessage, { type: 'addr' | 'addrv2' }>,
    solicited: boolean,
  ): void {
    if (m.type === 'addr') {
      this.onAddresses(
        peer,
        m.addresses.map((a) => ({
          host: ipToString(a.ip),
          port: a.port,
          services: a.services,
          time: a.time,
        })),
        solicited,
      );
      return;
    }
    const entries = m.addresses
      .filter((a) => a.networkId === AddrV2Network.IPv4 || a.networkId === AddrV2Network.IPv6)
      .map((a) => ({
        host: a.networkId === AddrV2Network.IPv4 ? [...a.address].join('.') : ipToString(a.address),
        port: a.port,
        services: a.services,
        time: a.time,
      }));
    const skipped = m.addresses.length - entries.length;
    if (skipped > 0) peer.admitAddresses(skipped, solicited);
    this.onAddresses(peer, entries, solicited);
  }

  /** Closes every connection and stops dialling. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopBanListener();
    for (const d of this.#dials) d.abort();
    for (const p of [...this.#slots.keys()]) p.close('node closing', false);
    this.owner.close();
  }

  #feed(): void {
    const { addrman, options } = this.#init;
    if (this.owner.openConnections + this.owner.halfOpen >= options.maxOutbound) return;
    if (addrman.size === 0) {
      this.#seed();
      return;
    }
    const connected = new Set(this.all().map((p) => `${p.host}|${p.port}`));
    const pick = addrman.select(
      (host, port) => connected.has(`${host}|${port}`) || this.owner.get(host, port) !== undefined,
    );
    if (pick !== undefined) this.owner.add(pick.host, pick.port, 'pex');
  }

  /** Asks the DNS seeds for addresses (never in tests: they pass no seeds). */
  #seed(): void {
    const { options, addrman, logger } = this.#init;
    if (this.#seeding || options.dnsSeeds.length === 0) return;
    this.#seeding = true;
    const nowS = Math.floor(Date.now() / 1000);
    void Promise.all(
      options.dnsSeeds.map(async (seed) => {
        const found = await Promise.all([resolve4(seed).catch(() => []), resolve6(seed).catch(() => [])]);
        for (const host of found.flat()) {
          addrman.add(
            { host, port: options.params.defaultPort, services: ServiceFlags.Network, time: nowS },
            seed,
          );
        }
      }),
    ).finally(() => {
      this.#seeding = false;
      logger?.info({ addresses: addrman.size }, 'bitcoin: DNS seeds answered');
    });
  }

  async #dial(k: KnownAddress): Promise<void> {
    const { transport, options, addrman } = this.#init;
    const ac = new AbortController();
    this.#dials.add(ac);
    addrman.attempt(k.host, k.port);
    let stream: PeerStream;
    try {
      stream = await transport.dial(k.host, k.port, {
        timeoutMs: options.connectTimeoutMs,
        signal: ac.signal,
      });
    } catch {
      this.owner.dialEnded(k, false, this.#init.now());
      return;
    } finally {
      this.#dials.delete(ac);
    }
    if (this.#closed) {
      stream.destroy();
      return;
    }
    const admission = this.owner.admit(k.host, k.port, true);
    if (typeof admission === 'string') {
      this.owner.dialEnded(k, false, this.#init.now());
      stream.destroy();
      return;
    }
    this.owner.dialEnded(k, true, this.#init.now());
    this.#attach(stream, admission, undefined);
  }

  #attach(stream: PeerStream, admission: Admission, head: Uint8Array | undefined): void {
    const { options, handler } = this.#init;
    const wrapped: BtcPeerHandler = {
      ready: (p) => {
        if (p.outgoing) this.#init.addrman.good(p.host, p.port);
        handler.ready(p);
      },
      message: (p, m) => handler.message(p, m),
      closed: (p, reason) => this.#closed_(p, reason),
    };
    const peer = new BtcPeer({
      id: this.#nextId++,
      stream,
      params: options.params,
      nonce: this.#nonce,
      userAgent: options.userAgent,
      startHeight: this.#init.startHeight,
      relay: options.relayTransactions,
      now: this.#init.now,
      handler: wrapped,
      ...(head !== undefined ? { head } : {}),
    });
    this.#slots.set(peer, { peer, admission });
    peer.start();
  }

  #closed_(peer: BtcPeer, reason: PeerCloseReason): void {
    const slot = this.#slots.get(peer);
    if (slot === undefined) return;
    this.#slots.delete(peer);
    slot.admission.release();
    if (peer.outgoing) this.owner.disconnected(peer.host, peer.port, reason.beforeReady, this.#init.now());
    if (reason.ban) {
      this.#init.addrman.remove(peer.host, peer.port);
      this.#init.pool.ban(peer.host, reason.message);
    }
    this.#init.handler.closed(peer, reason);
  }
}

/** `ip` of an addr entry as a host string (IPv4-mapped addresses as dotted quads). */
export function addrHost(ip: Uint8Array): string {
  return ipToString(ip);
}
