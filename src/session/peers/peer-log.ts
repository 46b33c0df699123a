/**
 * A torrent's recent peer events, for users who want to know why a download stalls: connects,
 * disconnects, refusals, hash failures and bans, each with its reason. Bounded: the oldest
 * entries go first once {@link MAX_PEER_LOG_ENTRIES} are kept.
 */
import { MAX_PEER_LOG_ENTRIES } from '../../shared/limits.js';

export type PeerLogType = 'connected' | 'disconnected' | 'refused' | 'hash-failed' | 'banned' | 'holepunch';

/** One entry of a torrent's peer log. */
export interface PeerLogEntry {
  /** Wall-clock time, ms since the epoch. */
  readonly at: number;
  readonly type: PeerLogType;
  /** `host:port` of the peer, or the address alone for a ban. */
  readonly address: string;
  /** Why (a disconnect or refusal reason, the ban's evidence, the failed piece). */
  readonly reason?: string;
  readonly client?: string;
  readonly transport?: string;
  readonly encrypted?: boolean;
}

export class PeerLog {
  readonly #entries: PeerLogEntry[] = [];
  #start = 0;
  #dropped = 0;

  add(entry: Omit<PeerLogEntry, 'at'>): PeerLogEntry {
    const e: PeerLogEntry = { at: Date.now(), ...entry };
    if (this.#entries.length < MAX_PEER_LOG_ENTRIES) this.#entries.push(e);
    else {
      this.#entries[this.#start] = e;
      this.#start = (this.#start + 1) % MAX_PEER_LOG_ENTRIES;
      this.#dropped++;
    }
    return e;
  }

  /** The entries, oldest first. */
  entries(): PeerLogEntry[] {
    return [...this.#entries.slice(this.#start), ...this.#entries.slice(0, this.#start)];
  }

  /** Entries pushed out by newer ones. */
  get dropped(): number {
    return this.#dropped;
  }
}
