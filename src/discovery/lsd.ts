/**
 * Local Service Discovery (BEP 14): announce our torrents to the LAN over multicast and hear
 * the announces of other clients, as an SSDP-like `BT-SEARCH` datagram.
 *
 * DEV DOCS
 * - Owns: one UDP socket per family, bound to the LSD port (6771, shared with other clients
 *   through SO_REUSEADDR) and joined to the multicast group (239.192.152.143, and
 *   [ff15::efc0:988f] for IPv6), the set of torrents we announce, and one timer.
 * - Sending: each torrent is announced when added, then every `LSD_ANNOUNCE_INTERVAL_MS`, never
 *   twice within `LSD_MIN_TORRENT_INTERVAL_MS`; datagrams leave at most one per
 *   `LSD_SEND_SPACING_MS` over all torrents (BEP 14: no multicast storms). Each announce goes to
 *   the multicast group and to every `unicastTargets` address (the same datagram: that is how
 *   tests on 127.0.0.1 use LSD without a LAN).
 * - Receiving: datagrams are rate limited before they are parsed, parsed strictly and bounded
 *   (`parseLsdMessage`), our own (same cookie) are ignored, and a peer is reported for each
 *   announced info-hash we take part in (or all, with `acceptAll`): its address is the UDP
 *   source address with the `Port` header's port (BEP 14 §Usage).
 * - Failure policy: a host without a multicast route (join or send fails) gets one clear
 *   `multicast:unavailable` event per family and keeps working over the unicast targets; a bad
 *   datagram is counted and reported (`message:rejected`), never thrown.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { setImmediate as setImmediateP } from 'node:timers/promises';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { toHex } from '../shared/hash.js';
import { LSD_RECEIVE_BURST, LSD_RECEIVE_RATE_PER_SEC, MAX_LSD_MESSAGE_BYTES } from '../shared/limits.js';
import { TypedEmitter } from '../shared/typed-emitter.js';

/** The LSD UDP port (BEP 14). */
export const LSD_PORT = 6771;
/** The IPv4 multicast group (BEP 14 "A", organization-local). */
export const LSD_MULTICAST_V4 = '239.192.152.143';
/** The IPv6 multicast group (BEP 14 "B", site-local). */
export const LSD_MULTICAST_V6 = 'ff15::efc0:988f';
/** A torrent is announced again this often (BEP 14: "every 5 minutes"), in ms. */
export const LSD_ANNOUNCE_INTERVAL_MS = 5 * 60_000;
/** A torrent is never announced twice within this (BEP 14: "no more than 1 announce per minute"), in ms. */
export const LSD_MIN_TORRENT_INTERVAL_MS = 60_000;
/** Least time between two announces over all torrents, in ms (at most 4 a second). */
export const LSD_SEND_SPACING_MS = 250;
/** Multicast TTL of our announces: the local network only. */
export const LSD_MULTICAST_TTL = 1;

// ---------------------------------------------------------------------------------------------
// the message

/** Facts about a rejected LSD datagram. */
export interface LsdErrorDetails {
  /** What was wrong, in a few words. */
  readonly reason: string;
}

/**
 * A malformed LSD datagram (`LsdBadMessage`), an operation on an `Lsd` that is not running
 * (`LsdClosed`) or a bad argument (`LsdInvalidArgument`).
 */
export class LsdError extends ShoalError<LsdErrorDetails> {
  constructor(code: ErrorCode, reason: string) {
    super(code, `LSD: ${reason}`, { reason });
  }
}

/** A parsed `BT-SEARCH` announce (BEP 14). */
export interface LsdMessage {
  /** The `Host` header (the multicast group it was sent to, `host:port`). */
  readonly host: string;
  /** The sender's BitTorrent listen port. */
  readonly port: number;
  /** The info-hashes announced (20 bytes each, at least one). */
  readonly infoHashes: readonly Uint8Array[];
  /** The sender's cookie, if any (to recognise its own announces). */
  readonly cookie?: string;
}

