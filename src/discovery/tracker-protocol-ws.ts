/**
 * The WebSocket tracker protocol of WebTorrent (`bittorrent-tracker`): JSON text messages on one
 * WebSocket, used to find WebRTC peers and to carry their SDP offers and answers.
 *
 * - A client announces `{action:'announce', info_hash, peer_id, numwant, uploaded, downloaded,
 *   left, event?, offers?:[{offer:{type:'offer',sdp}, offer_id}]}`. The tracker answers with
 *   `{action:'announce', info_hash, interval, complete, incomplete}` and hands each offer to a
 *   different peer of the swarm as `{action:'announce', info_hash, peer_id (the offerer's),
 *   offer_id, offer}`.
 * - That peer answers `{action:'announce', info_hash, peer_id, to_peer_id, offer_id,
 *   answer:{type:'answer',sdp}}`; the tracker relays it to `to_peer_id` with `peer_id` set to
 *   the answerer.
 * - `{action:'scrape', info_hash: one or a list}` → `{action:'scrape', files:{<hash>:{complete,
 *   incomplete, downloaded}}}`. Errors are `{'failure reason': text}`.
 *
 * Hashes, peer ids and offer ids are *binary strings*: 20 characters, each one byte (U+0000 to
 * U+00FF). Parsing is bounded ({@link MAX_WS_TRACKER_MESSAGE_BYTES}, {@link
 * MAX_WS_OFFERS_PER_ANNOUNCE}, {@link MAX_SDP_BYTES}) and every malformed message is a
 * `TrackerBadRequest` (server side) or `TrackerBadResponse` (client side).
 */
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { toHex } from '../shared/hash.js';
import {
  MAX_SDP_BYTES,
  MAX_WS_OFFERS_PER_ANNOUNCE,
  MAX_WS_SCRAPE_HASHES,
  MAX_WS_TRACKER_MESSAGE_BYTES,
} from '../shared/limits.js';

/** One offer of an announce. */
export interface WsOffer {
  readonly offerId: Uint8Array;
  readonly sdp: string;
}

/** What a client sends. */
export type WsClientMessage =
  | {
      readonly action: 'announce';
      readonly infoHash: Uint8Array;
      readonly peerId: Uint8Array;
      readonly numwant?: number;
      readonly uploaded?: number;
      readonly downloaded?: number;
      readonly left?: number;
      readonly event?: 'started' | 'completed' | 'stopped' | 'update';
      readonly offers?: readonly WsOffer[];
      /** An answer to a relayed offer. */
      readonly answer?: { readonly sdp: string; readonly offerId: Uint8Array; readonly toPeerId: Uint8Array };
    }
  | { readonly action: 'scrape'; readonly infoHashes: readonly Uint8Array[] };

/** What a tracker sends. */
export type WsServerMessage =
  | {
      readonly kind: 'announced';
      readonly infoHash: Uint8Array;
      readonly intervalS?: number;
      readonly complete?: number;
      readonly incomplete?: number;
    }
  | {
      readonly kind: 'offer';
      readonly infoHash: Uint8Array;
      readonly peerId: Uint8Array;
      readonly offerId: Uint8Array;
      readonly sdp: string;
    }
  | {
      readonly kind: 'answer';
      readonly infoHash: Uint8Array;
      readonly peerId: Uint8Array;
      readonly offerId: Uint8Array;
      readonly sdp: string;
    }
  | {
      readonly kind: 'scrape';
      readonly files: ReadonlyMap<string, { complete: number; incomplete: number; downloaded: number }>;
    }
  | { readonly kind: 'failure'; readonly reason: string; readonly infoHash?: Uint8Array }
  | { readonly kind: 'warning'; readonly message: string };

/** 20 bytes as a binary string (one character per byte). */
export function toBinaryString(bytes: Uint8Array): string {
  // No Buffer here or below: the browser bundle (src/browser) speaks this protocol too.
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}

/** A binary string (every char code ≤ 0xff) as bytes. */
function fromBinaryString(v: string): Uint8Array {
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v.charCodeAt(i);
  return out;
}

/** A length of `s` that compares with `limit` as its UTF-8 length does (encoded only when needed). */
function utf8Length(s: string, limit: number): number {
  if (s.length > limit || s.length * 3 <= limit) return s.length;
  return new TextEncoder().encode(s).length;
}

