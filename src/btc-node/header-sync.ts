/**
 * DEV DOCS — headers-first sync from several peers.
 *
 * One peer at a time is the *sync peer*: it is asked `getheaders` with our locator, answers up to
 * 2,000 headers, and is asked again until an answer is short (it has nothing more). Then every
 * other ready peer is asked once, so a peer on a longer or different chain is heard; a peer whose
 * answer makes it the best is followed the same way. A sync peer that stalls is disconnected by
 * its request deadline and the next best peer takes over. After that, peers announce new blocks
 * with `headers` (BIP 130) or `inv`, which lead to a `getheaders` when they do not connect.
 *
 * Every batch goes through `HeaderChain.acceptHeaders`. What a failure costs the peer:
 * - bad proof of work, bad bits, bad time, bad version, a checkpoint, a non-continuous batch, an
 *   answer to our locator that does not connect: banned (it sent headers no honest node has);
 * - an unsolicited batch that does not connect: we ask for the headers before it; more than
 *   {@link BTC_MAX_UNCONNECTING_HEADERS} such batches in a row: banned (Bitcoin Core's rule);
 * - a time too far in the future, a fork below our window, side branches over their bound:
 *   disconnected without a ban (an honest peer on another clock or a long fork can send these).
 *
 * Caught up: at least one peer is ready, each ready peer answered our last `getheaders`, and none
 * showed a chain longer than ours.
 *
 * A `getheaders` to a peer that showed us nothing we lack (its start height and announcements are
 * at most our height) is a *probe*: no answer is awaited, and the peer counts as answered at once.
 * Bitcoin Core answers such a request with an empty `headers`, but bcoin sends nothing at all, and
 * a request deadline would then drop an honest peer. Whatever a probe brings back arrives as an
 * unsolicited batch and is taken like an announcement.
 */
import {
  type AcceptResult,
  type BtcError,
  type HeaderChain,
  headerHash,
  PROTOCOL_VERSION,
} from '../bitcoin/index.js';
import { ErrorCode } from '../shared/errors.js';
import { BTC_MAX_HEADERS_PER_MESSAGE, BTC_MAX_UNCONNECTING_HEADERS } from '../shared/limits.js';
import type { BtcPeer } from './peer.js';

/** What the header sync needs from the node. */
export interface HeaderSyncHost {
  readonly chain: HeaderChain;
  readyPeers(): readonly BtcPeer[];
  /** Local clock, Unix seconds. */
  nowS(): number;
  /** The best chain changed. */
  chainChanged(result: AcceptResult, peer: BtcPeer): void;
}

interface PeerSyncState {
  /** Unsolicited batches in a row that did not connect. */
  unconnecting: number;
  /** The peer answered our last getheaders with everything it has. */
  answered: boolean;
}

const ZERO_HASH = new Uint8Array(32);

/** See the module notes. */
export class HeaderSync {
  readonly #host: HeaderSyncHost;
  readonly #state = new WeakMap<BtcPeer, PeerSyncState>();
  #syncPeer: BtcPeer | undefined;
  /** Headers accepted since start (all branches). */
  accepted = 0;

  constructor(host: HeaderSyncHost) {
    this.#host = host;
  }

  /** The peer headers are downloaded from now, if any. */
  get syncPeer(): BtcPeer | undefined {
    return this.#syncPeer;
  }

