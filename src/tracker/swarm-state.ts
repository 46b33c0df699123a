/**
 * The built-in tracker's swarm state: which peers announced which torrent, with counts.
 *
 * DEV NOTES
 * - Owns: one `Swarm` per info-hash (a Map keyed by the hash as a 20-char latin1 string), each
 *   holding its peers in a Map (lookup and last-seen order) and in one array per address family
 *   (uniform sampling by index). Nothing here does I/O; time comes from the injected clock and
 *   randomness from the injected `random`, so expiry and sampling are testable.
 * - A peer is identified by its address and announced port (IPv4: the number ip·65536+port;
 *   IPv6: the 18 address+port bytes as a latin1 string): a client cannot plant entries for
 *   addresses it does not send from, and re-announcing under a new peer id replaces its entry.
 * - Every operation is O(1) in the swarm size except sampling, which is O(numwant):
 *   announce = one Map get and a few field updates (a new peer: a Map set and an array push);
 *   removal is a swap-with-last in the family array. Sampling walks the array from a random
 *   start with a random stride coprime to its length, so it visits distinct peers without
 *   scanning.
 * - Expiry: `expire()` sweeps every peer (about 1 ms per 100,000 peers); the server runs it
 *   every quarter of the peer timeout, so a silent peer is gone after at most 1.25 × the
 *   timeout, and the announce path does no expiry work at all. Empty swarms are deleted (their
 *   `downloaded` count goes with them).
 * - Bounds: `maxTorrents` and `maxPeers` (TRACKER_MAX_TORRENTS, TRACKER_MAX_PEERS) cap memory;
 *   an announce beyond them is refused with a reason, existing peers keep being served.
 */
import { TRACKER_MAX_PEERS, TRACKER_MAX_TORRENTS } from '../shared/limits.js';

/** Monotonic milliseconds. */
export type TrackerClock = () => number;

/** Options of a {@link SwarmState}. */
export interface SwarmStateOptions {
  /** A peer not heard from for this long is dropped, in ms. */
  readonly peerTimeoutMs: number;
  /** @default TRACKER_MAX_TORRENTS */
  readonly maxTorrents?: number;
  /** @default TRACKER_MAX_PEERS */
  readonly maxPeers?: number;
  /** Uniform in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Which info-hashes (20-char latin1 keys) may be tracked; all when absent. */
  readonly isAllowed?: (infoHashKey: string) => boolean;
}

/** One tracked peer (read-only outside this module). */
export interface TrackedPeer {
  readonly family: 4 | 6;
  /** IPv4 address as an unsigned 32-bit number (0 for IPv6 peers). */
  readonly ip4: number;
  /** IPv6 address bytes (empty for IPv4 peers). */
  readonly ip6: Uint8Array;
  readonly port: number;
  /** Peer id as a 20-char latin1 string. */
  readonly peerId: string;
  readonly isSeed: boolean;
}

interface Peer extends TrackedPeer {
  key: number | string;
  family: 4 | 6;
  ip4: number;
  ip6: Uint8Array;
  port: number;
  peerId: string;
  isSeed: boolean;
  lastSeen: number;
  index: number;
  counted: boolean;
}

class Swarm {
  readonly peers = new Map<number | string, Peer>();
  readonly list4: Peer[] = [];
  readonly list6: Peer[] = [];
  seeders = 0;
  leechers = 0;
  completed = 0;
}

/** Counts of one swarm (BEP 48 names). */
export interface SwarmCounts {
  /** Seeders. */
  readonly complete: number;
  /** Leechers. */
  readonly incomplete: number;
  /** `completed` events seen. */
  readonly downloaded: number;
}

/** An announce as the state needs it (addresses already parsed by the front end). */
export interface StateAnnounce {
  /** The info-hash as a 20-char latin1 string (see {@link infoHashKey}). */
  readonly infoHashKey: string;
  readonly family: 4 | 6;
  /** IPv4 source address as a number (family 4). */
  readonly ip4: number;
  /** IPv6 source address, 16 bytes (family 6); copied when stored. */
  readonly ip6?: Uint8Array;
  readonly port: number;
  /** 20-char latin1 peer id. */
  readonly peerId: string;
  readonly left: number;
  readonly event: 'none' | 'completed' | 'started' | 'stopped';
}

