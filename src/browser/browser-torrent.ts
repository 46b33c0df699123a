/**
 * One torrent in a web page: the browser's small session, driving the pure engine
 * (src/engine) with WebRTC peers found through WebSocket trackers and in-memory storage.
 *
 * Design: every input (a peer's bytes, a sent block, a verified piece, the timer) goes to the
 * {@link TorrentEngine} with the clock (`performance.now()`), and the engine's actions are carried
 * out here, in order: `send` encodes onto the peer's data channel, `write-block` copies into the
 * {@link PieceStore}, `piece-complete` hashes the piece synchronously and reports it,
 * `read-block` sends the block and reports it sent (at once, or at the channel's `drain` when it
 * is above its high-water mark: the peer's reading speed is the back-pressure). One timer is
 * armed at the engine's next deadline; every {@link BROWSER_HOUSEKEEPING_MS} peers without a
 * handshake or gone silent are closed and keep-alives sent. Peers speak the plain wire (no MSE, as WebTorrent) with
 * the BEP 6 fast extension; no BEP 10 (a page needs no metadata exchange nor PEX).
 */

import type { EngineAction, PeerKey } from '../engine/actions.js';
import type { BlockRef } from '../engine/piece-layout.js';
import type { Random } from '../engine/random.js';
import { TorrentEngine } from '../engine/torrent-engine.js';
import { parseTorrent } from '../metainfo/parse.js';
import type { Metainfo } from '../metainfo/types.js';
import { bytesEqual, toHex } from '../shared/hash.js';
import {
  HANDSHAKE_TIMEOUT_MS,
  KEEP_ALIVE_INTERVAL_MS,
  MAX_BROWSER_PEERS,
  PEER_IDLE_TIMEOUT_MS,
} from '../shared/limits.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { FrameDecoder } from '../wire/frame-decoder.js';
import { encodeHandshake, makeReserved, readReserved } from '../wire/handshake.js';
import { encodeMessage, type WireMessage } from '../wire/messages.js';
import { generatePeerId } from '../wire/peer-id.js';
import { randomBytes } from './dom.js';
import { type BrowserFile, PieceStore } from './piece-store.js';
import { BrowserRtc, type RtcStream } from './rtc.js';
import { BrowserWsTracker } from './ws-tracker.js';

/** Options of {@link BrowserTorrent.create}. */
export interface BrowserTorrentOptions {
  /** WebSocket trackers to use besides the torrent's own `ws://` / `wss://` ones. @default [] */
  readonly trackers?: readonly string[];
  /** STUN/TURN servers. @default [] (host candidates only) */
  readonly iceServers?: readonly {
    readonly urls: string;
    readonly username?: string;
    readonly credential?: string;
  }[];
  /** The files' contents, in torrent order without padding files: seed them (each is checked). */
  readonly data?: readonly Uint8Array[];
  /** The clock, ms (tests). @default performance.now */
  readonly now?: () => number;
}

/** How often peers are checked for a missing handshake, silence, or a keep-alive owed, ms. */
export const BROWSER_HOUSEKEEPING_MS = 5_000;

export interface BrowserTorrentEvents {
  /** Every wanted piece is verified. */
  done: { readonly infoHash: string };
  'piece-verified': { readonly index: number };
  peer: { readonly type: 'connected' | 'disconnected'; readonly peer: string; readonly reason?: string };
  warning: { readonly message: string };
}

/** One connected peer. */
interface Peer {
  readonly key: PeerKey;
  readonly stream: RtcStream;
  readonly decoder: FrameDecoder;
  handshaken: boolean;
  readonly since: number;
  lastReceived: number;
  lastSent: number;
  /** Blocks sent while the channel was above its mark: reported to the engine at `drain`. */
  readonly unreported: BlockRef[];
}

const webRandom: Random = {
  int: (n) => {
    const v = new Uint32Array(1);
    (globalThis as unknown as { crypto: { getRandomValues(a: Uint32Array): void } }).crypto.getRandomValues(
      v,
    );
    return (v[0] as number) % n;
  },
  bytes: (n) => randomBytes(n),
};

export class BrowserTorrent extends TypedEmitter<BrowserTorrentEvents> {
  readonly metainfo: Metainfo;
  /** Hex of the v1 info-hash (v2 for v2-only torrents). */
  readonly infoHash: string;
  readonly peerId: Uint8Array;
  readonly #wireHash: Uint8Array;
  readonly #store: PieceStore;
  readonly #engine: TorrentEngine;
  readonly #rtc: BrowserRtc;
  readonly #trackers: BrowserWsTracker[] = [];
  readonly #peers = new Map<PeerKey, Peer>();
  #seq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #housekeeping: ReturnType<typeof setInterval> | undefined;
  readonly #now: () => number;
  #closed = false;

