/**
 * The HTTP front end's request handler: `GET /announce` (BEP 3, compact BEP 23, `peers6` BEP 7),
 * `GET /scrape` (BEP 48, no full scrape), `GET /stats` (HTML) and `GET /stats.json`.
 * Any path ending in `/announce` or `/scrape` works, so `/<passkey>/announce` style URLs do too.
 *
 * Malformed announces and refused torrents are answered with HTTP 200 and a bencoded
 * `failure reason`, as clients expect; nothing a client sends throws out of here.
 */
import {
  encodeHttpAnnounceReply,
  encodeHttpFailure,
  encodeHttpScrapeReply,
  formatIpv6,
  type HttpAnnounceQuery,
  type HttpTrackerQuery,
  type IpBytes,
  parseHttpAnnounceQuery,
  parseHttpScrapeQuery,
  parseHttpTarget,
  parseIpAddress,
  TrackerError,
  type TrackerPeer,
} from '../discovery/index.js';
import { ErrorCode } from '../shared/errors.js';
import { renderStatsHtml, trackerStats } from './stats-page.js';
import { infoHashKey, type TrackedPeer } from './swarm-state.js';
import type { TrackerCore } from './tracker-core.js';

/** A reply for the HTTP server to send. */
export interface HttpTrackerReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: Uint8Array;
}

const BENCODE = 'text/plain';

function bencoded(body: Uint8Array): HttpTrackerReply {
  return { status: 200, contentType: BENCODE, body };
}

function ipv4Number(ip: IpBytes): number {
  const b = ip.bytes;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function writeCompact(p: TrackedPeer, out: Buffer, at: number): number {
  if (p.family === 4) {
    out.writeUInt32BE(p.ip4, at);
    out.writeUInt16BE(p.port, at + 4);
    return at + 6;
  }
  out.set(p.ip6, at);
  out.writeUInt16BE(p.port, at + 16);
  return at + 18;
}

function peerAddress(p: TrackedPeer, withId: boolean): TrackerPeer {
  const host =
    p.family === 4
      ? `${p.ip4 >>> 24}.${(p.ip4 >>> 16) & 255}.${(p.ip4 >>> 8) & 255}.${p.ip4 & 255}`
      : formatIpv6(p.ip6);
  return withId
    ? { host, port: p.port, family: p.family, peerId: Buffer.from(p.peerId, 'latin1') }
    : { host, port: p.port, family: p.family };
}

function announce(core: TrackerCore, query: HttpTrackerQuery, ip: IpBytes): HttpTrackerReply {
  const q: HttpAnnounceQuery = parseHttpAnnounceQuery(query);
  const key = infoHashKey(q.infoHash);
  const requester = {
    family: ip.family,
    ip4: ip.family === 4 ? ipv4Number(ip) : 0,
    ip6: ip.bytes,
    port: q.port,
  };
  const r = core.state.announce({
    infoHashKey: key,
    ...requester,
    peerId: Buffer.from(q.peerId.buffer, q.peerId.byteOffset, q.peerId.byteLength).toString('latin1'),
    left: q.left,
    event: q.event,
  });
  if (!r.ok) {
    core.counters.httpFailures++;
    return bencoded(encodeHttpFailure(r.reason));
  }
  core.counters.httpAnnounces++;
  const want = q.event === 'stopped' ? 0 : core.numwant(q.numwant);
  const own = ip.family;
  const other: 4 | 6 = own === 4 ? 6 : 4;
  const base = {
    interval: core.intervalS,
    minInterval: core.minIntervalS,
    complete: r.counts.complete,
    incomplete: r.counts.incomplete,
  };
  if (!q.compact) {
    const peerList: TrackerPeer[] = [];
    const visit = (p: TrackedPeer): void => {
      peerList.push(peerAddress(p, !q.noPeerId));
    };
    const got = core.state.sample(key, own, want, requester, visit);
    core.state.sample(key, other, want - got, requester, visit);
    return bencoded(encodeHttpAnnounceReply({ ...base, peerList }));
  }
  const buf4 = Buffer.allocUnsafe(6 * want);
  const buf6 = Buffer.allocUnsafe(18 * want);
  let at4 = 0;
  let at6 = 0;
  const visit = (p: TrackedPeer): void => {
    if (p.family === 4) at4 = writeCompact(p, buf4, at4);
    else at6 = writeCompact(p, buf6, at6);
  };
  const got = core.state.sample(key, own, want, requester, visit);
  core.state.sample(key, other, want - got, requester, visit);
  return bencoded(
    encodeHttpAnnounceReply({ ...base, peers4: buf4.subarray(0, at4), peers6: buf6.subarray(0, at6) }),
  );
}

function scrape(core: TrackerCore, query: HttpTrackerQuery): HttpTrackerReply {
  const hashes = parseHttpScrapeQuery(query);
  core.counters.httpScrapes++;
  const entries = [];
  for (const h of hashes) {
    const key = infoHashKey(h);
    // On a private tracker, torrents outside the whitelist do not exist.
    if (!core.state.isAllowed(key)) continue;
    entries.push({ infoHash: h, ...core.state.counts(key) });
  }
  return bencoded(encodeHttpScrapeReply(entries));
}

/**
 * Handles one HTTP request. `remoteAddress` is the socket's peer address (IPv4, IPv6 or
 * IPv4-mapped IPv6); the announced `ip` parameter is ignored so nobody can register another
 * host's address.
 */
export function handleHttpRequest(
  core: TrackerCore,
  method: string,
  target: string,
  remoteAddress: string,
): HttpTrackerReply {
  if (method !== 'GET' && method !== 'HEAD') {
    return { status: 405, contentType: 'text/plain', body: Buffer.from('method not allowed\n') };
  }
  let query: HttpTrackerQuery;
  try {
    query = parseHttpTarget(target);
    const path = query.path;
    if (path === '/announce' || path.endsWith('/announce')) {
      const ip = parseIpAddress(remoteAddress);
      if (ip === undefined) return bencoded(encodeHttpFailure('unknown client address'));
      return announce(core, query, ip);
    }
    if (path === '/scrape' || path.endsWith('/scrape')) return scrape(core, query);
    if (path === '/stats.json') {
      return {
        status: 200,
        contentType: 'application/json',
        body: Buffer.from(`${JSON.stringify(trackerStats(core))}\n`),
      };
    }
    if (path === '/stats' || path === '/') {
      return {
        status: 200,
        contentType: 'text/html; charset=utf-8',
        body: Buffer.from(renderStatsHtml(core)),
      };
    }
    return { status: 404, contentType: 'text/plain', body: Buffer.from('not found\n') };
  } catch (e) {
    if (e instanceof TrackerError && e.code === ErrorCode.TrackerBadRequest) {
      core.counters.httpFailures++;
      return bencoded(encodeHttpFailure(e.details.failureReason ?? e.message));
    }
    throw e;
  }
}