/** Result of {@link SwarmState.announce}. */
export type StateAnnounceResult =
  | { readonly ok: true; readonly counts: SwarmCounts }
  | { readonly ok: false; readonly reason: string };

/** Totals over all swarms. */
export interface SwarmTotals {
  readonly torrents: number;
  readonly peers: number;
  readonly seeders: number;
  readonly leechers: number;
  readonly completed: number;
}

/** An info-hash as the state's key: its 20 bytes as a latin1 string. */
export function infoHashKey(infoHash: Uint8Array): string {
  return Buffer.from(infoHash.buffer, infoHash.byteOffset, infoHash.byteLength).toString('latin1');
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** The swarm state of the built-in tracker. See the module notes. */
export class SwarmState {
  readonly #swarms = new Map<string, Swarm>();
  readonly #clock: TrackerClock;
  readonly #timeoutMs: number;
  readonly #maxTorrents: number;
  readonly #maxPeers: number;
  readonly #random: () => number;
  readonly #isAllowed: ((key: string) => boolean) | undefined;
  #peers = 0;
  #seeders = 0;
  #completed = 0;

  constructor(clock: TrackerClock, opts: SwarmStateOptions) {
    this.#clock = clock;
    this.#timeoutMs = opts.peerTimeoutMs;
    this.#maxTorrents = opts.maxTorrents ?? TRACKER_MAX_TORRENTS;
    this.#maxPeers = opts.maxPeers ?? TRACKER_MAX_PEERS;
    this.#random = opts.random ?? Math.random;
    this.#isAllowed = opts.isAllowed;
  }

  /** Totals over all swarms. */
  totals(): SwarmTotals {
    return {
      torrents: this.#swarms.size,
      peers: this.#peers,
      seeders: this.#seeders,
      leechers: this.#peers - this.#seeders,
      completed: this.#completed,
    };
  }

  /** Whether this info-hash may be announced (the whitelist). */
  isAllowed(key: string): boolean {
    return this.#isAllowed === undefined || this.#isAllowed(key);
  }

  /** Counts of one torrent (zeros when unknown). */
  counts(key: string): SwarmCounts {
    const s = this.#swarms.get(key);
    return s === undefined
      ? { complete: 0, incomplete: 0, downloaded: 0 }
      : { complete: s.seeders, incomplete: s.leechers, downloaded: s.completed };
  }

  /**
   * Records an announce (BEP 3): adds, refreshes or (event `stopped`) removes the peer and
   * updates the counts. Refuses, with a reason fit for `failure reason`, torrents outside the
   * whitelist and new torrents or peers beyond the bounds.
   */
  announce(a: StateAnnounce): StateAnnounceResult {
    if (this.#isAllowed !== undefined && !this.#isAllowed(a.infoHashKey)) {
      return { ok: false, reason: "info_hash is not in this tracker's whitelist" };
    }
    const now = this.#clock();
    let swarm = this.#swarms.get(a.infoHashKey);
    const key: number | string =
      a.family === 4 ? a.ip4 * 65536 + a.port : peerKey6(a.ip6 ?? new Uint8Array(16), a.port);
    if (a.event === 'stopped') {
      if (swarm !== undefined) {
        const p = swarm.peers.get(key);
        if (p !== undefined) this.#remove(a.infoHashKey, swarm, p);
      }
      return { ok: true, counts: this.counts(a.infoHashKey) };
    }
    if (swarm === undefined) {
      if (this.#swarms.size >= this.#maxTorrents) return { ok: false, reason: 'tracker is full (torrents)' };
      swarm = new Swarm();
      this.#swarms.set(a.infoHashKey, swarm);
    }
    const isSeed = a.left === 0;
    let p = swarm.peers.get(key);
    if (p === undefined) {
      if (this.#peers >= this.#maxPeers) {
        if (swarm.peers.size === 0) this.#swarms.delete(a.infoHashKey);
        return { ok: false, reason: 'tracker is full (peers)' };
      }
      const list = a.family === 4 ? swarm.list4 : swarm.list6;
      p = {
        key,
        family: a.family,
        ip4: a.family === 4 ? a.ip4 : 0,
        ip6: a.family === 6 ? new Uint8Array(a.ip6 ?? new Uint8Array(16)) : EMPTY,
        port: a.port,
        peerId: a.peerId,
        isSeed,
        lastSeen: now,
        index: list.length,
        counted: false,
      };
      list.push(p);
      swarm.peers.set(key, p);
      this.#peers++;
      if (isSeed) {
        swarm.seeders++;
        this.#seeders++;
      } else swarm.leechers++;
    } else {
      p.lastSeen = now;
      // Stored only when it changed: a new young string referenced from a long-lived peer would
      // survive every scavenge (the common re-announce keeps its id).
      if (p.peerId !== a.peerId) p.peerId = a.peerId;
      if (p.isSeed !== isSeed) {
        p.isSeed = isSeed;
        const d = isSeed ? 1 : -1;
        swarm.seeders += d;
        swarm.leechers -= d;
        this.#seeders += d;
      }
    }
    if (a.event === 'completed' && !p.counted) {
      p.counted = true;
      swarm.completed++;
      this.#completed++;
    }
    return {
      ok: true,
      counts: { complete: swarm.seeders, incomplete: swarm.leechers, downloaded: swarm.completed },
    };
  }

  /**
   * Calls `visit` for up to `max` distinct peers of `family` in the torrent, chosen at random,
   * leaving out the requester (same family, address and port). Returns how many were visited.
   */
  sample(
    key: string,
    family: 4 | 6,
    max: number,
    requester: {
      readonly family: 4 | 6;
      readonly ip4: number;
      readonly ip6?: Uint8Array;
      readonly port: number;
    },
    visit: (p: TrackedPeer) => void,
  ): number {
    const swarm = this.#swarms.get(key);
    if (swarm === undefined || max <= 0) return 0;
    const list = family === 4 ? swarm.list4 : swarm.list6;
    const n = list.length;
    if (n === 0) return 0;
    let self = -1;
    if (requester.family === family) {
      const rk =
        family === 4 ? requester.ip4 * 65536 + requester.port : peerKey6(requester.ip6!, requester.port);
      const rp = swarm.peers.get(rk);
      if (rp !== undefined) self = rp.index;
    }
    const available = self >= 0 ? n - 1 : n;
    const want = Math.min(max, available);
    let start = 0;
    let stride = 1;
    if (want < available) {
      start = Math.floor(this.#random() * n);
      if (n > 2) {
        stride = 1 + Math.floor(this.#random() * (n - 1));
        while (gcd(stride, n) !== 1) stride = stride === n - 1 ? 1 : stride + 1;
      }
    }
    let got = 0;
    for (let k = 0, i = start; k < n && got < want; k++, i = (i + stride) % n) {
      if (i === self) continue;
      visit(list[i]!);
      got++;
    }
    return got;
  }

  /** Drops every peer not heard from within the peer timeout. Returns how many were dropped. */
  expire(): number {
    const cutoff = this.#clock() - this.#timeoutMs;
    let dropped = 0;
    for (const [key, swarm] of this.#swarms) {
      for (const list of [swarm.list4, swarm.list6]) {
        // Backwards, so the swap-with-last of a removal only moves already-checked peers.
        for (let i = list.length - 1; i >= 0; i--) {
          const p = list[i];
          if (p === undefined || p.lastSeen > cutoff) continue;
          this.#remove(key, swarm, p);
          dropped++;
        }
      }
    }
    return dropped;
  }

  #remove(key: string, swarm: Swarm, p: Peer): void {
    swarm.peers.delete(p.key);
    const list = p.family === 4 ? swarm.list4 : swarm.list6;
    const last = list.pop()!;
    if (last !== p) {
      list[p.index] = last;
      last.index = p.index;
    }
    this.#peers--;
    if (p.isSeed) {
      swarm.seeders--;
      this.#seeders--;
    } else swarm.leechers--;
    if (swarm.peers.size === 0) this.#swarms.delete(key);
  }
}

const EMPTY = new Uint8Array(0);

function peerKey6(ip6: Uint8Array, port: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += String.fromCharCode(ip6[i]!);
  return s + String.fromCharCode(port >>> 8, port & 255);
}
