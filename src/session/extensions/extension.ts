/**
 * The contract of a BEP 10 extension of a torrent's connections. An extension is one file plus
 * one entry in {@link BUILTIN_EXTENSIONS} (or a factory given in `SessionOptions.extensions`):
 * the registry gives it a message id, puts its name in our extended handshake, tells it which
 * peers support it, and hands it the payloads sent to its id. It never sees the engine or the
 * sockets: what it may do to the torrent is {@link ExtensionHost}.
 */
import type { PeerKey } from '../../engine/index.js';
import type { Metainfo } from '../../metainfo/index.js';
import type { AddressHints, PeerSource } from '../../net/peer-pool.js';
import type { TransportKind } from '../../net/transport.js';
import type { CompactPeer, ExtendedHandshake } from '../../wire/index.js';

/** What an extension may read of any connected peer. */
export interface PeerView {
  readonly key: PeerKey;
  /** The peer's IP address. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** We dialled it. */
  readonly outgoing: boolean;
  /** The port it listens on (its extended handshake's `p`, or the one we dialled). */
  readonly listenPort: number | undefined;
  readonly transport: TransportKind;
  readonly encrypted: boolean;
}

/** One connected peer as an extension sees it. */
export interface ExtensionPeer extends PeerView {
  /** The peer's message id for this extension, once it said it supports it. */
  readonly remoteId: number | undefined;
  /** Sends `payload` as this extension's message; false when the peer does not support it. */
  send(payload: Uint8Array): boolean;
  /** Closes the connection for a protocol error. */
  close(reason: string, error: Error): void;
}

/** What an extension may ask of its torrent. */
export interface ExtensionHost {
  readonly metainfo: Metainfo;
  /** Adds an address to the torrent's peer pool. */
  addPeer(host: string, port: number, source: PeerSource, hints?: AddressHints): void;
  /** Whether the peer is a seed, as far as we know. */
  isSeed(key: PeerKey): boolean;
  /** The connected peers (for PEX). */
  peers(): Iterable<PeerView>;
  /** Whether the connected peer `key` named extension `name` in its extended handshake. */
  supports(key: PeerKey, name: string): boolean;
  /** Whether `host:port` is this node's own listening endpoint. */
  isSelf(host: string, port: number): boolean;
  /** Dials `host:port` over uTP now, whatever its back-off (BEP 55 `connect`). */
  holepunch(host: string, port: number): void;
  /** Adds an extension's note about `address` to the torrent's peer log. */
  log(address: string, reason: string): void;
}

/** One extension of one torrent. */
export interface TorrentExtension {
  /** The name in the `m` dictionary (BEP 10), e.g. `ut_pex`. */
  readonly name: string;
  /** Fields this extension adds to our extended handshake (e.g. `metadata_size`). */
  handshakeFields?(): Partial<ExtendedHandshake>;
  /** The peer's extended handshake named this extension. */
  onPeerSupports?(peer: ExtensionPeer, now: number): void;
  /** A payload arrived for our id. Throws (a typed error) on a malformed payload. */
  onMessage(peer: ExtensionPeer, payload: Uint8Array, now: number): void;
  /** Called about once a second per peer that supports the extension. */
  onTick?(peer: ExtensionPeer, now: number): void;
  /** The peer's connection closed. */
  onPeerClosed?(peer: ExtensionPeer): void;
  /** A dial to `addr` failed (it had these hints). */
  onDialFailed?(addr: CompactPeer, hints: Readonly<AddressHints>, now: number): void;
}

/** Makes a torrent's instance of an extension; undefined when it does not apply (e.g. PEX on a private torrent). */
export type ExtensionFactory = (host: ExtensionHost) => TorrentExtension | undefined;
