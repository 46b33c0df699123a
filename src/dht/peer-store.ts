/**
 * Peers announced to us with `announce_peer` (BEP 5), per info-hash, with expiry.
 *
 * Bounded three ways: `MAX_DHT_INFOHASHES` info-hashes, `MAX_DHT_PEERS_PER_INFOHASH` peers per
 * info-hash (a new peer evicts the longest-unrefreshed one) and `MAX_DHT_STORED_PEERS` in all
 * (announces beyond it are refused). A peer not re-announced within the TTL (30 minutes) is
 * forgotten. No BEP 33 scrape or seed flags: only the plain BEP 5 store.
 */
import { MAX_DHT_INFOHASHES, MAX_DHT_PEERS_PER_INFOHASH, MAX_DHT_STORED_PEERS } from '../shared/limits.js';
import { type Address, addressFromKey, bytesToBinary } from './address.js';
import { DHT_PEER_TTL_MS } from './constants.js';
import type { Random } from './random.js';

/** Tunables of a peer store; every field has a default. */
export interface PeerStoreInit {
  /** A peer is forgotten this long after its last announce, in ms. @default DHT_PEER_TTL_MS */
  readonly ttlMs?: number;
  /** @default MAX_DHT_INFOHASHES */
  readonly maxInfoHashes?: number;
  /** @default MAX_DHT_PEERS_PER_INFOHASH */
  readonly maxPeersPerInfoHash?: number;
  /** @default MAX_DHT_STORED_PEERS */
  readonly maxPeers?: number;
}

/** The announced peers a node stores for others. */
export class PeerStore {
  readonly #ttlMs: number;
  readonly #maxInfoHashes: number;
  readonly #maxPerHash: number;
  readonly #maxPeers: number;
  /** info-hash → (compact peer → expiry), each inner map oldest announce first. */
  readonly #byHash = new Map<string, Map<string, number>>();
  #count = 0;

  constructor(init: PeerStoreInit = {}) {
    this.#ttlMs = init.ttlMs ?? DHT_PEER_TTL_MS;
    this.#maxInfoHashes = init.maxInfoHashes ?? MAX_DHT_INFOHASHES;
    this.#maxPerHash = init.maxPeersPerInfoHash ?? MAX_DHT_PEERS_PER_INFOHASH;
    this.#maxPeers = init.maxPeers ?? MAX_DHT_STORED_PEERS;
  }

  /** Peers stored over all info-hashes. */
  get size(): number {
    return this.#count;
  }

  /** Info-hashes with at least one stored peer. */
  get infoHashCount(): number {
    return this.#byHash.size;
  }

  /**
   * Stores (or refreshes) `peer` (6 or 18 compact bytes) for `infoHash`. Returns false when a
   * bound refuses it.
   */
  announce(infoHash: Uint8Array, peer: Uint8Array, now: number): boolean {
    const hashKey = bytesToBinary(infoHash);
    const peerKey = bytesToBinary(peer);
    let peers = this.#byHash.get(hashKey);
    if (peers === undefined) {
      if (this.#byHash.size >= this.#maxInfoHashes || this.#count >= this.#maxPeers) return false;
      peers = new Map();
      this.#byHash.set(hashKey, peers);
    }
    if (peers.delete(peerKey)) this.#count--;
    else if (peers.size >= this.#maxPerHash) {
      const oldest = peers.keys().next().value as string;
      peers.delete(oldest);
      this.#count--;
    } else if (this.#count >= this.#maxPeers) {
      if (peers.size === 0) this.#byHash.delete(hashKey);
      return false;
    }
    peers.set(peerKey, now + this.#ttlMs);
    this.#count++;
    return true;
  }

  /**
   * Up to `max` live peers for `infoHash` whose compact form is `compactBytes` long (6 for IPv4,
   * 18 for IPv6, BEP 32), a uniformly random sample when there are more.
   */
  get(infoHash: Uint8Array, max: number, compactBytes: number, random: Random, now: number): Address[] {
    const peers = this.#byHash.get(bytesToBinary(infoHash));
    if (peers === undefined) return [];
    const live: string[] = [];
    for (const [k, expires] of peers) if (expires > now && k.length === compactBytes) live.push(k);
    const n = Math.min(max, live.length);
    for (let i = 0; i < n; i++) {
      const j = i + random.int(live.length - i);
      const t = live[i]!;
      live[i] = live[j]!;
      live[j] = t;
    }
    return live.slice(0, n).map(addressFromKey);
  }

  /** Forgets expired peers and empty info-hashes. */
  purge(now: number): void {
    for (const [hash, peers] of this.#byHash) {
      for (const [k, expires] of peers) {
        if (expires <= now) {
          peers.delete(k);
          this.#count--;
        }
      }
      if (peers.size === 0) this.#byHash.delete(hash);
    }
  }
}
