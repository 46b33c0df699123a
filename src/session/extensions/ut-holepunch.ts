/**
 * BEP 55 `ut_holepunch`: holepunching through NATs, as relay and as peer.
 *
 * DEV DOCS
 * - Relay: a supporting peer P sends `rendezvous(X)`. When X is a connected peer that supports
 *   the extension too, both get a `connect`: P with X's endpoint, X with P's; otherwise P gets
 *   an `error` (NoSelf, NoSuchPeer when X is P itself, NotConnected, NoSupport). What a relay
 *   forwards is bounded per peer ({@link HOLEPUNCH_RELAY_PER_PEER}) and for the torrent
 *   ({@link HOLEPUNCH_RELAY_TOTAL}) per {@link HOLEPUNCH_WINDOW_MS}: a flood past them is
 *   dropped unanswered, so a relay never sends more than three messages per request it admits.
 * - Peer: a dial that failed to an address PEX said supports holepunching (BEP 11 flag 0x08)
 *   becomes a `rendezvous` to the peer that told us about it, or to any supporting peer, at most
 *   once per {@link HOLEPUNCH_RETRY_MS} per address and {@link HOLEPUNCH_RENDEZVOUS} per window.
 *   A `connect` starts a uTP dial to its endpoint at once ({@link ExtensionHost.holepunch}); the
 *   other side dials us at the same moment, so each NAT has seen an outgoing packet when the
 *   other's arrives. Both dials may succeed: the torrent keeps one connection per peer id.
 *   A `connect` is a dial to an address someone else chose: at most {@link HOLEPUNCH_CONNECTS}
 *   per window are acted on, and never one from a peer that did not announce the extension.
 * - An endpoint is the address a peer can be reached at over UDP: the remote port of a uTP
 *   connection (its NAT's mapping of its uTP socket), else its listen port (a NAT that keeps
 *   ports maps the uTP socket, bound to the listen port, to the same number).
 * - Messages from a peer that did not announce `ut_holepunch` are ignored (BEP 55).
 */
import type { PeerKey } from '../../engine/index.js';
import {
  HOLEPUNCH_CONNECTS,
  HOLEPUNCH_RELAY_PER_PEER,
  HOLEPUNCH_RELAY_TOTAL,
  HOLEPUNCH_RENDEZVOUS,
  HOLEPUNCH_RETRY_MS,
  HOLEPUNCH_WINDOW_MS,
  MAX_HOLEPUNCH_TARGETS,
} from '../../shared/limits.js';
import {
  type CompactPeer,
  decodeUtHolepunch,
  ExtensionName,
  encodeUtHolepunch,
  HolepunchErrorCode,
} from '../../wire/index.js';
import type { ExtensionFactory, ExtensionPeer, PeerView } from './extension.js';