const REQUEST_LINE = 'BT-SEARCH * HTTP/1.1';
const HEADER = /^([A-Za-z0-9-]+):[ \t]*(.*?)[ \t]*$/;

/**
 * Encodes an announce (BEP 14 §Protocol):
 *
 *   BT-SEARCH * HTTP/1.1\r\n
 *   Host: <group>:6771\r\n
 *   Port: <port>\r\n
 *   Infohash: <40 hex>\r\n          (one or more)
 *   cookie: <cookie>\r\n            (optional)
 *   \r\n
 *   \r\n
 */
export function encodeLsdMessage(msg: LsdMessage): Uint8Array {
  const lines = [REQUEST_LINE, `Host: ${msg.host}`, `Port: ${msg.port}`];
  for (const h of msg.infoHashes) lines.push(`Infohash: ${toHex(h)}`);
  if (msg.cookie !== undefined) lines.push(`cookie: ${msg.cookie}`);
  return new TextEncoder().encode(`${lines.join('\r\n')}\r\n\r\n\r\n`);
}

/**
 * Parses a `BT-SEARCH` datagram strictly: at most `MAX_LSD_MESSAGE_BYTES`, printable ASCII,
 * CRLF line ends, the exact request line, one `Host`, one `Port` (1–65535), one or more
 * `Infohash` (40 hex digits), at most one `cookie`, other headers ignored, nothing but empty
 * lines after the blank line. Anything else throws an `LsdError` with code `LsdBadMessage`.
 */
export function parseLsdMessage(bytes: Uint8Array): LsdMessage {
  const bad = (why: string) => new LsdError(ErrorCode.LsdBadMessage, why);
  if (bytes.length > MAX_LSD_MESSAGE_BYTES) throw bad(`longer than ${MAX_LSD_MESSAGE_BYTES} bytes`);
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if ((c < 0x20 || c > 0x7e) && c !== 0x0d && c !== 0x0a && c !== 0x09) throw bad(`byte ${c} at ${i}`);
  }
  const text = String.fromCharCode(...bytes);
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw bad('no blank line after the headers');
  if (!/^(\r\n)*$/.test(text.slice(end + 4))) throw bad('data after the headers');
  const lines = text.slice(0, end).split('\r\n');
  if (lines.some((l) => l.includes('\n') || l.includes('\r'))) throw bad('a bare CR or LF');
  if (lines[0] !== REQUEST_LINE) throw bad('not a BT-SEARCH request');
  let host: string | undefined;
  let port: number | undefined;
  let cookie: string | undefined;
  const infoHashes: Uint8Array[] = [];
  for (const line of lines.slice(1)) {
    const m = HEADER.exec(line);
    if (m === null) throw bad('a malformed header line');
    const name = m[1]!.toLowerCase();
    const value = m[2]!;
    switch (name) {
      case 'host':
        if (host !== undefined) throw bad('two Host headers');
        if (value === '') throw bad('an empty Host header');
        host = value;
        break;
      case 'port': {
        if (port !== undefined) throw bad('two Port headers');
        const n = Number(value);
        if (!/^\d{1,5}$/.test(value) || n < 1 || n > 65535) throw bad(`port "${value}" is not in 1..65535`);
        port = n;
        break;
      }
      case 'infohash': {
        if (!/^[0-9a-fA-F]{40}$/.test(value)) throw bad('an Infohash that is not 40 hex digits');
        infoHashes.push(Uint8Array.from(Buffer.from(value, 'hex')));
        break;
      }
      case 'cookie':
        if (cookie !== undefined) throw bad('two cookie headers');
        cookie = value;
        break;
      default:
        // BEP 14: headers a client does not understand are ignored.
        break;
    }
  }
  if (host === undefined) throw bad('no Host header');
  if (port === undefined) throw bad('no Port header');
  if (infoHashes.length === 0) throw bad('no Infohash header');
  return { host, port, infoHashes, ...(cookie === undefined ? {} : { cookie }) };
}

