/**
 * `SessionOptions` is the one user-facing configuration of a Shoal node (STYLE §5). Every field
 * is optional; {@link resolveOptions} is the only place that knows the defaults.
 */
import { isIPv6 } from 'node:net';
import { availableParallelism } from 'node:os';
import type { DhtRuntimeNodeOptions } from '../discovery/index.js';
import type { TorrentEngineOptions } from '../engine/index.js';
import type { BlocklistSource } from '../net/blocklist-file.js';
import { TRANSPORT_POLICIES, type TransportPolicy } from '../net/dial-policy.js';
import { checkSocks5Proxy, type Socks5ProxyOptions } from '../net/socks5-protocol.js';
import type { Transport } from '../net/transport.js';
import type { WebRtcConfig } from '../net/webrtc-transport.js';
import type { PortMappingOptions } from '../portmap/index.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import {
  HANDSHAKE_TIMEOUT_MS,
  INCOMING_CONNECTION_SLACK,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_CONNECTIONS_PER_TORRENT,
  MAX_CONNECTIONS_TOTAL,
  MAX_HALF_OPEN_PER_TORRENT,
  MAX_KNOWN_PEERS_PER_TORRENT,
  MAX_WEB_SEED_CONNECTIONS,
  MAX_WEB_SEED_FAILURES,
  UTP_DEFAULT_MAX_DATAGRAM_BYTES,
  UTP_MAX_DATAGRAM_BYTES,
  UTP_MIN_DATAGRAM_BYTES,
  WEB_SEED_CONNECTIONS,
  WEB_SEED_IDLE_TIMEOUT_MS,
  WEB_SEED_RETRY_BASE_MS,
} from '../shared/limits.js';
import type { HashPool } from '../storage/hash-pool.js';
import type { MsePolicy } from '../wire/index.js';
import type { FreeSpace, Preallocation } from './disk.js';
import type { ExtensionFactory } from './extensions/extension.js';