/** Counts events in fixed windows of {@link HOLEPUNCH_WINDOW_MS}. */
class WindowCount {
  #start = Number.NEGATIVE_INFINITY;
  #count = 0;
  constructor(readonly max: number) {}
  /** Takes one event at `now`: false when the window's budget is spent. */
  take(now: number): boolean {
    if (now - this.#start >= HOLEPUNCH_WINDOW_MS) {
      this.#start = now;
      this.#count = 0;
    }
    if (this.#count >= this.max) return false;
    this.#count++;
    return true;
  }
}

/** What one torrent's holepunching did, for tests and status. */
export interface HolepunchStats {
  /** `rendezvous` requests forwarded as two `connect`s. */
  relayed: number;
  /** `rendezvous` requests answered with an `error`. */
  refused: number;
  /** `rendezvous` requests dropped by the relay limits. */
  dropped: number;
  /** `rendezvous` requests we sent. */
  asked: number;
  /** `connect` messages acted on (uTP dials started). */
  punched: number;
  /** `connect` messages ignored (limit, already connected, ourselves). */
  ignored: number;
  /** `error` answers received. */
  errors: number;
  /** Addresses remembered as asked about (at most {@link MAX_HOLEPUNCH_TARGETS}). */
  remembered: number;
}

/** The endpoint a peer is reachable at over UDP (see the module notes). */
export function udpEndpoint(p: PeerView): CompactPeer {
  const port = p.transport === 'utp' ? p.remotePort : (p.listenPort ?? p.remotePort);
  return { host: p.remoteAddress, port, family: p.remoteAddress.includes(':') ? 6 : 4 };
}

/** Whether `p` is the peer at `addr` (by its address and its listen or remote port). */
function isAt(p: PeerView, addr: CompactPeer): boolean {
  return p.remoteAddress === addr.host && (p.listenPort === addr.port || p.remotePort === addr.port);
}

/**
 * The `ut_holepunch` extension; `stats` (optional) receives its counters. Not on private
 * torrents: it introduces peers to each other, which BEP 27 leaves to the tracker.
 */
export function utHolepunchWith(stats?: HolepunchStats): ExtensionFactory {
  return (host) => {
    if (host.metainfo.isPrivate) return undefined;
    const s: HolepunchStats = stats ?? {
      relayed: 0,
      refused: 0,
      dropped: 0,
      asked: 0,
      punched: 0,
      ignored: 0,
      errors: 0,
      remembered: 0,
    };
    const supporters = new Map<PeerKey, ExtensionPeer>();
    const relayPerPeer = new Map<PeerKey, WindowCount>();
    const relayTotal = new WindowCount(HOLEPUNCH_RELAY_TOTAL);
    const connects = new WindowCount(HOLEPUNCH_CONNECTS);
    const rendezvous = new WindowCount(HOLEPUNCH_RENDEZVOUS);
    /** `host:port` → when we last asked a relay about it, oldest first. */
    const asked = new Map<string, number>();

    const relay = (from: ExtensionPeer, addr: CompactPeer, now: number): void => {
      let mine = relayPerPeer.get(from.key);
      if (mine === undefined) {
        mine = new WindowCount(HOLEPUNCH_RELAY_PER_PEER);
        relayPerPeer.set(from.key, mine);
      }
      // The peer's own budget first: one flooding peer does not spend the torrent's.
      if (!mine.take(now) || !relayTotal.take(now)) {
        s.dropped++;
        return;
      }
      let target: PeerView | undefined;
      for (const p of host.peers()) if (p.key !== from.key && isAt(p, addr)) target = p;
      const to = target === undefined ? undefined : supporters.get(target.key);
      const error = host.isSelf(addr.host, addr.port)
        ? HolepunchErrorCode.NoSelf
        : isAt(from, addr)
          ? HolepunchErrorCode.NoSuchPeer
          : target === undefined
            ? HolepunchErrorCode.NotConnected
            : to === undefined
              ? HolepunchErrorCode.NoSupport
              : 0;
      if (error !== 0 || to === undefined) {
        s.refused++;
        from.send(encodeUtHolepunch({ type: 'error', addr, error }));
        host.log(
          `${addr.host}:${addr.port}`,
          `holepunch refused (error ${error}) for ${from.remoteAddress}:${from.remotePort}`,
        );
        return;
      }
      s.relayed++;
      from.send(encodeUtHolepunch({ type: 'connect', addr }));
      to.send(encodeUtHolepunch({ type: 'connect', addr: udpEndpoint(from) }));
      host.log(`${addr.host}:${addr.port}`, `holepunch relayed for ${from.remoteAddress}:${from.remotePort}`);
    };

    const connect = (from: ExtensionPeer, addr: CompactPeer, now: number): void => {
      let connected = host.isSelf(addr.host, addr.port);
      for (const p of host.peers()) if (isAt(p, addr)) connected = true;
      // BEP 55: already connected (or ourselves): ignored silently.
      if (connected || !connects.take(now)) {
        s.ignored++;
        return;
      }
      s.punched++;
      host.log(
        `${addr.host}:${addr.port}`,
        `holepunch connect from ${from.remoteAddress}:${from.remotePort}`,
      );
      host.holepunch(addr.host, addr.port);
    };

    return {
      name: ExtensionName.UtHolepunch,
      onPeerSupports(peer) {
        supporters.set(peer.key, peer);
      },
      onMessage(peer, payload, now) {
        const msg = decodeUtHolepunch(payload);
        const from = supporters.get(peer.key);
        if (from === undefined) return; // BEP 55: ignored from a peer that did not announce it
        switch (msg.type) {
          case 'rendezvous':
            relay(from, msg.addr, now);
            break;
          case 'connect':
            connect(from, msg.addr, now);
            break;
          case 'error':
            s.errors++;
            host.log(
              `${msg.addr.host}:${msg.addr.port}`,
              `holepunch error ${msg.error} from ${peer.remoteAddress}:${peer.remotePort}`,
            );
            break;
        }
      },
      onDialFailed(addr, hints, now) {
        if (hints.supportsHolepunch !== true) return;
        const key = `${addr.host}:${addr.port}`;
        const at = asked.get(key);
        if (at !== undefined && now - at < HOLEPUNCH_RETRY_MS) return;
        const via =
          (hints.pexFrom !== undefined ? supporters.get(hints.pexFrom) : undefined) ??
          [...supporters.values()].find((p) => !isAt(p, addr));
        if (via === undefined || !rendezvous.take(now)) return;
        asked.delete(key);
        asked.set(key, now);
        if (asked.size > MAX_HOLEPUNCH_TARGETS) asked.delete(asked.keys().next().value as string);
        s.remembered = asked.size;
        s.asked++;
        via.send(encodeUtHolepunch({ type: 'rendezvous', addr }));
        host.log(
          `${addr.host}:${addr.port}`,
          `holepunch rendezvous sent to ${via.remoteAddress}:${via.remotePort}`,
        );
      },
      onPeerClosed(peer) {
        supporters.delete(peer.key);
        relayPerPeer.delete(peer.key);
      },
    };
  };
}

/** `ut_holepunch` with counters nobody reads (the built-in registration). */
export const utHolepunch: ExtensionFactory = utHolepunchWith();
