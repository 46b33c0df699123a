/**
 * Requests to peers as promises. Bitcoin P2P answers are not tagged, but each kind names what it
 * answers (a `cfheaders` its stop hash, a `block` its hash), so a request is keyed by that
 * (`cfheaders:<stop hash>`, `block:<hash>`) and the message router resolves it. The peer's
 * deadline ({@link BtcPeer.expect}) closes a peer that does not answer; closing rejects every
 * request still waiting on it, so callers retry elsewhere.
 */
import { BtcError } from '../bitcoin/index.js';
import { ErrorCode } from '../shared/errors.js';
import type { BtcPeer } from './peer.js';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** Requests in flight, per peer. */
export class PeerRequests {
  readonly #byPeer = new Map<BtcPeer, Map<string, Pending>>();

  /**
   * Sends a request (`send` is called once) and resolves with what {@link resolve} is given for
   * `key`. Rejects with `BtcPeerClosed` when the peer goes first. A second request with the same
   * key on the same peer shares the first one's answer.
   */
  request<T>(peer: BtcPeer, key: string, send: () => void): Promise<T> {
    if (peer.isClosed)
      return Promise.reject(new BtcError(ErrorCode.BtcPeerClosed, `peer ${peer.endpoint} is closed`));
    let map = this.#byPeer.get(peer);
    if (map === undefined) {
      map = new Map();
      this.#byPeer.set(peer, map);
    }
    const m = map;
    return new Promise<T>((resolve, reject) => {
      const existing = m.get(key);
      if (existing !== undefined) {
        m.set(key, {
          resolve: (v) => {
            existing.resolve(v);
            resolve(v as T);
          },
          reject: (e) => {
            existing.reject(e);
            reject(e);
          },
        });
        return;
      }
      m.set(key, { resolve: (v) => resolve(v as T), reject });
      peer.expect(key);
      send();
    });
  }

  /** True while `key` is awaited from `peer`. */
  has(peer: BtcPeer, key: string): boolean {
    return this.#byPeer.get(peer)?.has(key) === true;
  }

  /** Keys awaited from `peer`. */
  keys(peer: BtcPeer): string[] {
    return [...(this.#byPeer.get(peer)?.keys() ?? [])];
  }

  /** Requests in flight to `peer`. */
  count(peer: BtcPeer): number {
    return this.#byPeer.get(peer)?.size ?? 0;
  }

  /** Delivers the answer to `key`; false when nothing waited for it (an unsolicited message). */
  resolve(peer: BtcPeer, key: string, value: unknown): boolean {
    const map = this.#byPeer.get(peer);
    const p = map?.get(key);
    if (p === undefined) return false;
    map!.delete(key);
    peer.fulfil(key);
    p.resolve(value);
    return true;
  }

  /** Fails the request `key` (a `notfound`, an answer that does not check out). */
  reject(peer: BtcPeer, key: string, error: Error): boolean {
    const map = this.#byPeer.get(peer);
    const p = map?.get(key);
    if (p === undefined) return false;
    map!.delete(key);
    peer.fulfil(key);
    p.reject(error);
    return true;
  }

  /** The peer closed: every request on it fails. */
  closed(peer: BtcPeer, reason: string): void {
    const map = this.#byPeer.get(peer);
    this.#byPeer.delete(peer);
    if (map === undefined) return;
    const error = new BtcError(ErrorCode.BtcPeerClosed, `peer ${peer.endpoint} closed: ${reason}`);
    for (const p of map.values()) p.reject(error);
  }

  /** Fails everything (the node is closing). */
  closeAll(reason: string): void {
    for (const peer of [...this.#byPeer.keys()]) this.closed(peer, reason);
  }
}
