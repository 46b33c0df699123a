/**
 * HTTP tracker messages, both directions, as pure functions (no I/O).
 *
 * Announce (BEP 3): `GET <announce>?info_hash=..&peer_id=..&port=..&uploaded=..&downloaded=..
 * &left=..&compact=1[&event=started|completed|stopped][&numwant=N][&key=HEX][&trackerid=..]`.
 * `info_hash` and `peer_id` are raw bytes, percent-encoded byte by byte (RFC 3986 unreserved
 * characters stay literal). The reply is a bencoded dictionary:
 *
 *   failure reason  string          -- and nothing else matters
 *   warning message string          -- optional, with an otherwise valid reply
 *   interval        int (seconds)   -- min interval (int), tracker id (string), complete, incomplete (int)
 *   peers           string          -- compact, 6 bytes per IPv4 peer (BEP 23)
 *                 | list of dict    -- {ip: string, port: int, peer id: 20 bytes} (BEP 3)
 *   peers6          string          -- compact, 18 bytes per IPv6 peer (BEP 7)
 *
 * Scrape (BEP 48): the announce URL whose last path segment starts with `announce` has that word
 * replaced by `scrape`; `?info_hash=..` repeated; reply `d5:filesd<20-byte hash>d8:completei..e
 * 10:downloadedi..e10:incompletei..eeee`.
 *
 * Replies come from the network and are untrusted: every decoder here either returns a value
 * within the bounds of src/shared/limits.ts or throws a {@link TrackerError}.
 */
import { asBytes, asDict, asInt, BencodeDict, type BencodeValue, decode, encode } from '../codec/index.js';
import { ErrorCode, isShoalError } from '../shared/errors.js';
import {
  MAX_TRACKER_MESSAGE_BYTES,
  MAX_TRACKER_PEERS_PER_RESPONSE,
  TRACKER_MAX_QUERY_BYTES,
  TRACKER_MAX_QUERY_PARAMS,
  TRACKER_MAX_SCRAPE_HASHES,
} from '../shared/limits.js';
import { TrackerError } from './errors.js';
import { decodeTrackerPeers, formatIpv6, parseIpAddress } from './tracker-address.js';
import type {
  AnnounceRequest,
  AnnounceResponse,
  ScrapeEntry,
  TrackerEvent,
  TrackerPeer,
} from './tracker-types.js';

/** Interval assumed when a reply has none (BEP 3 makes it mandatory; some trackers omit it). */
export const DEFAULT_TRACKER_INTERVAL_S = 1800;

const HEX = '0123456789ABCDEF';
const utf8Lossy = new TextDecoder('utf-8');

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x5f || // _
    c === 0x7e // ~
  );
}

/** Percent-encodes raw bytes for a query string: unreserved characters literal, the rest `%XX`. */
export function percentEncodeBytes(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += isUnreserved(c) ? String.fromCharCode(c) : `%${HEX[c >> 4]}${HEX[c & 15]}`;
  return s;
}

/** Text of a tracker-supplied message, bounded to MAX_TRACKER_MESSAGE_BYTES. */
export function trackerMessageText(b: Uint8Array): string {
  return utf8Lossy.decode(b.subarray(0, MAX_TRACKER_MESSAGE_BYTES));
}

function appendQuery(url: string, query: string): string {
  const hash = url.indexOf('#');
  const base = hash >= 0 ? url.slice(0, hash) : url;
  if (!base.includes('?')) return `${base}?${query}`;
  return base.endsWith('?') || base.endsWith('&') ? base + query : `${base}&${query}`;
}

/** Checks the fixed-size fields every announce needs; a mismatch is a caller bug reported as `TrackerRequest`. */
export function checkAnnounceRequest(req: AnnounceRequest, url: string): void {
  const bad = (what: string): never => {
    throw new TrackerError(ErrorCode.TrackerRequest, `invalid announce: ${what}`, { url });
  };
  if (req.infoHash.length !== 20) bad(`info_hash must be 20 bytes, got ${req.infoHash.length}`);
  if (req.peerId.length !== 20) bad(`peer_id must be 20 bytes, got ${req.peerId.length}`);
  if (!Number.isInteger(req.port) || req.port < 0 || req.port > 65535) bad(`port ${req.port}`);
  for (const k of ['uploaded', 'downloaded', 'left'] as const) {
    const v = req[k];
    if (!Number.isSafeInteger(v) || v < 0) bad(`${k} ${v}`);
  }
}

