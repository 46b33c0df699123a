/**
 * The BEP 10 extensions of one torrent: gives each a message id (1, 2, … in registration
 * order), builds the `m` dictionary of our extended handshake, remembers each peer's ids from
 * its handshake, and routes `extended` messages to their extension. A new extension is a file
 * plus an entry in {@link BUILTIN_EXTENSIONS} (or `SessionOptions.extensions`): nothing else
 * changes.
 */
import type { PeerKey } from '../../engine/index.js';
import type { AddressHints } from '../../net/peer-pool.js';
import type { CompactPeer, ExtendedHandshake } from '../../wire/index.js';
import type { ExtensionFactory, ExtensionHost, ExtensionPeer, TorrentExtension } from './extension.js';
import { utHolepunch } from './ut-holepunch.js';
import { utMetadata } from './ut-metadata.js';
import { utPex } from './ut-pex.js';

/** The extensions every torrent speaks, in id order (ut_metadata is 1, ut_pex 2, ut_holepunch 3). */
export const BUILTIN_EXTENSIONS: readonly ExtensionFactory[] = [utMetadata, utPex, utHolepunch];

/** A connected peer as the registry needs it: how to send an `extended` message. */
export interface RegistryPeer extends Omit<ExtensionPeer, 'remoteId' | 'send'> {
  sendExtended(extId: number, payload: Uint8Array): boolean;
}

interface Entry {
  readonly localId: number;
  readonly ext: TorrentExtension;
}

export class ExtensionRegistry {
  readonly #entries: Entry[] = [];
  readonly #byLocalId = new Map<number, Entry>();
  /** Per peer: extension name → the peer's id for it, and the views handed to extensions. */
  readonly #remote = new Map<PeerKey, Map<string, ExtensionPeer>>();

  constructor(host: ExtensionHost, factories: readonly ExtensionFactory[]) {
    for (const make of factories) {
      const ext = make(host);
      if (ext === undefined || this.#entries.some((e) => e.ext.name === ext.name)) continue;
      const entry = { localId: this.#entries.length + 1, ext };
      this.#entries.push(entry);
      this.#byLocalId.set(entry.localId, entry);
    }
  }

  /** Names of the active extensions, in id order. */
  get names(): string[] {
    return this.#entries.map((e) => e.ext.name);
  }

  /** The `m` dictionary and extra fields of our extended handshake. */
  handshake(): Pick<ExtendedHandshake, 'extensions'> & Partial<ExtendedHandshake> {
    let fields: Partial<ExtendedHandshake> = {};
    for (const e of this.#entries) fields = { ...fields, ...e.ext.handshakeFields?.() };
    return { ...fields, extensions: new Map(this.#entries.map((e) => [e.ext.name, e.localId])) };
  }

  /** The peer's extended handshake arrived: records its ids and tells the extensions it names. */
  onPeerHandshake(peer: RegistryPeer, hs: ExtendedHandshake, now: number): void {
    let views = this.#remote.get(peer.key);
    if (views === undefined) {
      views = new Map();
      this.#remote.set(peer.key, views);
    }
    for (const e of this.#entries) {
      const id = hs.extensions.get(e.ext.name);
      if (id === undefined) continue; // BEP 10: later handshakes only change what they name
      if (id === 0) {
        views.delete(e.ext.name);
        continue;
      }
      const known = views.get(e.ext.name);
      const view = viewOf(peer, id);
      views.set(e.ext.name, view);
      if (known === undefined) e.ext.onPeerSupports?.(view, now);
    }
  }

  /**
   * An `extended` message for our id `extId` (not 0). Extensions throw typed errors for
   * malformed payloads: the caller closes the connection.
   */
  onMessage(peer: RegistryPeer, extId: number, payload: Uint8Array, now: number): void {
    const e = this.#byLocalId.get(extId);
    if (e === undefined) return; // an id we never gave out: ignored, as BEP 10 lets us
    const view = this.#remote.get(peer.key)?.get(e.ext.name) ?? viewOf(peer, undefined);
    e.ext.onMessage(view, payload, now);
  }

  /** Housekeeping: every extension's tick for every peer that supports it. */
  tick(now: number): void {
    for (const views of this.#remote.values()) {
      for (const e of this.#entries) {
        const v = views.get(e.ext.name);
        if (v !== undefined) e.ext.onTick?.(v, now);
      }
    }
  }

  /** Whether the peer `key` named extension `name` (one of ours) in its extended handshake. */
  supports(key: PeerKey, name: string): boolean {
    return this.#remote.get(key)?.has(name) === true;
  }

  /** A dial failed: every extension hears of it. */
  onDialFailed(addr: CompactPeer, hints: Readonly<AddressHints>, now: number): void {
    for (const e of this.#entries) e.ext.onDialFailed?.(addr, hints, now);
  }

  /** The peer's connection closed. */
  onPeerClosed(peer: RegistryPeer): void {
    const views = this.#remote.get(peer.key);
    this.#remote.delete(peer.key);
    for (const e of this.#entries) e.ext.onPeerClosed?.(views?.get(e.ext.name) ?? viewOf(peer, undefined));
  }
}

function viewOf(peer: RegistryPeer, remoteId: number | undefined): ExtensionPeer {
  return {
    key: peer.key,
    get remoteAddress() {
      return peer.remoteAddress;
    },
    get remotePort() {
      return peer.remotePort;
    },
    get outgoing() {
      return peer.outgoing;
    },
    get listenPort() {
      return peer.listenPort;
    },
    get transport() {
      return peer.transport;
    },
    get encrypted() {
      return peer.encrypted;
    },
    remoteId,
    send: (payload) => (remoteId === undefined ? false : peer.sendExtended(remoteId, payload)),
    close: (reason, error) => peer.close(reason, error),
  };
}