  peerReady(peer: BtcPeer): void {
    this.#state.set(peer, { unconnecting: 0, answered: false });
    if (this.#syncPeer === undefined) this.#startSync(peer);
    else if (!this.#isBehind()) this.#ask(peer);
  }

  /** A probe cannot be awaited: see the module notes. */
  #isProbe(peer: BtcPeer): boolean {
    return peer.bestHeight <= this.#host.chain.height;
  }

  peerClosed(peer: BtcPeer): void {
    if (this.#syncPeer !== peer) return;
    this.#syncPeer = undefined;
    this.#next();
  }

  /** A `block` inv: ask for the headers we lack. */
  blockAnnounced(peer: BtcPeer, hash: Uint8Array): void {
    const { chain } = this.#host;
    if (chain.entry(hash) !== undefined || chain.heightOf(hash) !== undefined) return;
    if (!peer.isExpecting('headers')) this.#ask(peer);
  }

  /** True once every ready peer answered and none is ahead (see the module notes). */
  isCaughtUp(): boolean {
    const peers = this.#host.readyPeers();
    if (peers.length === 0 || this.#syncPeer !== undefined) return false;
    const height = this.#host.chain.height;
    return peers.every((p) => this.#state.get(p)?.answered === true && p.bestHeight <= height);
  }

  /** Best height any ready peer showed (our own when higher). */
  bestKnownHeight(): number {
    let best = this.#host.chain.height;
    for (const p of this.#host.readyPeers()) best = Math.max(best, p.bestHeight);
    return best;
  }

  /** A `headers` message. */
  onHeaders(peer: BtcPeer, headers: readonly Uint8Array[]): void {
    const st = this.#state.get(peer);
    if (st === undefined) return;
    const solicited = peer.fulfil('headers');
    const { chain } = this.#host;
    if (headers.length === 0) {
      if (solicited) this.#answered(peer, st);
      return;
    }
    const r = chain.acceptHeaders(headers, this.#host.nowS());
    this.accepted += r.added.length;
    if (r.connected.length > 0 || r.disconnected.length > 0) this.#host.chainChanged(r, peer);
    // How far the peer's chain reaches, as far as we accepted it.
    const accepted = r.error === undefined ? headers.length : (r.error.details.index ?? 0);
    if (accepted > 0) {
      st.unconnecting = 0;
      const hash = headerHash(headers[accepted - 1]!);
      const height = chain.entry(hash)?.height ?? chain.heightOf(hash);
      if (height !== undefined) peer.bestHeight = Math.max(peer.bestHeight, height);
    }
    if (r.error !== undefined) {
      this.#failed(peer, st, r.error, solicited);
      return;
    }
    const more = headers.length >= BTC_MAX_HEADERS_PER_MESSAGE && r.added.length > 0;
    if (!solicited) {
      // A full batch after a probe or an announcement: the peer has more.
      if (more && !peer.isExpecting('headers')) this.#ask(peer);
      return;
    }
    if (more && this.#ask(peer)) return;
    this.#answered(peer, st);
  }

  #failed(peer: BtcPeer, st: PeerSyncState, e: BtcError, solicited: boolean): void {
    switch (e.code) {
      case ErrorCode.BtcUnconnected:
        if (solicited) {
          peer.close(`headers that do not connect to our locator: ${e.message}`, true, e);
          return;
        }
        st.unconnecting++;
        if (st.unconnecting > BTC_MAX_UNCONNECTING_HEADERS) {
          peer.close(`${st.unconnecting} unconnecting headers messages in a row`, true, e);
          return;
        }
        this.#ask(peer);
        return;
      case ErrorCode.BtcTimeTooNew:
      case ErrorCode.BtcForkTooDeep:
      case ErrorCode.BtcLimit:
        peer.close(e.message, false, e);
        return;
      default:
        peer.close(`invalid headers: ${e.message}`, true, e);
    }
  }

  #answered(peer: BtcPeer, st: PeerSyncState): void {
    st.answered = true;
    // It has nothing past what it sent: its best is at most ours.
    peer.bestHeight = Math.min(peer.bestHeight, this.#host.chain.height);
    if (peer === this.#syncPeer) {
      this.#syncPeer = undefined;
      this.#next();
    }
  }

  #isBehind(): boolean {
    return this.bestKnownHeight() > this.#host.chain.height;
  }

  /** After a sync peer: the next one ahead of us, else ask every peer not heard from. */
  #next(): void {
    const height = this.#host.chain.height;
    const peers = this.#host.readyPeers();
    const ahead = peers.filter((p) => p.bestHeight > height).sort((a, b) => b.bestHeight - a.bestHeight)[0];
    if (ahead !== undefined) {
      this.#startSync(ahead);
      return;
    }
    for (const p of peers) {
      const st = this.#state.get(p);
      if (st !== undefined && !st.answered && !p.isExpecting('headers')) this.#ask(p);
    }
  }

  #startSync(peer: BtcPeer): void {
    this.#syncPeer = peer;
    if (!this.#ask(peer)) this.#syncPeer = undefined;
  }

  /** Sends our locator; true when an answer is awaited (false: a probe, see the module notes). */
  #ask(peer: BtcPeer): boolean {
    const st = this.#state.get(peer);
    const probe = this.#isProbe(peer);
    if (st !== undefined) st.answered = probe;
    if (!probe) peer.expect('headers');
    peer.send({
      type: 'getheaders',
      version: PROTOCOL_VERSION,
      locator: this.#host.chain.locator(),
      stopHash: ZERO_HASH,
    });
    return !probe;
  }
}
