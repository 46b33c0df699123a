/**
 * BitTorrent on the inbound stage: recognizes the plaintext handshake's first bytes
 * (`\x13BitTorrent protocol`, BEP 3), makes the connection, and routes it by the info-hash of the
 * peer's handshake to its torrent.
 */
import type { InboundProtocol, Recognition } from '../../net/inbound.js';
import type { Handshake } from '../../wire/index.js';
import { PeerConnection } from './peer-connection.js';

/** The first 20 bytes of every plaintext BitTorrent handshake. */
const PROTOCOL_PREFIX = new Uint8Array(Buffer.from('\x13BitTorrent protocol', 'latin1'));

/** Whether `head` starts a plaintext BitTorrent handshake. */
export function recognizeBitTorrent(head: Uint8Array): Recognition {
  const n = Math.min(head.length, PROTOCOL_PREFIX.length);
  for (let i = 0; i < n; i++) if (head[i] !== PROTOCOL_PREFIX[i]) return 'no';
  return n === PROTOCOL_PREFIX.length ? 'yes' : 'more';
}

/** Where an incoming connection goes once its handshake named an info-hash. */
export interface IncomingTarget {
  acceptIncoming(conn: PeerConnection, h: Handshake): boolean;
}

export interface BitTorrentInboundInit {
  readonly handshakeTimeoutMs: number;
  /** The torrent with this 20-byte wire info-hash, if any. */
  torrentFor(infoHash: Uint8Array): IncomingTarget | undefined;
}

/** Makes a connection of an accepted stream whose first bytes are `head`, routed by info-hash. */
export function acceptBitTorrent(
  init: BitTorrentInboundInit,
  stream: ConstructorParameters<typeof PeerConnection>[0]['stream'],
  head: Uint8Array,
  encrypted = false,
): PeerConnection {
  const conn: PeerConnection = new PeerConnection({
    stream,
    encrypted,
    handshakeTimeoutMs: init.handshakeTimeoutMs,
    handlers: {
      onHandshake: (h) => init.torrentFor(h.infoHash)?.acceptIncoming(conn, h) ?? false,
      onMessages: () => {},
      onClose: () => {},
    },
  });
  conn.feed(head);
  return conn;
}

/** The plaintext BitTorrent protocol of the inbound stage. */
export function plaintextBitTorrent(init: BitTorrentInboundInit): InboundProtocol {
  return {
    name: 'bittorrent',
    recognize: recognizeBitTorrent,
    take: (stream, head) => {
      acceptBitTorrent(init, stream, head);
    },
  };
}
