/**
 * The web seeds of one torrent (see web-seed.ts for one of them): those the torrent or magnet
 * names (BEP 19 `url-list` and `ws=`, BEP 17 `httpseeds`) and those added with
 * `torrent.addWebSeed`, at most MAX_WEB_SEEDS_PER_TORRENT.
 *
 * It sits beside the torrent's peer connections ({@link TorrentPeers} owns it) and takes from the
 * torrent's engine actions what concerns its virtual peers: `send` and `close` to their keys, and
 * `ban` of their blame ids (`webseed:<url>`), which drops the web seed instead of banning an
 * address in the session's pool. Attaching, dropping and banning are written to the peer log.
 */
import type { BanReason, EngineAction, PeerKey, TorrentEngine } from '../../engine/index.js';
import type { Metainfo } from '../../metainfo/index.js';
import { ErrorCode, ShoalError } from '../../shared/errors.js';
import { MAX_WEB_SEEDS_PER_TORRENT } from '../../shared/limits.js';
import { PieceMap } from '../../storage/piece-map.js';
import type { SessionContext } from '../context.js';
import type { PeerLogEntry, PeerLogType } from '../peers/peer-log.js';
import { WebSeedError } from './errors.js';
import { type WebSeedProtocol, webSeedUrlProblem } from './http-rules.js';
import { HttpOrigin } from './origin.js';
import { WebSeed, type WebSeedHost, type WebSeedInfo, type WebSeedSettings } from './web-seed.js';

/** Prefix of every web seed's virtual peer key (no peer address starts with it). */
const KEY_PREFIX = 'webseed#';
/** Prefix of every web seed's blame id. */
const BLAME_PREFIX = 'webseed:';

/** What the web seeds need from their torrent. */
export interface WebSeedsHost {
  readonly ctx: SessionContext;
  readonly metainfo: Metainfo;
  readonly engine: TorrentEngine;
  /** The 20-byte info-hash (BEP 17 requests name it). */
  readonly wireInfoHash: Uint8Array;
  isActive(): boolean;
  isClosed(): boolean;
  isReadingPaused(): boolean;
  run(actions: EngineAction[]): void;
  throttleDown(bytes: number): number;
  /** Adds to the torrent's peer log. */
  record(type: PeerLogType, address: string, extra?: Omit<PeerLogEntry, 'at' | 'type' | 'address'>): void;
  warn(message: string): void;
}

/** The web seeds of one torrent; see the module notes. */
export class WebSeeds {
  readonly #host: WebSeedsHost;
  readonly #seeds: WebSeed[] = [];
  readonly #byKey = new Map<PeerKey, WebSeed>();
  readonly #seedHost: WebSeedHost;