  private constructor(torrent: Uint8Array, o: BrowserTorrentOptions) {
    super();
    this.#now = o.now ?? (() => performance.now());
    const m = parseTorrent(torrent);
    this.metainfo = m;
    const v1 = m.infoHashV1;
    this.#wireHash = v1 ?? (m.infoHashV2 as Uint8Array).subarray(0, 20);
    this.infoHash = toHex(v1 ?? (m.infoHashV2 as Uint8Array));
    this.peerId = generatePeerId(randomBytes(20));
    this.#store = new PieceStore(m);
    this.#engine = new TorrentEngine({
      infoHash: this.#wireHash,
      layout: this.#store.map,
      files: m.files,
      random: webRandom,
      now: this.#now(),
    });
    this.#rtc = new BrowserRtc(o.iceServers ?? []);
    if (o.data !== undefined) this.#seedFrom(o.data);
    const urls = new Set([...m.trackers.flat(), ...(o.trackers ?? [])].filter((u) => /^wss?:\/\//.test(u)));
    for (const url of urls) {
      this.#trackers.push(
        new BrowserWsTracker({
          url,
          infoHash: this.#wireHash,
          peerId: this.peerId,
          rtc: this.#rtc,
          getStats: () => {
            const s = this.#engine.stats(this.#now());
            return { uploaded: s.uploadedBytes, downloaded: s.downloadedBytes, left: s.leftBytes };
          },
          wantedPeers: () =>
            this.#engine.isFinished ? 0 : Math.max(0, MAX_BROWSER_PEERS - this.#peers.size),
          onStream: (s) => this.#attach(s),
          onWarning: (message) => this.emit('warning', { message }),
        }),
      );
    }
  }

  /** Parses `torrent` (v1, v2 or hybrid .torrent bytes) and joins its swarm. */
  static create(torrent: Uint8Array, options: BrowserTorrentOptions = {}): BrowserTorrent {
    const t = new BrowserTorrent(torrent, options);
    for (const tr of t.#trackers) tr.start();
    t.#arm();
    t.#housekeeping = setInterval(() => t.#housekeep(), BROWSER_HOUSEKEEPING_MS);
    return t;
  }

  get isFinished(): boolean {
    return this.#engine.isFinished;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  stats(): ReturnType<TorrentEngine['stats']> {
    return this.#engine.stats(this.#now());
  }

  /** The files and their bytes (complete once `done`). */
  files(): BrowserFile[] {
    return this.#store.files();
  }

  /** Leaves the swarm: announces `stopped`, closes every peer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#housekeeping);
    for (const t of this.#trackers) t.stop();
    for (const p of [...this.#peers.values()]) p.stream.close();
    this.#rtc.close();
  }

  #seedFrom(data: readonly Uint8Array[]): void {
    const real = this.metainfo.files.map((f, i) => ({ f, i })).filter(({ f }) => !f.isPadding);
    if (real.length !== data.length)
      throw new RangeError(`${data.length} files given, the torrent has ${real.length}`);
    real.forEach(({ i }, k) => {
      this.#store.putFile(i, data[k] as Uint8Array);
    });
    const have: number[] = [];
    for (let i = 0; i < this.#engine.pieceCount; i++) if (this.#store.verify(i)) have.push(i);
    this.#run(this.#engine.setHave(have, this.#now()));
  }

  /**
   * Adds a data channel opened some other way (own signalling): the wire starts on it at once.
   * Refused (closed) beyond {@link MAX_BROWSER_PEERS} peers or once the torrent is closed.
   */
  addStream(stream: RtcStream): void {
    this.#attach(stream);
  }

  #attach(stream: RtcStream): void {
    if (this.#closed || this.#peers.size >= MAX_BROWSER_PEERS) {
      stream.close();
      return;
    }
    const key = `rtc-${++this.#seq}`;
    const now = this.#now();
    const peer: Peer = {
      key,
      stream,
      decoder: new FrameDecoder({ handshake: true, pieceCount: this.#engine.pieceCount }),
      handshaken: false,
      since: now,
      lastReceived: now,
      lastSent: now,
      unreported: [],
    };
    this.#peers.set(key, peer);
    stream.write(
      encodeHandshake({
        reserved: makeReserved({ fast: true }),
        infoHash: this.#wireHash,
        peerId: this.peerId,
      }),
    );
    stream.bind({
      data: (chunk) => this.#onData(peer, chunk),
      drain: () => this.#onDrain(peer),
      close: (e) => this.#onClose(peer, e?.message ?? 'closed'),
    });
  }

  /**
   * Closes peers that never sent their handshake ({@link HANDSHAKE_TIMEOUT_MS}) or went silent
   * ({@link PEER_IDLE_TIMEOUT_MS}); sends a keep-alive where we have been silent for
   * {@link KEEP_ALIVE_INTERVAL_MS}.
   */
  #housekeep(): void {
    const now = this.#now();
    for (const p of [...this.#peers.values()]) {
      const why = !p.handshaken
        ? now - p.since >= HANDSHAKE_TIMEOUT_MS && 'no handshake in time'
        : now - p.lastReceived >= PEER_IDLE_TIMEOUT_MS && 'idle';
      if (why) {
        p.stream.close();
        this.#onClose(p, why);
      } else if (p.handshaken && now - p.lastSent >= KEEP_ALIVE_INTERVAL_MS) {
        this.#send(p, encodeMessage({ type: 'keep-alive' }));
      }
    }
  }

  #send(peer: Peer, bytes: Uint8Array): boolean {
    peer.lastSent = this.#now();
    return peer.stream.write(bytes);
  }

  #onData(peer: Peer, chunk: Uint8Array): void {
    peer.lastReceived = this.#now();
    let msgs: WireMessage[];
    try {
      msgs = peer.decoder.push(chunk);
    } catch (e) {
      peer.stream.close();
      this.#onClose(peer, (e as Error).message);
      return;
    }
    const now = this.#now();
    for (const msg of msgs) {
      if (!this.#peers.has(peer.key)) return;
      if (msg.type === 'handshake') {
        if (!bytesEqual(msg.infoHash, this.#wireHash) || peer.handshaken) {
          peer.stream.close();
          this.#onClose(peer, 'wrong handshake');
          return;
        }
        peer.handshaken = true;
        this.emit('peer', { type: 'connected', peer: peer.key });
        const fast = readReserved(msg.reserved).fast;
        this.#run(this.#engine.addPeer(peer.key, { supportsFast: fast, supportsExtensions: false }, now));
      } else if (peer.handshaken) {
        this.#run(this.#engine.onMessage(peer.key, msg, now));
      }
    }
    this.#arm();
  }

  #onDrain(peer: Peer): void {
    const now = this.#now();
    for (const b of peer.unreported.splice(0)) this.#run(this.#engine.onBlockSent(peer.key, b, now));
    this.#arm();
  }

  #onClose(peer: Peer, reason: string): void {
    if (!this.#peers.delete(peer.key)) return;
    if (peer.handshaken) {
      this.emit('peer', { type: 'disconnected', peer: peer.key, reason });
      this.#run(this.#engine.removePeer(peer.key, this.#now()));
    }
    this.#arm();
  }

  #run(actions: readonly EngineAction[]): void {
    const queue = [...actions];
    for (let a = queue.shift(); a !== undefined; a = queue.shift()) {
      const now = this.#now();
      switch (a.type) {
        case 'send': {
          const p = this.#peers.get(a.peer);
          if (p !== undefined) this.#send(p, encodeMessage(a.msg));
          break;
        }
        case 'close': {
          const p = this.#peers.get(a.peer);
          if (p !== undefined) {
            this.#peers.delete(a.peer);
            this.emit('peer', { type: 'disconnected', peer: a.peer, reason: a.reason });
            p.stream.close();
          }
          break;
        }
        case 'ban': {
          // A page's peers are keyed by connection: the engine's blame id is the peer key.
          const p = this.#peers.get(a.address);
          if (p !== undefined) {
            this.#peers.delete(a.address);
            this.emit('peer', { type: 'disconnected', peer: a.address, reason: `banned: ${a.evidence}` });
            p.stream.close();
          }
          break;
        }
        case 'write-block':
          this.#store.write(a.piece, a.offset, a.data);
          break;
        case 'read-block': {
          const p = this.#peers.get(a.peer);
          if (p === undefined) break;
          const block = { piece: a.piece, offset: a.offset, length: a.length };
          const below = this.#send(
            p,
            encodeMessage({
              type: 'piece',
              index: a.piece,
              begin: a.offset,
              block: this.#store.read(a.piece, a.offset, a.length),
            }),
          );
          if (below) queue.push(...this.#engine.onBlockSent(a.peer, block, now));
          else p.unreported.push(block);
          break;
        }
        case 'piece-complete': {
          const ok = this.#store.verify(a.index);
          if (ok) this.emit('piece-verified', { index: a.index });
          queue.push(...this.#engine.onPieceVerified(a.index, ok, now));
          break;
        }
        case 'done':
          for (const t of this.#trackers) t.announce('completed');
          this.emit('done', { infoHash: this.infoHash });
          break;
        case 'event':
          break;
      }
    }
  }

  /** Arms the one timer at the engine's next deadline. */
  #arm(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    const at = this.#engine.nextDeadline();
    if (at === undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#run(this.#engine.tick(this.#now()));
        this.#arm();
      },
      Math.max(0, at - this.#now()),
    );
  }
}