export interface SessionOptions {
  /** TCP port to listen on for peers; 0 picks a free one. @default 0 */
  readonly port?: number;
  /**
   * Address to listen on. The default `::` accepts IPv6 and IPv4 peers alike (dual-stack; a
   * system without IPv6 falls back to `0.0.0.0`). @default '::'
   */
  readonly host?: string;
  /** Accept incoming connections at all. @default true */
  readonly listen?: boolean;
  /** Folder new torrents are downloaded into, unless a torrent names its own. @default process.cwd() */
  readonly downloadDir?: string;
  /** Folder for fast-resume records; none are written when unset. */
  readonly resumeDir?: string;
  /** 20-byte peer id; default: `-SH0100-` + 12 random characters. */
  readonly peerId?: Uint8Array;
  /** Global download limit, bytes/s; 0 = unlimited. @default 0 */
  readonly downloadRateLimit?: number;
  /** Global upload limit, bytes/s; 0 = unlimited. @default 0 */
  readonly uploadRateLimit?: number;
  /** @default MAX_CONNECTIONS_PER_TORRENT */
  readonly maxConnectionsPerTorrent?: number;
  /**
   * Incoming connections a torrent accepts beyond `maxConnectionsPerTorrent` (it does not dial
   * then). @default INCOMING_CONNECTION_SLACK
   */
  readonly incomingConnectionSlack?: number;
  /** @default MAX_CONNECTIONS_TOTAL */
  readonly maxConnections?: number;
  /** @default MAX_HALF_OPEN_PER_TORRENT */
  readonly maxHalfOpenPerTorrent?: number;
  /**
   * Connections a torrent holds to one remote address (many peers on one loopback address in
   * tests need more). @default MAX_CONNECTIONS_PER_ADDRESS
   */
  readonly maxConnectionsPerAddress?: number;
  /** Known peer addresses kept per torrent. @default MAX_KNOWN_PEERS_PER_TORRENT */
  readonly maxKnownPeersPerTorrent?: number;
  /**
   * More ways to reach peers, tried before TCP and uTP when dialling (e.g. an in-memory
   * transport in tests). Each must accept the same `host:port` addresses trackers give.
   */
  readonly transports?: readonly Transport[];
  /**
   * uTP (BEP 29). `true` (or an object of tunables) runs it on the UDP side of the listening
   * port: one UDP socket there carries uTP, the IPv4 DHT (unless `dht.port` names another port)
   * and UDP tracker replies. Incoming uTP streams go through the same stage as TCP ones
   * (plaintext and MSE alike). Needs an IPv4 or wildcard `host`; never with a proxy
   * (`onlyProxy`). @default false, or true when `transportPolicy` asks for uTP
   */
  readonly utp?: boolean | UtpSessionOptions;
  /**
   * How peers are dialled when uTP runs: `utp-first` (uTP, then TCP if uTP gets no answer within
   * UTP_FALLBACK_CONNECT_TIMEOUT_MS, as Transmission and libtorrent do), `tcp-first`, `tcp-only`
   * (uTP only accepted), `utp-only` (no TCP at all: not listened on, not dialled). An address
   * remembers what worked. @default 'utp-first' with uTP, else 'tcp-only'
   */
  readonly transportPolicy?: TransportPolicy;
  /** More BEP 10 extensions for every torrent (each a factory; see `ExtensionFactory`). */
  readonly extensions?: readonly ExtensionFactory[];
  /**
   * MSE/PE encryption of peer connections: `disabled`; `enabled` (accept both, dial plaintext,
   * retry encrypted — and encrypted first to peers known to prefer it); `prefer` (dial
   * encrypted, fall back to plaintext, select RC4 when offered); `require` (RC4 only, both
   * ways). @default 'enabled'
   */
  readonly encryption?: MsePolicy;
  /** Seeding torrents pause at this upload ratio (0 = never; a torrent may set its own). @default 0 */
  readonly seedRatioLimit?: number;
  /** Seeding torrents pause after this long without uploading, ms (0 = never). @default 0 */
  readonly seedIdleLimitMs?: number;
  /** Torrents downloading at once; more wait, queued, in queue order (0 = no limit). @default 0 */
  readonly maxActiveDownloads?: number;
  /** Complete torrents seeding at once; more wait, queued (0 = no limit). @default 0 */
  readonly maxActiveSeeds?: number;
  /**
   * New torrents download here and move to their `downloadDir` when complete (Transmission's
   * incomplete folder). @default none
   */
  readonly incompleteDir?: string;
  /** `sparse` (space is used as data arrives) or `full` (files get their whole length when added). @default 'sparse' */
  readonly preallocation?: Preallocation;
  /**
   * How free disk space is measured (a torrent that does not fit its folder fails when added).
   * @default statfs of the folder
   */
  readonly freeSpace?: FreeSpace;
  /**
   * Worker threads that check received pieces (and write them once they match), compute BEP 52
   * merkle roots and check files; started with the session (with `lowMemory`, when first
   * needed). @default the machine's cores minus one (at least 1)
   */
  readonly hashThreads?: number;
  /**
   * Save memory at some cost in speed: no hash thread runs until a task needs one (BEP 52 merkle
   * roots, file checks), received v1 pieces are checked on libuv's pool and written from the
   * main thread. A hash thread is a V8 isolate, ~10–13 MB; writing from it is faster (see
   * docs/BENCHMARKS.md). Ignored with `hashPool`. @default false
   */
  readonly lowMemory?: boolean;
  /**
   * A hash pool shared with other sessions of this process (e.g. many nodes in one program):
   * the session uses it instead of starting its own threads (`hashThreads` is then ignored) and
   * leaves it running at close — its owner destroys it.
   */
  readonly hashPool?: HashPool;
  /** Time a peer has to complete the handshake, ms. @default HANDSHAKE_TIMEOUT_MS */
  readonly handshakeTimeoutMs?: number;
  /**
   * Mainline DHT (BEP 5). `false` (the library default) runs none; `true` uses the public
   * bootstrap routers; an object picks the UDP port, the bootstrap nodes and a file to keep the
   * routing table in between runs.
   */
  readonly dht?: boolean | DhtSessionOptions;
  /**
   * Local service discovery (BEP 14). `false` (default) runs none; `true` announces on the LAN
   * multicast group; an object also lists unicast targets (e.g. 127.0.0.1 ports, for tests).
   */
  readonly lsd?: boolean | LsdSessionOptions;
  /** Announce to the torrents' trackers. @default true */
  readonly trackers?: boolean;
  /**
   * WebRTC peers (WebTorrent's, browsers'), found through the torrents' `ws://`/`wss://`
   * trackers. On when the optional `node-datachannel` package is installed; `false` turns it
   * off; an object sets STUN/TURN servers (`iceServers`) and the address ICE binds to. Off
   * under a proxy (WebRTC would go around it). @default true
   */
  readonly webrtc?: boolean | WebRtcConfig;
  /** Engine tunables (choker slots, request queue time, …) for every torrent. */
  readonly engine?: TorrentEngineOptions;
  /**
   * A SOCKS5 proxy for outgoing peer connections (no peer is then dialled directly) and tracker
   * requests (HTTP through CONNECT, UDP through UDP ASSOCIATE). Peers that dial us still connect
   * directly (`listen: false` turns that off). See {@link ProxyOptions.onlyProxy} for the DHT and
   * LSD.
   */
  readonly proxy?: ProxyOptions;
  /**
   * An IP blocklist: addresses in its ranges are never dialled nor accepted. A file (PeerGuardian
   * `.p2p`, eMule `ipfilter.dat`, CIDR lines; `{ path }`) or its text (`{ text }`). Replace it
   * with `session.setBlocklist`.
   */
  readonly blocklist?: BlocklistSource;
  /** Web seeds (BEP 19 `url-list`, BEP 17 `httpseeds`): HTTP origins as permanent seeds. */
  readonly webSeeds?: WebSeedOptions;
  /**
   * Map the listening ports on the home router (PCP, NAT-PMP, then UPnP IGD) so that peers
   * outside the NAT can dial us; the mapped external TCP port is what trackers, the DHT and the
   * BEP 10 handshake announce. `false` (the library default: a library must not reconfigure the
   * user's router unasked) maps nothing; `true` uses the defaults; an object picks the methods,
   * the lease and, for tests, the gateway. Off with a proxy and with `listen: false`. Watch
   * `session.portMapping()` and the `portmap:changed` event.
   */
  readonly portMapping?: boolean | PortMappingOptions;
}

