/**
 * BEP 11 `ut_pex`: peer exchange. Every minute each supporting peer gets the diff of our
 * connected peers' listen addresses since what we last told it; what peers tell us goes to the
 * torrent's peer pool as the weakest source (a flood cannot push out better addresses, see
 * PeerPool). Never on private torrents (BEP 27).
 */
import type { PeerKey } from '../../engine/index.js';
import { decodeUtPex, ExtensionName, encodeUtPex, PexFlag, type PexPeer } from '../../wire/index.js';
import type { ExtensionFactory, ExtensionPeer } from './extension.js';

/** BEP 11: at most one PEX message per peer per minute. */
export const PEX_INTERVAL_MS = 60_000;
/** BEP 11: added / dropped entries per PEX message we send. */
export const PEX_MAX_PEERS = 50;

interface PexState {
  /** Addresses we told this peer about. */
  readonly sent: Set<string>;
  /** When we last sent. */
  at: number | undefined;
  /** When it last sent us PEX (to ignore floods). */
  receivedAt: number | undefined;
}

export const utPex: ExtensionFactory = (host) => {
  if (host.metainfo.isPrivate) return undefined;
  const state = new Map<PeerKey, PexState>();
  const stateOf = (key: PeerKey): PexState => {
    let s = state.get(key);
    if (s === undefined) {
      s = { sent: new Set(), at: undefined, receivedAt: undefined };
      state.set(key, s);
    }
    return s;
  };

  /** The addresses other peers could dial, with their BEP 11 flags. */
  const current = (): Map<string, PexPeer> => {
    const out = new Map<string, PexPeer>();
    for (const p of host.peers()) {
      if (p.listenPort === undefined) continue;
      const family = p.remoteAddress.includes(':') ? 6 : 4;
      const flags =
        (host.isSeed(p.key) ? PexFlag.Seed : 0) |
        (p.outgoing ? PexFlag.Reachable : 0) |
        (p.encrypted ? PexFlag.PrefersEncryption : 0) |
        (p.transport === 'utp' ? PexFlag.SupportsUtp : 0) |
        (host.supports(p.key, ExtensionName.UtHolepunch) ? PexFlag.SupportsHolepunch : 0);
      out.set(`${p.remoteAddress}:${p.listenPort}`, {
        host: p.remoteAddress,
        port: p.listenPort,
        family,
        flags,
      });
    }
    return out;
  };

  /** Sends a PEX diff to one peer if its minute is up. */
  const sendTo = (peer: ExtensionPeer, now: number): void => {
    const s = stateOf(peer.key);
    if (s.at !== undefined && now - s.at < PEX_INTERVAL_MS) return;
    const now_ = current();
    now_.delete(`${peer.remoteAddress}:${peer.listenPort}`);
    const added: PexPeer[] = [];
    const dropped: PexPeer[] = [];
    for (const [k, v] of now_) if (!s.sent.has(k) && added.length < PEX_MAX_PEERS) added.push(v);
    for (const k of s.sent) {
      if (now_.has(k) || dropped.length >= PEX_MAX_PEERS) continue;
      const i = k.lastIndexOf(':');
      const h = k.slice(0, i);
      dropped.push({ host: h, port: Number(k.slice(i + 1)), family: h.includes(':') ? 6 : 4, flags: 0 });
    }
    if (added.length === 0 && dropped.length === 0 && s.at !== undefined) return;
    for (const a of added) s.sent.add(`${a.host}:${a.port}`);
    for (const d of dropped) s.sent.delete(`${d.host}:${d.port}`);
    s.at = now;
    peer.send(encodeUtPex({ added, dropped }));
  };

  return {
    name: ExtensionName.UtPex,
    onPeerSupports: sendTo,
    onTick: sendTo,
    onMessage(peer, payload, now) {
      const s = stateOf(peer.key);
      // BEP 11 peers send at most once a minute; ignore anything faster than half that.
      if (s.receivedAt !== undefined && now - s.receivedAt < PEX_INTERVAL_MS / 2) return;
      s.receivedAt = now;
      const msg = decodeUtPex(payload);
      for (const p of msg.added) {
        host.addPeer(p.host, p.port, 'pex', {
          prefersEncryption: (p.flags & PexFlag.PrefersEncryption) !== 0,
          supportsUtp: (p.flags & PexFlag.SupportsUtp) !== 0,
          // BEP 55: the peer that told us about a holepunch-capable address can introduce us.
          ...((p.flags & PexFlag.SupportsHolepunch) !== 0
            ? { supportsHolepunch: true, pexFrom: peer.key }
            : {}),
        });
      }
    },
    onPeerClosed(peer) {
      state.delete(peer.key);
    },
  };
};
