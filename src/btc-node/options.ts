/**
 * Options of a {@link BtcNode}, and the one place that knows their defaults.
 */
import { BtcError, type ChainParams, NETWORKS } from '../bitcoin/index.js';
import type { PeerPool, Transport } from '../net/index.js';
import { ErrorCode } from '../shared/errors.js';

/** A log sink (pino's shape: fields first, then the message). */
export interface BtcLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

export interface BtcNodeOptions {
  /** Network: a name of `NETWORKS` (`bitcoin`, `bitcoin-testnet4`, `bitcoin-signet`, `bitcoin-regtest`, `litecoin-regtest`) or parameters. @default 'bitcoin' */
  readonly network?: string | ChainParams;
  /** Folder of this network's headers, filter headers, wallet and known peers (created if missing). */
  readonly dataDir: string;
  /** Peers to connect to, `host:port` (a bare host takes the network's port). */
  readonly peers?: readonly string[];
  /**
   * Connect only to {@link peers} (addresses learned from peers are kept, not dialled).
   * @default true when peers are given, else false
   */
  readonly onlyPeers?: boolean;
  /** DNS seeds to ask for addresses when none are known. @default the network's (mainnet only) */
  readonly dnsSeeds?: readonly string[];
  /** Outbound connections to keep. @default 8 */
  readonly maxOutbound?: number;
  /** Accept connections on this TCP address (a light node needs none). @default no listening */
  readonly listen?: { readonly host?: string; readonly port: number };
  /** Ask peers to announce transactions (BIP 37 relay flag): the mempool, compact blocks, unconfirmed payments. @default true */
  readonly relayTransactions?: boolean;
  /** Our `version` user agent. @default '/Shoal:0.1.0/' */
  readonly userAgent?: string;
  /** Time a dial may take, ms. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Refuse nothing on mainnet: {@link BtcNode.send} signs mainnet spends only when this is true. @default false */
  readonly allowMainnetSpends?: boolean;
  /** The peer pool to share (the BitTorrent session's, so bans and limits are the node's). @default a pool of its own */
  readonly pool?: PeerPool;
  /** How to dial. @default TCP */
  readonly transport?: Transport;
  readonly logger?: BtcLogger;
}

/** Options with their defaults applied. */
export interface ResolvedBtcNodeOptions {
  readonly params: ChainParams;
  readonly dataDir: string;
  readonly peers: readonly { host: string; port: number }[];
  readonly onlyPeers: boolean;
  readonly dnsSeeds: readonly string[];
  readonly maxOutbound: number;
  readonly listen: { readonly host?: string; readonly port: number } | undefined;
  readonly relayTransactions: boolean;
  readonly userAgent: string;
  readonly connectTimeoutMs: number;
  readonly allowMainnetSpends: boolean;
}

/** The network's parameters by name; `BtcInvalidArgument` for an unknown one. */
/** Short network names accepted beside the library's (the CLI's and the daemon's). */
export const BTC_NETWORK_ALIASES: Readonly<Record<string, string>> = {
  mainnet: 'bitcoin',
  testnet4: 'bitcoin-testnet4',
  signet: 'bitcoin-signet',
  regtest: 'bitcoin-regtest',
};

export function networkParams(network: string | ChainParams | undefined): ChainParams {
  if (network === undefined) return NETWORKS.bitcoin!;
  if (typeof network !== 'string') return network;
  const p = NETWORKS[BTC_NETWORK_ALIASES[network] ?? network];
  if (p === undefined) {
    throw new BtcError(
      ErrorCode.BtcInvalidArgument,
      `unknown network "${network}" (known: ${Object.keys(NETWORKS).join(', ')})`,
    );
  }
  return p;
}

/** `host:port` (IPv6 in brackets), a bare host taking `defaultPort`. */
export function parsePeerAddress(text: string, defaultPort: number): { host: string; port: number } {
  const t = text.trim();
  const bad = (): never => {
    throw new BtcError(ErrorCode.BtcInvalidArgument, `"${text}" is not host:port`);
  };
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(t);
  if (v6 !== null) {
    host = v6[1]!;
    portText = v6[2];
  } else {
    const parts = t.split(':');
    if (parts.length > 2 || parts[0] === '') bad();
    host = parts[0]!;
    portText = parts[1];
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) bad();
  return { host, port };
}

export function resolveBtcNodeOptions(o: BtcNodeOptions): ResolvedBtcNodeOptions {
  const params = networkParams(o.network);
  if (typeof o.dataDir !== 'string' || o.dataDir === '')
    throw new BtcError(ErrorCode.BtcInvalidArgument, 'dataDir is required');
  const peers = (o.peers ?? []).map((p) => parsePeerAddress(p, params.defaultPort));
  const maxOutbound = o.maxOutbound ?? 8;
  if (!Number.isInteger(maxOutbound) || maxOutbound < 1 || maxOutbound > 64)
    throw new BtcError(ErrorCode.BtcInvalidArgument, 'maxOutbound must be 1 to 64');
  return Object.freeze({
    params,
    dataDir: o.dataDir,
    peers,
    onlyPeers: o.onlyPeers ?? peers.length > 0,
    dnsSeeds: o.dnsSeeds ?? params.dnsSeeds,
    maxOutbound,
    listen: o.listen,
    relayTransactions: o.relayTransactions ?? true,
    userAgent: o.userAgent ?? '/Shoal:0.1.0/',
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    allowMainnetSpends: o.allowMainnetSpends ?? false,
  });
}