/** How torrents use web seeds (HTTP origins holding the torrent's files). */
export interface WebSeedOptions {
  /**
   * Use the web seeds a torrent or magnet names (`url-list`, `httpseeds`, `ws=`);
   * `torrent.addWebSeed` works either way. @default true
   */
  readonly fromTorrent?: boolean;
  /** Range requests in flight to one origin at once (1 to MAX_WEB_SEED_CONNECTIONS). @default WEB_SEED_CONNECTIONS */
  readonly connections?: number;
  /**
   * Ask origins only while peers deliver less than this to the torrent, bytes/s, so a busy swarm
   * costs the origin little; 0 = always use them. @default 0
   */
  readonly onlyBelowPeerRate?: number;
  /** A PEM file of more CAs to trust for HTTPS origins (beside Node's list and the system's bundle). */
  readonly caFile?: string;
  /** Failed requests in a row after which an origin is dropped. @default MAX_WEB_SEED_FAILURES */
  readonly maxFailures?: number;
  /** Back-off after a first failure, ms (doubled after each further one). @default WEB_SEED_RETRY_BASE_MS */
  readonly retryBaseMs?: number;
  /** A request that receives nothing for this long fails, ms. @default WEB_SEED_IDLE_TIMEOUT_MS */
  readonly idleTimeoutMs?: number;
}

/** {@link WebSeedOptions} with its defaults. */
export interface ResolvedWebSeedOptions {
  readonly fromTorrent: boolean;
  readonly connections: number;
  readonly onlyBelowPeerRate: number;
  readonly caFile: string | undefined;
  readonly maxFailures: number;
  readonly retryBaseMs: number;
  readonly idleTimeoutMs: number;
}

/** uTP tunables (see {@link SessionOptions.utp}). */
export interface UtpSessionOptions {
  /** Ceiling of path-MTU probing, in datagram bytes. @default UTP_DEFAULT_MAX_DATAGRAM_BYTES */
  readonly maxDatagramBytes?: number;
  /** Send buffer of one connection, bytes. @default UTP_SEND_BUFFER_BYTES */
  readonly sendBufferBytes?: number;
  /** Receive buffer (the largest advertised window) of one connection, bytes. @default UTP_RECEIVE_BUFFER_BYTES */
  readonly receiveBufferBytes?: number;
  /** Connections on the socket. @default MAX_UTP_CONNECTIONS */
  readonly maxConnections?: number;
  /** Accepted connections waiting for the dialler's second packet. @default MAX_UTP_HALF_OPEN */
  readonly maxHalfOpen?: number;
}

