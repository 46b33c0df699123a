/**
 * The data model of tracker exchanges (BEP 3, BEP 7, BEP 15, BEP 23, BEP 48), shared by the
 * tracker clients of `src/discovery/` and the tracker server of `src/tracker/`.
 */
import type { PeerAddress } from '../metainfo/index.js';

/** BEP 3 announce `event`; `none` is a regular re-announce (UDP event 0, HTTP: no parameter). */
export type TrackerEvent = 'none' | 'completed' | 'started' | 'stopped';

/** A peer address learned from a tracker. `host` is a dotted IPv4 or an RFC 5952 IPv6 text. */
export interface TrackerPeer extends PeerAddress {
  readonly family: 4 | 6;
  /** The peer's id, when the tracker sent a non-compact (dictionary) peer list (BEP 3). */
  readonly peerId?: Uint8Array;
}

/** What a client announces (BEP 3 §Trackers, BEP 15 §Announce). */
export interface AnnounceRequest {
  /** 20-byte info-hash (a v2 hash truncated to 20 bytes, BEP 52). */
  readonly infoHash: Uint8Array;
  /** 20-byte peer id. */
  readonly peerId: Uint8Array;
  /** TCP port the client listens on. */
  readonly port: number;
  /** Payload bytes uploaded since `started`. */
  readonly uploaded: number;
  /** Payload bytes downloaded since `started`. */
  readonly downloaded: number;
  /** Bytes still missing; 0 means seeder. */
  readonly left: number;
  readonly event: TrackerEvent;
  /** Peers wanted; omitted means the tracker's default (UDP sends -1). */
  readonly numwant?: number;
  /** Random 32-bit value that stays the same for the torrent's lifetime, so a tracker can match announces from a changing IP. */
  readonly key?: number;
  /** The `tracker id` a previous reply of this tracker gave (BEP 3, HTTP only). */
  readonly trackerId?: Uint8Array;
}

/** A tracker's answer to an announce. */
export interface AnnounceResponse {
  /** Seconds to wait before the next regular announce, as the tracker said (unclamped). */
  readonly interval: number;
  /** Seconds a client must wait between forced announces (BEP 3 extension, HTTP only). */
  readonly minInterval?: number;
  /** Opaque id to echo in later announces to this tracker (HTTP only). */
  readonly trackerId?: Uint8Array;
  /** Seeders in the swarm, when the tracker says. */
  readonly complete?: number;
  /** Leechers in the swarm, when the tracker says. */
  readonly incomplete?: number;
  /** IPv4 and IPv6 peers, at most MAX_TRACKER_PEERS_PER_RESPONSE. */
  readonly peers: readonly TrackerPeer[];
  /** A `warning message` the tracker sent with an otherwise valid reply. */
  readonly warning?: string;
}

/** One torrent's counts from a scrape (BEP 48, BEP 15). */
export interface ScrapeEntry {
  readonly infoHash: Uint8Array;
  /** Seeders. */
  readonly complete: number;
  /** Completed downloads ever reported. */
  readonly downloaded: number;
  /** Leechers. */
  readonly incomplete: number;
}