// ---------------------------------------------------------------------------------------------
// the announcer / listener

/** An address to send every announce to as well (unicast), e.g. `127.0.0.1:PORT` in tests. */
export interface LsdTarget {
  readonly host: string;
  readonly port: number;
}

/** Options of an {@link Lsd}. */
export interface LsdOptions {
  /** Our BitTorrent listen port: what we announce. */
  readonly port: number;
  /** UDP port to listen on; 0 picks a free one (tests). @default LSD_PORT (6771) */
  readonly bindPort?: number;
  /** Local IPv4 address to bind. @default '0.0.0.0' */
  readonly bindHost?: string;
  /** Join the multicast groups and announce there. @default true */
  readonly multicast?: boolean;
  /** Also use the IPv6 group (with `multicast`). @default true */
  readonly ipv6?: boolean;
  /** The IPv4 group (only tests change it). @default LSD_MULTICAST_V4 */
  readonly multicastGroup4?: string;
  /** The IPv6 group (only tests change it). @default LSD_MULTICAST_V6 */
  readonly multicastGroup6?: string;
  /** Unicast addresses that get the same announces (loopback tests, or peers on a VPN). */
  readonly unicastTargets?: readonly LsdTarget[];
  /** Our cookie, to recognise our own announces. @default 8 random bytes in hex */
  readonly cookie?: string;
  /** Report announces for every info-hash, not only those added. @default false */
  readonly acceptAll?: boolean;
  /** Re-announce period per torrent, in ms. @default LSD_ANNOUNCE_INTERVAL_MS */
  readonly announceIntervalMs?: number;
  /** Least time between two announces of one torrent, in ms. @default LSD_MIN_TORRENT_INTERVAL_MS */
  readonly minTorrentIntervalMs?: number;
  /** Least time between two announces over all torrents, in ms. @default LSD_SEND_SPACING_MS */
  readonly sendSpacingMs?: number;
}

/** Events of an {@link Lsd}. */
export interface LsdEvents {
  /** A peer on the local network announced a torrent we take part in. */
  'peer:discovered': {
    readonly type: 'peer:discovered';
    readonly infoHash: Uint8Array;
    readonly host: string;
    readonly port: number;
  };
  /** One announce left (to `targets` destinations). */
  'announce:sent': {
    readonly type: 'announce:sent';
    readonly infoHash: Uint8Array;
    readonly targets: number;
  };
  /**
   * Multicast does not work on this host for a family (no multicast route, no interface): LSD
   * then only reaches the unicast targets. Reported once per family until it works again.
   */
  'multicast:unavailable': {
    readonly type: 'multicast:unavailable';
    readonly family: 4 | 6;
    readonly op: 'bind' | 'join' | 'send';
    readonly message: string;
    readonly code?: string;
  };
  /** A socket reported an error outside of a send (rare: the socket keeps running). */
  'socket:failed': { readonly type: 'socket:failed'; readonly family: 4 | 6; readonly message: string };
  /** A datagram that is not a valid announce (it was dropped). */
  'message:rejected': {
    readonly type: 'message:rejected';
    readonly host: string;
    readonly port: number;
    readonly reason: string;
  };
}

/** Counters of an {@link Lsd}. */
export interface LsdStats {
  readonly torrents: number;
  readonly announcesSent: number;
  readonly sendErrors: number;
  readonly received: number;
  readonly rejected: number;
  readonly rateLimited: number;
  readonly ownIgnored: number;
  readonly peersDiscovered: number;
  readonly multicast4: boolean;
  readonly multicast6: boolean;
}

interface TorrentEntry {
  readonly infoHash: Uint8Array;
  lastSent: number;
  nextAt: number;
}