/** A proxy for outgoing connections (SOCKS5, RFC 1928; credentials per RFC 1929). */
export interface ProxyOptions extends Socks5ProxyOptions {
  readonly type: 'socks5';
  /**
   * Use nothing that would bypass the proxy: the DHT and local service discovery (UDP to many
   * hosts, which Shoal does not relay through a proxy) do not run, whatever `dht` and `lsd` say.
   * `false` runs them directly, outside the proxy. @default true
   */
  readonly onlyProxy?: boolean;
}

/** {@link ProxyOptions} with its defaults. */
export interface ResolvedProxy extends Socks5ProxyOptions {
  readonly type: 'socks5';
  readonly onlyProxy: boolean;
}

export interface DhtSessionOptions {
  /** UDP port. @default 0 (any) */
  readonly port?: number;
  /** Bootstrap nodes. @default the public routers */
  readonly bootstrap?: readonly { readonly host: string; readonly port: number }[];
  /** File the routing table is saved to and restored from. */
  readonly statePath?: string;
  /** Node tunables (rate limits, timeouts); tests on loopback relax the per-IP limits. */
  readonly node?: DhtRuntimeNodeOptions;
}

export interface LsdSessionOptions {
  /** Send the multicast announces. @default true */
  readonly multicast?: boolean;
  /** UDP port to listen on. @default 6771 */
  readonly port?: number;
  /** Unicast destinations that get the same announces. */
  readonly unicastTargets?: readonly { readonly host: string; readonly port: number }[];
}

export interface ResolvedOptions {
  readonly port: number;
  readonly host: string;
  readonly listen: boolean;
  readonly downloadDir: string;
  readonly resumeDir: string | undefined;
  readonly peerId: Uint8Array | undefined;
  readonly downloadRateLimit: number;
  readonly uploadRateLimit: number;
  readonly maxConnectionsPerTorrent: number;
  readonly incomingConnectionSlack: number;
  readonly maxConnections: number;
  readonly maxHalfOpenPerTorrent: number;
  readonly maxConnectionsPerAddress: number;
  readonly maxKnownPeersPerTorrent: number;
  readonly transports: readonly Transport[];
  /** uTP's tunables when it runs, else undefined. */
  readonly utp: UtpSessionOptions | undefined;
  readonly transportPolicy: TransportPolicy;
  readonly extensions: readonly ExtensionFactory[];
  readonly encryption: MsePolicy;
  readonly incompleteDir: string | undefined;
  readonly preallocation: Preallocation;
  readonly freeSpace: FreeSpace | undefined;
  readonly seedRatioLimit: number;
  readonly seedIdleLimitMs: number;
  readonly maxActiveDownloads: number;
  readonly maxActiveSeeds: number;
  readonly hashThreads: number;
  readonly lowMemory: boolean;
  readonly hashPool: HashPool | undefined;
  readonly handshakeTimeoutMs: number;
  readonly dht: DhtSessionOptions | undefined;
  readonly lsd: LsdSessionOptions | undefined;
  readonly trackers: boolean;
  readonly webrtc: WebRtcConfig | undefined;
  readonly engine: TorrentEngineOptions;
  readonly proxy: ResolvedProxy | undefined;
  readonly blocklist: BlocklistSource | undefined;
  readonly webSeeds: ResolvedWebSeedOptions;
  readonly portMapping: PortMappingOptions | undefined;
}

function bad(field: string, why: string): ShoalError {
  return new ShoalError(ErrorCode.SessionInvalidArgument, `invalid option ${field}: ${why}`, { field });
}

function count(v: number | undefined, field: string, dflt: number, min = 0): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < min) throw bad(field, `expected an integer ≥ ${min}, got ${v}`);
  return v;
}