  constructor(host: WebSeedsHost) {
    this.#host = host;
    const o = host.ctx.options.webSeeds;
    const settings: WebSeedSettings = {
      connections: o.connections,
      onlyBelowPeerRate: o.onlyBelowPeerRate,
      maxFailures: o.maxFailures,
      retryBaseMs: o.retryBaseMs,
      idleTimeoutMs: o.idleTimeoutMs,
    };
    const m = host.metainfo;
    this.#seedHost = {
      metainfo: m,
      space: new PieceMap(m),
      get engine() {
        return host.engine;
      },
      infoHash: m.infoHashV1 ?? host.wireInfoHash,
      settings,
      now: () => host.ctx.now(),
      run: (a) => host.run(a),
      isReadingPaused: () => host.isReadingPaused(),
      throttleDown: (n) => host.throttleDown(n),
      onAttached: (seed, key) => this.#onAttached(seed, key),
      onDropped: (seed, reason, ban) => this.#onDropped(seed, reason, ban),
    };
    if (!o.fromTorrent) return;
    for (const url of m.webSeeds) this.#addQuietly(url, 'bep19');
    for (const url of m.httpSeeds ?? []) this.#addQuietly(url, 'bep17');
  }

  /**
   * Adds a web seed (BEP 19 unless `protocol` says `bep17`); one already there is left as it is.
   * Throws `WebSeedBadUrl` for a URL that cannot be one, and `SessionInvalidArgument` past
   * MAX_WEB_SEEDS_PER_TORRENT.
   */
  add(url: string, protocol: WebSeedProtocol = 'bep19'): void {
    const problem = webSeedUrlProblem(url);
    if (problem !== undefined)
      throw new WebSeedError(ErrorCode.WebSeedBadUrl, `web seed ${url.slice(0, 200)}: ${problem}`, { url });
    if (this.#seeds.some((s) => s.url === url && s.protocol === protocol)) return;
    if (this.#seeds.length >= MAX_WEB_SEEDS_PER_TORRENT)
      throw new ShoalError(
        ErrorCode.SessionInvalidArgument,
        `a torrent uses at most ${MAX_WEB_SEEDS_PER_TORRENT} web seeds`,
        { url },
      );
    const o = this.#host.ctx.options;
    const origin = new HttpOrigin({
      connections: o.webSeeds.connections,
      caFile: o.webSeeds.caFile,
      proxy: o.proxy,
    });
    const seed = new WebSeed(this.#seedHost, url, protocol, origin);
    this.#seeds.push(seed);
    if (this.#host.isActive()) seed.tick(true);
  }

  /** The web seeds and how they do. */
  list(): WebSeedInfo[] {
    const now = this.#host.ctx.now();
    return this.#seeds.map((s) => s.info(now));
  }

  /**
   * Carries out an engine action if it is about a web seed's virtual peer (`send`, `close`);
   * false when it is a real peer's.
   */
  takes(a: EngineAction): boolean {
    if ((a.type !== 'send' && a.type !== 'close') || !a.peer.startsWith(KEY_PREFIX)) return false;
    const seed = this.#byKey.get(a.peer);
    if (seed === undefined) return true;
    if (a.type === 'send') seed.onSend(a.msg);
    else seed.onEngineClose(a.reason);
    return true;
  }

  /** Drops the web seed whose blame id is `address`; false when `address` is no web seed's. */
  ban(address: string, reason: BanReason, evidence: string): boolean {
    if (!address.startsWith(BLAME_PREFIX)) return false;
    for (const s of this.#seeds) if (s.blameId === address) s.ban(reason, evidence);
    return true;
  }

  /** Housekeeping and start: attaches what should run, fails stalled requests. */
  tick(): void {
    if (this.#host.isClosed()) return;
    const active = this.#host.isActive();
    for (const s of this.#seeds) s.tick(active);
  }

  /** Stops every web seed (the torrent halts); they attach again once it runs. */
  detachAll(): void {
    for (const s of this.#seeds) s.detach();
  }

  /** The torrent's reading was paused or resumed. */
  readingChanged(): void {
    for (const s of this.#seeds) s.readingChanged();
  }

  /** Stops every web seed and closes their connections. */
  close(): void {
    for (const s of this.#seeds) s.close();
  }

  #addQuietly(url: string, protocol: WebSeedProtocol): void {
    try {
      this.add(url, protocol);
    } catch (e) {
      this.#host.warn(`ignored web seed: ${(e as Error).message}`);
    }
  }

  #onAttached(seed: WebSeed, key: PeerKey | undefined): void {
    for (const [k, s] of this.#byKey) if (s === seed) this.#byKey.delete(k);
    if (key === undefined) return;
    this.#byKey.set(key, seed);
    this.#host.record('connected', seed.url, {
      client: `web seed (${seed.protocol.toUpperCase()})`,
      transport: 'http',
    });
  }

  #onDropped(
    seed: WebSeed,
    reason: string,
    ban?: { readonly reason: BanReason; readonly evidence: string },
  ): void {
    if (ban !== undefined) {
      this.#host.record('banned', seed.url, { reason: `${ban.reason}: ${ban.evidence}` });
      this.#host.warn(`banned web seed ${seed.url}: ${ban.evidence}`);
      return;
    }
    this.#host.record('disconnected', seed.url, { reason: `web seed dropped: ${reason}` });
    this.#host.warn(`dropped web seed ${seed.url}: ${reason}`);
  }
}