interface Channel {
  readonly family: 4 | 6;
  readonly socket: dgram.Socket;
  /** The multicast group we send to, while multicast works for this family. */
  group: string | undefined;
  /** An unavailable event was sent and multicast has not worked since. */
  reported: boolean;
}

/**
 * A BEP 14 announcer and listener (see the module docs).
 *
 * ```ts
 * const lsd = await Lsd.create({ port: 6881 });
 * lsd.on('peer:discovered', (p) => session.addPeer(p.infoHash, p));
 * lsd.add(infoHash);
 * ```
 */
export class Lsd extends TypedEmitter<LsdEvents> {
  readonly #opts: LsdOptions;
  readonly cookie: string;
  readonly #torrents = new Map<string, TorrentEntry>();
  readonly #channels: Channel[] = [];
  #state: 'new' | 'running' | 'closed' = 'new';
  #timer: NodeJS.Timeout | undefined;
  #timerAt: number | undefined;
  #nextSendAt = Number.NEGATIVE_INFINITY;
  #tokens: number = LSD_RECEIVE_BURST;
  #tokensAt = 0;
  #boundPort = 0;
  readonly #c = {
    announcesSent: 0,
    sendErrors: 0,
    received: 0,
    rejected: 0,
    rateLimited: 0,
    ownIgnored: 0,
    peersDiscovered: 0,
  };

  /** Makes an LSD instance; nothing is bound until {@link start}. */
  constructor(options: LsdOptions) {
    super();
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 0xffff) {
      throw new LsdError(ErrorCode.LsdInvalidArgument, `port ${options.port} is not in 1..65535`);
    }
    this.#opts = options;
    this.cookie = options.cookie ?? randomBytes(8).toString('hex');
  }

  /** `new Lsd(options)` then {@link start}. */
  static async create(options: LsdOptions): Promise<Lsd> {
    const lsd = new Lsd(options);
    await lsd.start();
    return lsd;
  }

  /** The UDP port we listen on. */
  get port(): number {
    return this.#boundPort;
  }

  /**
   * Binds the socket(s) and joins the multicast groups. Rejects only when the IPv4 socket cannot
   * bind; multicast trouble becomes `multicast:unavailable` events.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new LsdError(ErrorCode.LsdInvalidArgument, 'start() was already called');
    this.#state = 'running';
    const multicast = this.#opts.multicast ?? true;
    const bindPort = this.#opts.bindPort ?? LSD_PORT;
    const s4 = await bind('udp4', this.#opts.bindHost ?? '0.0.0.0', bindPort).catch((e: unknown) => {
      this.#state = 'closed';
      throw e;
    });
    this.#boundPort = s4.address().port;
    this.#open(4, s4, multicast ? (this.#opts.multicastGroup4 ?? LSD_MULTICAST_V4) : undefined);
    if (multicast && (this.#opts.ipv6 ?? true)) {
      try {
        const s6 = await bind('udp6', '::', this.#boundPort);
        this.#open(6, s6, this.#opts.multicastGroup6 ?? LSD_MULTICAST_V6);
      } catch (e) {
        this.#unavailable(6, 'bind', e);
      }
    }
    if (this.#state !== 'running') await this.#release();
  }

  #open(family: 4 | 6, socket: dgram.Socket, group: string | undefined): void {
    const ch: Channel = { family, socket, group: undefined, reported: false };
    this.#channels.push(ch);
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo.address, rinfo.port));
    socket.on('error', (e) =>
      this.emit('socket:failed', { type: 'socket:failed', family, message: e.message }),
    );
    if (group === undefined) return;
    try {
      socket.addMembership(group);
      socket.setMulticastTTL(LSD_MULTICAST_TTL);
      socket.setMulticastLoopback(true);
      ch.group = group;
    } catch (e) {
      this.#unavailable(family, 'join', e, ch);
    }
  }

  #unavailable(family: 4 | 6, op: 'bind' | 'join' | 'send', err: unknown, ch?: Channel): void {
    if (ch !== undefined) {
      if (ch.reported) return;
      ch.reported = true;
    }
    const code = (err as { code?: unknown } | undefined)?.code;
    this.emit('multicast:unavailable', {
      type: 'multicast:unavailable',
      family,
      op,
      message: `no multicast on IPv${family} (${op}: ${err instanceof Error ? err.message : String(err)}); local service discovery only reaches its unicast targets`,
      ...(typeof code === 'string' ? { code } : {}),
    });
  }

  /**
   * Announces `infoHash` (20 bytes) now (as soon as the send spacing allows) and every
   * `announceIntervalMs` until {@link remove}; its peers are reported. Adding twice does nothing.
   */
  add(infoHash: Uint8Array): void {
    this.#assertRunning();
    checkHash(infoHash);
    const key = toHex(infoHash);
    if (this.#torrents.has(key)) return;
    this.#torrents.set(key, {
      infoHash: infoHash.slice(),
      lastSent: Number.NEGATIVE_INFINITY,
      nextAt: performance.now(),
    });
    this.#pump();
  }

  /** Stops announcing `infoHash` and reporting its peers. Returns false when it was not added. */
  remove(infoHash: Uint8Array): boolean {
    const removed = this.#torrents.delete(toHex(infoHash));
    if (removed && this.#state === 'running') this.#pump();
    return removed;
  }

  /**
   * Announces an added torrent again now (a new listen port, a network change). Returns false,
   * and does nothing, when it was announced less than `minTorrentIntervalMs` ago or not added.
   */
  announce(infoHash: Uint8Array): boolean {
    this.#assertRunning();
    const e = this.#torrents.get(toHex(infoHash));
    const now = performance.now();
    const minGap = this.#opts.minTorrentIntervalMs ?? LSD_MIN_TORRENT_INTERVAL_MS;
    if (e === undefined || now - e.lastSent < minGap) return false;
    e.nextAt = now;
    this.#pump();
    return true;
  }

  /** Counters. */
  stats(): LsdStats {
    return {
      torrents: this.#torrents.size,
      ...this.#c,
      multicast4: this.#channels.some((c) => c.family === 4 && c.group !== undefined),
      multicast6: this.#channels.some((c) => c.family === 6 && c.group !== undefined),
    };
  }

  /** Closes the sockets and the timer. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    await this.#release();
  }

  async #release(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const chans = this.#channels.splice(0);
    await Promise.all(chans.map((c) => new Promise<void>((r) => c.socket.close(() => r()))));
    // The handles themselves go in the loop's next close phase, after the check phase.
    await setImmediateP();
    await setImmediateP();
  }

  #assertRunning(): void {
    if (this.#state !== 'running') throw new LsdError(ErrorCode.LsdClosed, 'not running');
  }

  // -------------------------------------------------------------------------------------------
  // sending

  /** Sends what is due (one announce per spacing) and arms the timer for the next one. */
  #pump(): void {
    if (this.#state !== 'running') return;
    const now = performance.now();
    let due: TorrentEntry | undefined;
    for (const e of this.#torrents.values()) if (due === undefined || e.nextAt < due.nextAt) due = e;
    if (due !== undefined && due.nextAt <= now && now >= this.#nextSendAt) {
      this.#sendAnnounce(due, now);
      this.#nextSendAt = now + (this.#opts.sendSpacingMs ?? LSD_SEND_SPACING_MS);
      due = undefined;
      for (const e of this.#torrents.values()) if (due === undefined || e.nextAt < due.nextAt) due = e;
    }
    if (due === undefined) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = undefined;
      return;
    }
    const at = Math.max(due.nextAt, this.#nextSendAt);
    if (this.#timer !== undefined && this.#timerAt === at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = undefined;
        this.#pump();
      },
      Math.max(1, Math.ceil(at - now)),
    );
  }

  #sendAnnounce(e: TorrentEntry, now: number): void {
    e.lastSent = now;
    e.nextAt = now + (this.#opts.announceIntervalMs ?? LSD_ANNOUNCE_INTERVAL_MS);
    const base = { port: this.#opts.port, infoHashes: [e.infoHash], cookie: this.cookie };
    let targets = 0;
    const v4 = encodeLsdMessage({ ...base, host: `${LSD_MULTICAST_V4}:${LSD_PORT}` });
    for (const ch of this.#channels) {
      if (ch.group === undefined) continue;
      const bytes =
        ch.family === 4 ? v4 : encodeLsdMessage({ ...base, host: `[${LSD_MULTICAST_V6}]:${LSD_PORT}` });
      this.#send(ch, bytes, ch.group, LSD_PORT, true);
      targets++;
    }
    for (const t of this.#opts.unicastTargets ?? []) {
      const fam = isIP(t.host);
      const ch = this.#channels.find((c) => c.family === fam);
      if (ch === undefined) continue;
      this.#send(
        ch,
        fam === 6 ? encodeLsdMessage({ ...base, host: `[${LSD_MULTICAST_V6}]:${LSD_PORT}` }) : v4,
        t.host,
        t.port,
        false,
      );
      targets++;
    }
    this.#c.announcesSent++;
    this.emit('announce:sent', { type: 'announce:sent', infoHash: e.infoHash, targets });
  }

  #send(ch: Channel, bytes: Uint8Array, host: string, port: number, multicast: boolean): void {
    const failed = (err: unknown) => {
      this.#c.sendErrors++;
      if (multicast) this.#unavailable(ch.family, 'send', err, ch);
    };
    try {
      ch.socket.send(bytes, port, host, (err) => {
        if (err !== null && err !== undefined) failed(err);
        else if (multicast) ch.reported = false;
      });
    } catch (err) {
      failed(err);
    }
  }

  // -------------------------------------------------------------------------------------------
  // receiving

  #onMessage(msg: Buffer, host: string, fromPort: number): void {
    // Token bucket over all senders, before any parsing.
    const now = performance.now();
    this.#tokens = Math.min(
      LSD_RECEIVE_BURST,
      this.#tokens + ((now - this.#tokensAt) * LSD_RECEIVE_RATE_PER_SEC) / 1000,
    );
    this.#tokensAt = now;
    if (this.#tokens < 1) {
      this.#c.rateLimited++;
      return;
    }
    this.#tokens -= 1;
    this.#c.received++;
    let m: LsdMessage;
    try {
      m = parseLsdMessage(msg);
    } catch (e) {
      if (!(e instanceof LsdError)) throw e;
      this.#c.rejected++;
      this.emit('message:rejected', {
        type: 'message:rejected',
        host,
        port: fromPort,
        reason: e.details.reason,
      });
      return;
    }
    if (m.cookie === this.cookie) {
      this.#c.ownIgnored++;
      return;
    }
    const acceptAll = this.#opts.acceptAll ?? false;
    for (const h of m.infoHashes) {
      if (!acceptAll && !this.#torrents.has(toHex(h))) continue;
      this.#c.peersDiscovered++;
      this.emit('peer:discovered', { type: 'peer:discovered', infoHash: h, host, port: m.port });
    }
  }
}

function bind(type: 'udp4' | 'udp6', host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({
      type,
      reuseAddr: true,
      ...(type === 'udp6' ? { ipv6Only: true } : {}),
    });
    const onError = (e: Error) => {
      socket.close();
      reject(e);
    };
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function checkHash(h: Uint8Array): void {
  if (!(h instanceof Uint8Array) || h.length !== 20) {
    throw new LsdError(
      ErrorCode.LsdInvalidArgument,
      'infoHash must be 20 bytes (truncate v2 hashes, BEP 52)',
    );
  }
}