export function resolveOptions(o: SessionOptions = {}): ResolvedOptions {
  const port = count(o.port, 'port', 0);
  if (port > 65535) throw bad('port', 'must be ≤ 65535');
  if (o.peerId !== undefined && o.peerId.length !== 20) throw bad('peerId', 'must be 20 bytes');
  const proxy = resolveProxy(o.proxy);
  // Only the proxy carries our traffic: the UDP-to-anyone services stay off.
  const direct = proxy === undefined || !proxy.onlyProxy;
  const host = o.host ?? '::';
  const { utp, transportPolicy } = resolveUtp(o, host, direct);
  return Object.freeze({
    port,
    host,
    listen: o.listen ?? true,
    downloadDir: o.downloadDir ?? process.cwd(),
    resumeDir: o.resumeDir,
    peerId: o.peerId,
    downloadRateLimit: count(o.downloadRateLimit, 'downloadRateLimit', 0),
    uploadRateLimit: count(o.uploadRateLimit, 'uploadRateLimit', 0),
    maxConnectionsPerTorrent: count(
      o.maxConnectionsPerTorrent,
      'maxConnectionsPerTorrent',
      MAX_CONNECTIONS_PER_TORRENT,
      1,
    ),
    incomingConnectionSlack: count(
      o.incomingConnectionSlack,
      'incomingConnectionSlack',
      INCOMING_CONNECTION_SLACK,
      0,
    ),
    maxConnections: count(o.maxConnections, 'maxConnections', MAX_CONNECTIONS_TOTAL, 1),
    maxHalfOpenPerTorrent: count(
      o.maxHalfOpenPerTorrent,
      'maxHalfOpenPerTorrent',
      MAX_HALF_OPEN_PER_TORRENT,
      1,
    ),
    maxConnectionsPerAddress: count(
      o.maxConnectionsPerAddress,
      'maxConnectionsPerAddress',
      MAX_CONNECTIONS_PER_ADDRESS,
      1,
    ),
    maxKnownPeersPerTorrent: count(
      o.maxKnownPeersPerTorrent,
      'maxKnownPeersPerTorrent',
      MAX_KNOWN_PEERS_PER_TORRENT,
      1,
    ),
    transports: o.transports ?? [],
    utp,
    transportPolicy,
    extensions: o.extensions ?? [],
    encryption: encryptionPolicy(o.encryption),
    incompleteDir: o.incompleteDir,
    preallocation: preallocationMode(o.preallocation),
    freeSpace: o.freeSpace,
    seedRatioLimit: nonNegative(o.seedRatioLimit, 'seedRatioLimit'),
    seedIdleLimitMs: count(o.seedIdleLimitMs, 'seedIdleLimitMs', 0),
    maxActiveDownloads: count(o.maxActiveDownloads, 'maxActiveDownloads', 0),
    maxActiveSeeds: count(o.maxActiveSeeds, 'maxActiveSeeds', 0),
    // One core stays with the event loop (sockets, disk), the others verify pieces.
    hashThreads: count(o.hashThreads, 'hashThreads', Math.max(1, availableParallelism() - 1), 1),
    lowMemory: o.lowMemory === true,
    hashPool: o.hashPool,
    handshakeTimeoutMs: count(o.handshakeTimeoutMs, 'handshakeTimeoutMs', HANDSHAKE_TIMEOUT_MS, 1),
    dht: !direct || o.dht === false || o.dht === undefined ? undefined : o.dht === true ? {} : o.dht,
    lsd: !direct || o.lsd === false || o.lsd === undefined ? undefined : o.lsd === true ? {} : o.lsd,
    trackers: o.trackers ?? true,
    webrtc:
      proxy !== undefined || o.webrtc === false
        ? undefined
        : o.webrtc === true || o.webrtc === undefined
          ? {}
          : o.webrtc,
    engine: o.engine ?? {},
    proxy,
    blocklist: blocklistSource(o.blocklist),
    webSeeds: resolveWebSeeds(o.webSeeds ?? {}),
    portMapping:
      proxy !== undefined || o.listen === false || o.portMapping === undefined || o.portMapping === false
        ? undefined
        : o.portMapping === true
          ? {}
          : o.portMapping,
  });
}

function resolveWebSeeds(w: WebSeedOptions): ResolvedWebSeedOptions {
  const connections = count(w.connections, 'webSeeds.connections', WEB_SEED_CONNECTIONS, 1);
  if (connections > MAX_WEB_SEED_CONNECTIONS)
    throw bad('webSeeds.connections', `must be ≤ ${MAX_WEB_SEED_CONNECTIONS}`);
  return Object.freeze({
    fromTorrent: w.fromTorrent ?? true,
    connections,
    onlyBelowPeerRate: nonNegative(w.onlyBelowPeerRate, 'webSeeds.onlyBelowPeerRate'),
    caFile: w.caFile,
    maxFailures: count(w.maxFailures, 'webSeeds.maxFailures', MAX_WEB_SEED_FAILURES, 1),
    retryBaseMs: count(w.retryBaseMs, 'webSeeds.retryBaseMs', WEB_SEED_RETRY_BASE_MS, 1),
    idleTimeoutMs: count(w.idleTimeoutMs, 'webSeeds.idleTimeoutMs', WEB_SEED_IDLE_TIMEOUT_MS, 1),
  });
}