function binary(v: unknown, what: string, bad: (m: string) => ShoalError): Uint8Array {
  if (typeof v !== 'string' || v.length !== 20) throw bad(`${what} is not a 20-byte binary string`);
  for (let i = 0; i < 20; i++) if (v.charCodeAt(i) > 0xff) throw bad(`${what} is not a binary string`);
  return fromBinaryString(v);
}

function sdpOf(v: unknown, type: 'offer' | 'answer', bad: (m: string) => ShoalError): string {
  if (typeof v !== 'object' || v === null) throw bad(`${type} is not an object`);
  const o = v as { type?: unknown; sdp?: unknown };
  if (o.type !== undefined && o.type !== type) throw bad(`${type} has type ${String(o.type)}`);
  if (typeof o.sdp !== 'string') throw bad(`${type} has no sdp`);
  if (o.sdp.length > MAX_SDP_BYTES) throw bad(`${type} sdp longer than ${MAX_SDP_BYTES} bytes`);
  return o.sdp;
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
}

function object(text: string | Uint8Array, bad: (m: string) => ShoalError): Record<string, unknown> {
  const size = typeof text === 'string' ? utf8Length(text, MAX_WS_TRACKER_MESSAGE_BYTES) : text.length;
  if (size > MAX_WS_TRACKER_MESSAGE_BYTES)
    throw bad(`message longer than ${MAX_WS_TRACKER_MESSAGE_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(typeof text === 'string' ? text : new TextDecoder().decode(text));
  } catch {
    throw bad('message is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('message is not a JSON object');
  return v as Record<string, unknown>;
}

const badRequest = (m: string) => new ShoalError(ErrorCode.TrackerBadRequest, m, {});
const badResponse = (m: string) => new ShoalError(ErrorCode.TrackerBadResponse, m, {});

const EVENTS = new Set(['started', 'completed', 'stopped', 'update']);

/** Parses a client's message (tracker side). Throws `TrackerBadRequest`. */
export function parseWsClientMessage(text: string | Uint8Array): WsClientMessage {
  const m = object(text, badRequest);
  if (m.action === 'scrape') {
    const raw = m.info_hash;
    const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    if (list.length > MAX_WS_SCRAPE_HASHES) throw badRequest(`more than ${MAX_WS_SCRAPE_HASHES} hashes`);
    return { action: 'scrape', infoHashes: list.map((h) => binary(h, 'info_hash', badRequest)) };
  }
  if (m.action !== 'announce') throw badRequest('unknown action');
  const infoHash = binary(m.info_hash, 'info_hash', badRequest);
  const peerId = binary(m.peer_id, 'peer_id', badRequest);
  const event = typeof m.event === 'string' && EVENTS.has(m.event) ? m.event : undefined;
  let offers: WsOffer[] | undefined;
  if (m.offers !== undefined) {
    if (!Array.isArray(m.offers)) throw badRequest('offers is not a list');
    offers = [];
    for (const o of m.offers.slice(0, MAX_WS_OFFERS_PER_ANNOUNCE)) {
      if (typeof o !== 'object' || o === null) throw badRequest('offer is not an object');
      const r = o as { offer?: unknown; offer_id?: unknown };
      offers.push({
        offerId: binary(r.offer_id, 'offer_id', badRequest),
        sdp: sdpOf(r.offer, 'offer', badRequest),
      });
    }
  }
  let answer: { sdp: string; offerId: Uint8Array; toPeerId: Uint8Array } | undefined;
  if (m.answer !== undefined)
    answer = {
      sdp: sdpOf(m.answer, 'answer', badRequest),
      offerId: binary(m.offer_id, 'offer_id', badRequest),
      toPeerId: binary(m.to_peer_id, 'to_peer_id', badRequest),
    };
  const numwant = count(m.numwant);
  const uploaded = count(m.uploaded);
  const downloaded = count(m.downloaded);
  const left = count(m.left);
  return {
    action: 'announce',
    infoHash,
    peerId,
    ...(numwant !== undefined ? { numwant } : {}),
    ...(uploaded !== undefined ? { uploaded } : {}),
    ...(downloaded !== undefined ? { downloaded } : {}),
    ...(left !== undefined ? { left } : {}),
    ...(event !== undefined ? { event: event as 'started' } : {}),
    ...(offers !== undefined ? { offers } : {}),
    ...(answer !== undefined ? { answer } : {}),
  };
}

/** Parses a tracker's message (client side). Throws `TrackerBadResponse`. */
export function parseWsServerMessage(text: string | Uint8Array): WsServerMessage {
  const m = object(text, badResponse);
  const failure = m['failure reason'];
  if (typeof failure === 'string') {
    const infoHash = typeof m.info_hash === 'string' ? safeBinary(m.info_hash) : undefined;
    return {
      kind: 'failure',
      reason: failure.slice(0, 1024),
      ...(infoHash !== undefined ? { infoHash } : {}),
    };
  }
  if (m.action === 'scrape') {
    const files = new Map<string, { complete: number; incomplete: number; downloaded: number }>();
    const raw = m.files;
    if (typeof raw === 'object' && raw !== null)
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        const f = (v ?? {}) as Record<string, unknown>;
        files.set(toHexKey(k), {
          complete: count(f.complete) ?? 0,
          incomplete: count(f.incomplete) ?? 0,
          downloaded: count(f.downloaded) ?? 0,
        });
      }
    return { kind: 'scrape', files };
  }
  if (m.action !== 'announce') {
    if (typeof m['warning message'] === 'string')
      return { kind: 'warning', message: (m['warning message'] as string).slice(0, 1024) };
    throw badResponse('unknown action');
  }
  const infoHash = binary(m.info_hash, 'info_hash', badResponse);
  if (m.offer !== undefined)
    return {
      kind: 'offer',
      infoHash,
      peerId: binary(m.peer_id, 'peer_id', badResponse),
      offerId: binary(m.offer_id, 'offer_id', badResponse),
      sdp: sdpOf(m.offer, 'offer', badResponse),
    };
  if (m.answer !== undefined)
    return {
      kind: 'answer',
      infoHash,
      peerId: binary(m.peer_id, 'peer_id', badResponse),
      offerId: binary(m.offer_id, 'offer_id', badResponse),
      sdp: sdpOf(m.answer, 'answer', badResponse),
    };
  const intervalS = count(m.interval);
  const complete = count(m.complete);
  const incomplete = count(m.incomplete);
  return {
    kind: 'announced',
    infoHash,
    ...(intervalS !== undefined ? { intervalS } : {}),
    ...(complete !== undefined ? { complete } : {}),
    ...(incomplete !== undefined ? { incomplete } : {}),
  };
}

function safeBinary(v: string): Uint8Array | undefined {
  try {
    return binary(v, 'info_hash', badResponse);
  } catch {
    return undefined;
  }
}

/** A scrape key (binary string, or hex from some trackers) as lower-case hex. */
function toHexKey(k: string): string {
  if (k.length === 40 && /^[0-9a-fA-F]+$/.test(k)) return k.toLowerCase();
  return toHex(fromBinaryString(k));
}

/** Encodes a client's announce. */
export function encodeWsAnnounce(a: {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly numwant: number;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly event?: string;
  readonly offers: readonly WsOffer[];
}): string {
  return JSON.stringify({
    action: 'announce',
    info_hash: toBinaryString(a.infoHash),
    peer_id: toBinaryString(a.peerId),
    numwant: a.numwant,
    uploaded: a.uploaded,
    downloaded: a.downloaded,
    left: a.left,
    ...(a.event !== undefined ? { event: a.event } : {}),
    offers: a.offers.map((o) => ({
      offer: { type: 'offer', sdp: o.sdp },
      offer_id: toBinaryString(o.offerId),
    })),
  });
}

/** Encodes a client's answer to a relayed offer. */
export function encodeWsAnswer(a: {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly toPeerId: Uint8Array;
  readonly offerId: Uint8Array;
  readonly sdp: string;
}): string {
  return JSON.stringify({
    action: 'announce',
    info_hash: toBinaryString(a.infoHash),
    peer_id: toBinaryString(a.peerId),
    to_peer_id: toBinaryString(a.toPeerId),
    offer_id: toBinaryString(a.offerId),
    answer: { type: 'answer', sdp: a.sdp },
  });
}