/** The full announce URL for `req` (BEP 3, compact BEP 23). */
export function buildAnnounceUrl(announceUrl: string, req: AnnounceRequest): string {
  checkAnnounceRequest(req, announceUrl);
  let q =
    `info_hash=${percentEncodeBytes(req.infoHash)}&peer_id=${percentEncodeBytes(req.peerId)}` +
    `&port=${req.port}&uploaded=${req.uploaded}&downloaded=${req.downloaded}&left=${req.left}&compact=1`;
  if (req.event !== 'none') q += `&event=${req.event}`;
  if (req.numwant !== undefined) q += `&numwant=${Math.max(0, Math.floor(req.numwant))}`;
  if (req.key !== undefined) q += `&key=${(req.key >>> 0).toString(16).padStart(8, '0')}`;
  if (req.trackerId !== undefined) q += `&trackerid=${percentEncodeBytes(req.trackerId)}`;
  return appendQuery(announceUrl, q);
}

/**
 * The scrape URL of an announce URL (BEP 48): the last path segment must start with `announce`,
 * which becomes `scrape`; anything else means the tracker does not support scrape (`undefined`).
 */
export function scrapeUrlFromAnnounce(announceUrl: string): string | undefined {
  const q = announceUrl.search(/[?#]/);
  const path = q >= 0 ? announceUrl.slice(0, q) : announceUrl;
  const rest = q >= 0 ? announceUrl.slice(q) : '';
  const slash = path.lastIndexOf('/');
  if (slash < 0 || !path.startsWith('announce', slash + 1)) return undefined;
  return `${path.slice(0, slash + 1)}scrape${path.slice(slash + 1 + 'announce'.length)}${rest}`;
}

/** The scrape URL asking for `infoHashes` (BEP 48). */
export function buildScrapeUrl(scrapeUrl: string, infoHashes: readonly Uint8Array[]): string {
  return appendQuery(scrapeUrl, infoHashes.map((h) => `info_hash=${percentEncodeBytes(h)}`).join('&'));
}

function decodeReplyDict(body: Uint8Array, url: string): BencodeDict {
  let v: BencodeValue;
  try {
    v = decode(body, { mode: 'lenient' });
  } catch (e) {
    if (!isShoalError(e)) throw e;
    throw new TrackerError(
      ErrorCode.TrackerBadResponse,
      `tracker reply is not bencode: ${e.message}`,
      { url },
      {
        cause: e,
      },
    );
  }
  const d = asDict(v);
  if (d === undefined) {
    throw new TrackerError(ErrorCode.TrackerBadResponse, 'tracker reply is not a dictionary', { url });
  }
  const failure = d.get('failure reason');
  if (failure !== undefined) {
    const bytes = asBytes(failure);
    const reason = bytes === undefined ? String(asInt(failure) ?? '?') : trackerMessageText(bytes);
    throw new TrackerError(ErrorCode.TrackerFailure, `tracker failure: ${reason}`, {
      url,
      failureReason: reason,
    });
  }
  return d;
}

function optionalCount(d: BencodeDict, key: string, url: string): number | undefined {
  const v = d.get(key);
  if (v === undefined) return undefined;
  const n = asInt(v);
  if (n === undefined || n < 0) {
    throw new TrackerError(ErrorCode.TrackerBadResponse, `tracker reply: "${key}" is not a count`, { url });
  }
  return n;
}

function dictPeers(list: readonly BencodeValue[], out: TrackerPeer[], max: number): void {
  for (const item of list) {
    if (out.length >= max) return;
    const d = asDict(item);
    if (d === undefined) continue;
    const ipBytes = asBytes(d.get('ip'));
    const port = asInt(d.get('port'));
    if (ipBytes === undefined || port === undefined || port <= 0 || port > 65535) continue;
    // Only address literals: a tracker cannot make us resolve names it chose.
    const ip = ipBytes.length <= 45 ? parseIpAddress(String.fromCharCode(...ipBytes)) : undefined;
    if (ip === undefined) continue;
    const host = ip.family === 4 ? ip.bytes.join('.') : formatIpv6(ip.bytes);
    const peerId = asBytes(d.get('peer id'));
    out.push(
      peerId !== undefined && peerId.length === 20
        ? { host, port, family: ip.family, peerId: new Uint8Array(peerId) }
        : { host, port, family: ip.family },
    );
  }
}

/**
 * Decodes an HTTP announce reply (BEP 3, BEP 7, BEP 23). Throws `TrackerFailure` for a
 * `failure reason`, `TrackerBadResponse` for anything malformed.
 */
export function decodeHttpAnnounceResponse(
  body: Uint8Array,
  url: string,
  maxPeers = MAX_TRACKER_PEERS_PER_RESPONSE,
): AnnounceResponse {
  const d = decodeReplyDict(body, url);
  const interval = optionalCount(d, 'interval', url) ?? DEFAULT_TRACKER_INTERVAL_S;
  const minInterval = optionalCount(d, 'min interval', url);
  const complete = optionalCount(d, 'complete', url);
  const incomplete = optionalCount(d, 'incomplete', url);
  const trackerId = asBytes(d.get('tracker id'));
  const warningBytes = asBytes(d.get('warning message'));
  const peers: TrackerPeer[] = [];
  const p4 = d.get('peers');
  if (p4 instanceof Uint8Array) decodeTrackerPeers(p4, 4, peers, maxPeers);
  else if (Array.isArray(p4)) dictPeers(p4, peers, maxPeers);
  else if (p4 !== undefined) {
    throw new TrackerError(
      ErrorCode.TrackerBadResponse,
      'tracker reply: "peers" is neither string nor list',
      {
        url,
      },
    );
  }
  const p6 = d.get('peers6');
  if (p6 instanceof Uint8Array) decodeTrackerPeers(p6, 6, peers, maxPeers);
  return {
    interval,
    peers,
    ...(minInterval !== undefined ? { minInterval } : {}),
    ...(trackerId !== undefined && trackerId.length > 0 ? { trackerId: new Uint8Array(trackerId) } : {}),
    ...(complete !== undefined ? { complete } : {}),
    ...(incomplete !== undefined ? { incomplete } : {}),
    ...(warningBytes !== undefined ? { warning: trackerMessageText(warningBytes) } : {}),
  };
}

/** Decodes an HTTP scrape reply (BEP 48); only 20-byte keys of `files` are kept. */
export function decodeHttpScrapeResponse(body: Uint8Array, url: string): ScrapeEntry[] {
  const d = decodeReplyDict(body, url);
  const files = asDict(d.get('files'));
  if (files === undefined) {
    throw new TrackerError(ErrorCode.TrackerBadResponse, 'scrape reply has no "files" dictionary', { url });
  }
  const out: ScrapeEntry[] = [];
  for (const e of files.entries) {
    if (e.key.length !== 20 || out.length >= TRACKER_MAX_SCRAPE_HASHES) continue;
    const f = asDict(e.value);
    if (f === undefined) continue;
    out.push({
      infoHash: new Uint8Array(e.key),
      complete: Math.max(0, asInt(f.get('complete')) ?? 0),
      downloaded: Math.max(0, asInt(f.get('downloaded')) ?? 0),
      incomplete: Math.max(0, asInt(f.get('incomplete')) ?? 0),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Server side: parsing requests, encoding replies.

/** A parsed HTTP request target: path and percent-decoded query parameters (names as text). */
export interface HttpTrackerQuery {
  readonly path: string;
  readonly params: ReadonlyMap<string, readonly Uint8Array[]>;
}

function badRequest(reason: string): never {
  throw new TrackerError(ErrorCode.TrackerBadRequest, reason, { url: '', failureReason: reason });
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function percentDecode(s: string, from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from);
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hi = i + 2 < to ? hexValue(s.charCodeAt(i + 1)) : -1;
      const lo = hi >= 0 ? hexValue(s.charCodeAt(i + 2)) : -1;
      if (lo < 0) badRequest('invalid percent-encoding in query');
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else {
      out[n++] = c & 0xff;
    }
  }
  return out.subarray(0, n);
}

/**
 * Parses a request target (`/announce?info_hash=...`). Throws `TrackerBadRequest` (with a
 * `failureReason`) when it is longer than TRACKER_MAX_QUERY_BYTES, has more than
 * TRACKER_MAX_QUERY_PARAMS parameters or a broken percent-escape.
 */
export function parseHttpTarget(target: string): HttpTrackerQuery {
  if (target.length > TRACKER_MAX_QUERY_BYTES) badRequest('request too long');
  const q = target.indexOf('?');
  const path = q >= 0 ? target.slice(0, q) : target;
  const params = new Map<string, Uint8Array[]>();
  if (q < 0) return { path, params };
  let count = 0;
  let at = q + 1;
  while (at <= target.length) {
    let end = target.indexOf('&', at);
    if (end < 0) end = target.length;
    if (end > at) {
      if (++count > TRACKER_MAX_QUERY_PARAMS) badRequest('too many query parameters');
      const eq = target.indexOf('=', at);
      const nameEnd = eq >= 0 && eq < end ? eq : end;
      const name = String.fromCharCode(...percentDecode(target, at, nameEnd));
      const value = nameEnd < end ? percentDecode(target, nameEnd + 1, end) : new Uint8Array(0);
      const list = params.get(name);
      if (list === undefined) params.set(name, [value]);
      else list.push(value);
    }
    at = end + 1;
  }
  return { path, params };
}

/** An announce as the tracker server sees it (BEP 3 query parameters). */
export interface HttpAnnounceQuery {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly event: TrackerEvent;
  /** Absent when the client did not say. */
  readonly numwant?: number;
  /** `compact=0` asks for the dictionary peer list; compact is the default. */
  readonly compact: boolean;
  /** `no_peer_id=1`: leave `peer id` out of dictionary peers. */
  readonly noPeerId: boolean;
}

function single(params: HttpTrackerQuery['params'], name: string): Uint8Array | undefined {
  return params.get(name)?.[0];
}

function decimal(b: Uint8Array | undefined, name: string, required: boolean): number | undefined {
  if (b === undefined || b.length === 0) {
    if (required) badRequest(`missing ${name}`);
    return undefined;
  }
  if (b.length > 20) badRequest(`invalid ${name}`);
  let n = 0;
  for (const c of b) {
    if (c < 0x30 || c > 0x39) badRequest(`invalid ${name}`);
    n = n * 10 + (c - 0x30);
  }
  // Beyond 2^53 precision is lost; the value only feeds statistics and "left > 0".
  return n;
}

/**
 * Validates the parameters of an HTTP announce (BEP 3). Throws `TrackerBadRequest` whose
 * `failureReason` is fit to send back as the reply's `failure reason`.
 */
export function parseHttpAnnounceQuery(query: HttpTrackerQuery): HttpAnnounceQuery {
  const { params } = query;
  const infoHash = single(params, 'info_hash');
  if (infoHash === undefined) badRequest('missing info_hash');
  if (infoHash.length !== 20) badRequest('invalid info_hash: must be 20 bytes');
  const peerId = single(params, 'peer_id');
  if (peerId === undefined) badRequest('missing peer_id');
  if (peerId.length !== 20) badRequest('invalid peer_id: must be 20 bytes');
  const port = decimal(single(params, 'port'), 'port', true)!;
  if (port < 1 || port > 65535) badRequest('invalid port');
  const ev = single(params, 'event');
  const evText = ev === undefined ? '' : String.fromCharCode(...ev.subarray(0, 16));
  let event: TrackerEvent;
  if (evText === '' || evText === 'empty' || evText === 'paused') event = 'none';
  else if (evText === 'started' || evText === 'completed' || evText === 'stopped') event = evText;
  else badRequest('invalid event');
  const numwant = decimal(single(params, 'numwant'), 'numwant', false);
  const compactParam = single(params, 'compact');
  const noPeerIdParam = single(params, 'no_peer_id');
  return {
    infoHash,
    peerId,
    port,
    uploaded: decimal(single(params, 'uploaded'), 'uploaded', false) ?? 0,
    downloaded: decimal(single(params, 'downloaded'), 'downloaded', false) ?? 0,
    // A missing `left` is taken as "still downloading" rather than guessed as a seeder.
    left: decimal(single(params, 'left'), 'left', false) ?? 1,
    event,
    ...(numwant !== undefined ? { numwant } : {}),
    compact: !(compactParam !== undefined && compactParam.length === 1 && compactParam[0] === 0x30),
    noPeerId: noPeerIdParam !== undefined && noPeerIdParam.length === 1 && noPeerIdParam[0] === 0x31,
  };
}

/**
 * The info-hashes of an HTTP scrape (BEP 48); at most TRACKER_MAX_SCRAPE_HASHES, each 20 bytes.
 * No `info_hash` at all (a "full scrape") is refused: it would disclose and cost everything.
 */
export function parseHttpScrapeQuery(query: HttpTrackerQuery): Uint8Array[] {
  const hashes = query.params.get('info_hash') ?? [];
  if (hashes.length === 0) badRequest('full scrape is not supported: give info_hash');
  if (hashes.length > TRACKER_MAX_SCRAPE_HASHES) badRequest('too many info_hash values');
  for (const h of hashes) if (h.length !== 20) badRequest('invalid info_hash: must be 20 bytes');
  return [...hashes];
}

/** The fields of an HTTP announce reply the server fills in. */
export interface HttpAnnounceReply {
  readonly interval: number;
  readonly minInterval?: number;
  readonly complete: number;
  readonly incomplete: number;
  /** Compact IPv4 peers (BEP 23). */
  readonly peers4?: Uint8Array;
  /** Compact IPv6 peers (BEP 7). */
  readonly peers6?: Uint8Array;
  /** Non-compact peers (BEP 3); replaces `peers4`/`peers6` when given. */
  readonly peerList?: readonly TrackerPeer[];
  readonly warning?: string;
}

/** Encodes an announce reply (BEP 3, BEP 7, BEP 23). */
export function encodeHttpAnnounceReply(r: HttpAnnounceReply): Uint8Array {
  const pairs: [string, BencodeValue][] = [
    ['complete', r.complete],
    ['incomplete', r.incomplete],
    ['interval', r.interval],
  ];
  if (r.minInterval !== undefined) pairs.push(['min interval', r.minInterval]);
  if (r.warning !== undefined) pairs.push(['warning message', new TextEncoder().encode(r.warning)]);
  if (r.peerList !== undefined) {
    pairs.push([
      'peers',
      r.peerList.map((p) =>
        BencodeDict.from([
          ['ip', new TextEncoder().encode(p.host)],
          ...(p.peerId !== undefined ? [['peer id', p.peerId] as const] : []),
          ['port', p.port],
        ]),
      ),
    ]);
  } else {
    pairs.push(['peers', r.peers4 ?? new Uint8Array(0)]);
    if (r.peers6 !== undefined && r.peers6.length > 0) pairs.push(['peers6', r.peers6]);
  }
  return encode(BencodeDict.from(pairs));
}

/** Encodes a `failure reason` reply (BEP 3). */
export function encodeHttpFailure(reason: string): Uint8Array {
  return encode({ 'failure reason': reason });
}

/** Encodes a scrape reply (BEP 48). */
export function encodeHttpScrapeReply(entries: readonly ScrapeEntry[]): Uint8Array {
  const files = BencodeDict.from(
    entries.map(
      (e) =>
        [
          e.infoHash,
          BencodeDict.from([
            ['complete', e.complete],
            ['downloaded', e.downloaded],
            ['incomplete', e.incomplete],
          ]),
        ] as const,
    ),
  );
  return encode(BencodeDict.from([['files', files]]));
}