function resolveUtp(
  o: SessionOptions,
  host: string,
  direct: boolean,
): { utp: UtpSessionOptions | undefined; transportPolicy: TransportPolicy } {
  const policy = o.transportPolicy;
  if (policy !== undefined && !(TRANSPORT_POLICIES as readonly string[]).includes(policy))
    throw bad('transportPolicy', `expected one of ${TRANSPORT_POLICIES.join(', ')}, got ${String(policy)}`);
  const wanted = o.utp ?? (policy !== undefined && policy !== 'tcp-only');
  if (wanted === false) {
    if (policy !== undefined && policy !== 'tcp-only') throw bad('transportPolicy', `${policy} needs utp`);
    return { utp: undefined, transportPolicy: 'tcp-only' };
  }
  if (!direct) throw bad('utp', 'uTP would bypass the proxy');
  if (isIPv6(host) && host !== '::') throw bad('utp', `uTP runs on IPv4; host ${host} is IPv6 only`);
  const u = wanted === true ? {} : wanted;
  const datagram = u.maxDatagramBytes;
  if (
    datagram !== undefined &&
    (!Number.isSafeInteger(datagram) ||
      datagram < UTP_MIN_DATAGRAM_BYTES ||
      datagram > UTP_MAX_DATAGRAM_BYTES)
  )
    throw bad('utp.maxDatagramBytes', `expected ${UTP_MIN_DATAGRAM_BYTES} … ${UTP_MAX_DATAGRAM_BYTES}`);
  // A buffer must hold at least one full packet.
  const packet = datagram ?? UTP_DEFAULT_MAX_DATAGRAM_BYTES;
  count(u.sendBufferBytes, 'utp.sendBufferBytes', 0, packet);
  count(u.receiveBufferBytes, 'utp.receiveBufferBytes', 0, packet);
  count(u.maxConnections, 'utp.maxConnections', 0, 1);
  count(u.maxHalfOpen, 'utp.maxHalfOpen', 0, 1);
  return { utp: Object.freeze({ ...u }), transportPolicy: policy ?? 'utp-first' };
}

/** Checks a preallocation mode named by a user. */
export function preallocationMode(v: string | undefined): Preallocation {
  if (v === undefined) return 'sparse';
  if (v !== 'sparse' && v !== 'full') throw bad('preallocation', `expected sparse or full, got ${v}`);
  return v;
}

function nonNegative(v: number | undefined, field: string): number {
  if (v === undefined) return 0;
  if (!Number.isFinite(v) || v < 0) throw bad(field, `expected a number ≥ 0, got ${v}`);
  return v;
}

function resolveProxy(p: ProxyOptions | undefined): ResolvedProxy | undefined {
  if (p === undefined) return undefined;
  if (p.type !== 'socks5') throw bad('proxy', `type must be 'socks5', got ${String(p.type)}`);
  const why = checkSocks5Proxy(p);
  if (why !== undefined) throw bad('proxy', why);
  return Object.freeze({ ...p, onlyProxy: p.onlyProxy ?? true });
}

/** Checks a blocklist source named by a user. */
export function blocklistSource(b: BlocklistSource | undefined): BlocklistSource | undefined {
  if (b === undefined) return undefined;
  const ok =
    typeof b === 'object' &&
    b !== null &&
    (('path' in b && typeof b.path === 'string' && b.path !== '') ||
      ('text' in b && typeof b.text === 'string'));
  if (!ok) throw bad('blocklist', 'expected { path } or { text }');
  return b;
}

const POLICIES: readonly MsePolicy[] = ['disabled', 'enabled', 'prefer', 'require'];

/** Checks an encryption policy named by a user. */
export function encryptionPolicy(v: string | undefined): MsePolicy {
  if (v === undefined) return 'enabled';
  if (!(POLICIES as readonly string[]).includes(v))
    throw bad('encryption', `expected one of ${POLICIES.join(', ')}, got ${v}`);
  return v as MsePolicy;
}
