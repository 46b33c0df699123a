/**
 * Where a DHT runtime joins the network (BEP 5 §Routing Table: "an initial node"): the public
 * routers by default, or any `host:port` list given by the user. Names are resolved with DNS
 * here, in the I/O layer; the pure node only ever sees IP literals.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Address, AddressFamily } from '../dht/index.js';
import { DhtError } from '../dht/index.js';
import { ErrorCode } from '../shared/errors.js';

/** A UDP endpoint given by name or IP literal (IPv6 literals without brackets). */
export interface DhtEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * The public bootstrap routers most clients use (libtorrent, Transmission, uTorrent). Never used
 * by tests: every test passes its own local nodes.
 */
export const DHT_DEFAULT_BOOTSTRAP: readonly DhtEndpoint[] = Object.freeze([
  { host: 'router.bittorrent.com', port: 6881 },
  { host: 'dht.transmissionbt.com', port: 6881 },
  { host: 'router.utorrent.com', port: 6881 },
  { host: 'dht.libtorrent.org', port: 25401 },
]);

/** Resolves a host name to its addresses (both families). */
export type DhtResolver = (host: string) => Promise<readonly { address: string; family: AddressFamily }[]>;

/** The default {@link DhtResolver}: `getaddrinfo` through node:dns, every address. */
export const defaultDhtResolver: DhtResolver = async (host) => {
  const all = await dnsLookup(host, { all: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * Parses `host:port` or `[ipv6]:port` (a bare IPv6 literal followed by `:port` is ambiguous and
 * refused). Throws `DhtInvalidArgument` for anything else.
 */
export function parseDhtEndpoint(text: string): DhtEndpoint {
  const bad = (why: string) => new DhtError(ErrorCode.DhtInvalidArgument, `"${text}": ${why}`);
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw bad('expected [ipv6]:port');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) throw bad('not an IPv6 address between the brackets');
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) throw bad('expected host:port');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw bad('write IPv6 addresses as [address]:port');
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad('the port must be a number');
  const port = Number(portText);
  if (port < 1 || port > 65535) throw bad('the port must be in 1..65535');
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw bad('not a host name or IP address');
  return { host, port };
}

/** Formats an endpoint as `host:port` or `[ipv6]:port`. */
export function formatDhtEndpoint(e: DhtEndpoint): string {
  return isIP(e.host) === 6 ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** A bootstrap host that could not be resolved. */
export interface DhtResolveFailure {
  readonly host: string;
  readonly message: string;
}

/** Bootstrap addresses sorted by family, and the names that failed. */
export interface ResolvedBootstrap {
  readonly ipv4: readonly Address[];
  readonly ipv6: readonly Address[];
  readonly failures: readonly DhtResolveFailure[];
}

/**
 * Resolves every endpoint (IP literals pass through, names go to `resolve`, in parallel) and
 * splits the addresses by family, without duplicates. Never rejects: failures are listed.
 */
export async function resolveDhtEndpoints(
  endpoints: readonly DhtEndpoint[],
  resolve: DhtResolver = defaultDhtResolver,
): Promise<ResolvedBootstrap> {
  const ipv4: Address[] = [];
  const ipv6: Address[] = [];
  const failures: DhtResolveFailure[] = [];
  const seen = new Set<string>();
  const add = (host: string, family: number, port: number) => {
    const key = `${host}|${port}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (family === 4) ipv4.push({ host, port });
    else if (family === 6) ipv6.push({ host, port });
  };
  const results = await Promise.allSettled(
    endpoints.map(async (e) => {
      const literal = isIP(e.host);
      if (literal !== 0) return [{ address: e.host, family: literal }];
      return resolve(e.host);
    }),
  );
  results.forEach((r, i) => {
    const e = endpoints[i]!;
    if (r.status === 'fulfilled') {
      for (const a of r.value) add(a.address, a.family, e.port);
      if (r.value.length === 0) failures.push({ host: e.host, message: 'no address' });
    } else {
      const why = r.reason instanceof Error ? r.reason.message : String(r.reason);
      failures.push({ host: e.host, message: why });
    }
  });
  return { ipv4, ipv6, failures };
}
