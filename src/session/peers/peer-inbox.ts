/**
 * What a torrent does with the messages of an attached connection: BEP 10 traffic goes to the
 * extension registry (the extended handshake also to the engine, for `reqq`), BEP 5 `port` to
 * the DHT, BEP 52 hash messages to the torrent's v2 hashes, and everything else to the engine.
 * A malformed extended handshake closes that connection (`protocol-error`) and nothing else.
 */
import { decodeExtendedHandshake, EXTENDED_HANDSHAKE_ID, type WireMessage } from '../../wire/index.js';
import type { SessionContext } from '../context.js';
import type { ExtensionRegistry } from '../extensions/registry.js';
import type { LivePeer, TorrentPeersHost } from './torrent-peers.js';

/** The parts of a torrent's connections that incoming messages reach. */
export interface PeerInbox {
  readonly host: TorrentPeersHost;
  readonly ctx: SessionContext;
  readonly registry: ExtensionRegistry;
  /** The peer is still attached (a message before may have closed it). */
  isAttached(peer: LivePeer): boolean;
}

/** Hands a batch of decoded messages from `peer` to where each belongs. */
export function deliverMessages(inbox: PeerInbox, peer: LivePeer, msgs: readonly WireMessage[]): void {
  const { host, ctx } = inbox;
  if (host.isClosed()) return;
  const now = ctx.now();
  for (const msg of msgs) {
    if (!inbox.isAttached(peer)) return;
    switch (msg.type) {
      case 'extended':
        onExtended(inbox, peer, msg.extId, msg.payload, now);
        break;
      case 'port':
        // BEP 5: the peer's DHT node listens on this UDP port.
        if (ctx.dht !== undefined && !host.metainfo.isPrivate)
          ctx.dht.addNode(peer.conn.remoteAddress, msg.port);
        break;
      case 'hash-request':
      case 'hashes':
      case 'hash-reject':
        host.onHashMessage(peer, msg);
        break;
      default:
        host.run(host.engine.onMessage(peer.key, msg, now));
    }
  }
}

function onExtended(inbox: PeerInbox, peer: LivePeer, extId: number, payload: Uint8Array, now: number): void {
  try {
    if (extId !== EXTENDED_HANDSHAKE_ID) {
      inbox.registry.onMessage(peer, extId, payload, now);
      return;
    }
    const hs = decodeExtendedHandshake(payload);
    if (hs.port !== undefined && hs.port > 0 && !peer.conn.outgoing && peer.conn.transport !== 'webrtc')
      peer.listenPort = hs.port;
    if (hs.client !== undefined && peer.client === undefined) peer.client = hs.client;
    if (hs.yourIp !== undefined) inbox.ctx.network?.vote(peer.conn.remoteAddress, hs.yourIp);
    inbox.registry.onPeerHandshake(peer, hs, now);
    const { host } = inbox;
    host.run(host.engine.onExtendedHandshake(peer.key, hs.reqq === undefined ? {} : { reqq: hs.reqq }, now));
  } catch (e) {
    peer.conn.close('protocol-error', e instanceof Error ? e : new Error(String(e)));
  }
}
