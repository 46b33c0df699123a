/**
 * DEV DOCS — one Bitcoin P2P connection: the frame decoder, the version handshake, ping/pong and
 * the bounds kept per peer. It knows nothing of chains or wallets: every message after the
 * handshake goes to its {@link BtcPeerHandler} (the node), which answers through {@link BtcPeer.send}.
 *
 * Handshake (BIP 339 wtxidrelay, BIP 155 sendaddrv2, BIP 130 sendheaders, BIP 152 sendcmpct,
 * BIP 133 feefilter):
 *
 *   outgoing: → version                     ← version → wtxidrelay, sendaddrv2, verack
 *   incoming: ← version → version, wtxidrelay, sendaddrv2, verack
 *   then, on their verack: → sendheaders, sendcmpct(0, 2), feefilter, (outgoing) getaddr   ⇒ ready
 *
 * Only `version` may come first, and only once; `wtxidrelay`/`sendaddrv2` count between version
 * and verack, other messages before verack are ignored (as Bitcoin Core does).
 *
 * Bounds: the decoder's per-command payload bounds (an oversized frame is refused before it is
 * buffered), the send queue ({@link BTC_MAX_PEER_SEND_QUEUE_BYTES}), the inventory it announced
 * ({@link BTC_MAX_KNOWN_INV_PER_PEER}), the addresses it relays (a token bucket; a flood bans it),
 * the handshake, ping and request deadlines. A malformed frame (bad checksum, oversized, a
 * payload that breaks its layout) or a protocol violation closes the connection with `ban` set;
 * the node then bans the address in the shared peer pool. A stall or a wrong network closes it
 * without a ban.
 */
import { randomBytes } from 'node:crypto';
import {
  BtcError,
  BtcFrameDecoder,
  type BtcMessage,
  type ChainParams,
  encodeMessage,
  ipv4Mapped,
  PROTOCOL_VERSION,
  type VersionMessage,
} from '../bitcoin/index.js';
import type { PeerStream } from '../net/index.js';
import { ErrorCode } from '../shared/errors.js';
import {
  BTC_ADDR_BURST,
  BTC_ADDR_FLOOD_BAN,
  BTC_ADDR_RATE_PER_S,
  BTC_HANDSHAKE_TIMEOUT_MS,
  BTC_MAX_KNOWN_INV_PER_PEER,
  BTC_MAX_PEER_SEND_QUEUE_BYTES,
  BTC_PING_INTERVAL_MS,
  BTC_PING_TIMEOUT_MS,
  BTC_REQUEST_TIMEOUT_MS,
} from '../shared/limits.js';

/** Oldest protocol version we talk to: 70012 is the first with `sendheaders` (BIP 130). */
export const MIN_PEER_PROTOCOL_VERSION = 70012;
/** First protocol version with `wtxidrelay` (BIP 339); Bitcoin Core also sends `sendaddrv2` only from it. */
const WTXID_RELAY_VERSION = 70016;
/** First protocol version with compact blocks (BIP 152). */
const COMPACT_BLOCKS_VERSION = 70014;
/** First protocol version with `feefilter` (BIP 133). */
const FEEFILTER_VERSION = 70013;
/** Our fee filter: transactions paying less (sat per 1,000 vbytes) are not worth relaying to us. */
const OUR_FEE_FILTER = 1000n;

/** Why a connection ended. */
export interface PeerCloseReason {
  /** Words for logs and the status page. */
  readonly message: string;
  /** The peer broke the protocol: its address is banned. */
  readonly ban: boolean;
  /** The connection ended before the handshake completed. */
  readonly beforeReady: boolean;
  readonly error?: Error;
}

/** What the node does with a peer's events. */
export interface BtcPeerHandler {
  /** The handshake completed. */
  ready(peer: BtcPeer): void;
  /** A message after the handshake (ping/pong and handshake messages are handled here). */
  message(peer: BtcPeer, msg: BtcMessage): void;
  /** The connection ended, once. */
  closed(peer: BtcPeer, reason: PeerCloseReason): void;
}

export interface BtcPeerInit {
  readonly id: number;
  readonly stream: PeerStream;
  readonly params: ChainParams;
  /** Our version nonce: a `version` carrying it is our own connection looping back. */
  readonly nonce: bigint;
  readonly userAgent: string;
  /** Our best height, for the `version` message. */
  readonly startHeight: () => number;
  /** Ask the peer to announce transactions (BIP 37 relay flag). */
  readonly relay: boolean;
  /** Monotonic clock, ms. */
  readonly now: () => number;
  readonly handler: BtcPeerHandler;
  /** Bytes already read from an accepted stream (the inbound stage's sniff). */
  readonly head?: Uint8Array;
}

type State = 'awaiting-version' | 'awaiting-verack' | 'ready' | 'closed';

/** Features the peer asked for or offers. */
export interface PeerFeatures {
  /** It sent `wtxidrelay`: announce transactions to it by wtxid (MSG_WTX). */
  wtxidRelay: boolean;
  /** It sent `sendaddrv2`. */
  addrV2: boolean;
  /** It sent `sendheaders`: announce blocks to it with `headers`. */
  sendHeaders: boolean;
  /** Highest compact block version it offered with `sendcmpct` (0: none). */
  compactVersion: number;
  /** Its fee filter, sat per 1,000 vbytes. */
  feeFilter: bigint;
}

/** One Bitcoin P2P connection. */
export class BtcPeer {
  readonly id: number;
  readonly stream: PeerStream;
  readonly host: string;
  readonly port: number;
  readonly outgoing: boolean;
  readonly connectedAt: number;
  readonly features: PeerFeatures = {
    wtxidRelay: false,
    addrV2: false,
    sendHeaders: false,
    compactVersion: 0,
    feeFilter: 0n,
  };
  /** Their `version` message, once received. */
  version: VersionMessage | undefined;
  /** Best height we know the peer has: its start height, then what it announced. */
  bestHeight = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly #init: BtcPeerInit;
  readonly #decoder: BtcFrameDecoder;
  #state: State = 'awaiting-version';
  #readyAt = 0;
  #ping: { nonce: bigint; sentAt: number } | undefined;
  /** Pongs awaited by {@link roundTrip}, by nonce. */
  readonly #roundTrips = new Map<bigint, () => void>();
  #lastPingAt = 0;
  /** Round trip of the last pong, ms. */
  pingMs: number | undefined;
  /** Requests we wait for, by key, with the time they were sent. */
  readonly #expected = new Map<string, number>();
  readonly #knownInv = new Set<string>();
  #addrTokens = BTC_ADDR_BURST;
  #addrRefilledAt: number;
  #addrDropped = 0;

  constructor(init: BtcPeerInit) {
    this.#init = init;
    this.id = init.id;
    this.stream = init.stream;
    this.host = init.stream.remoteAddress;
    this.port = init.stream.remotePort;
    this.outgoing = init.stream.outgoing;
    this.connectedAt = init.now();
    this.#addrRefilledAt = this.connectedAt;
    this.#decoder = new BtcFrameDecoder({ magic: init.params.magic });
  }

  /** Starts reading (and, outgoing, sends our `version`). Call once the node has registered the peer. */
  start(): void {
    const init = this.#init;
    init.stream.bind({
      data: (chunk) => this.#onData(chunk),
      drain: () => {},
      close: (error) =>
        this.#finish({
          message:
            error === undefined ? 'connection closed by the peer' : `connection lost: ${error.message}`,
          ban: false,
          beforeReady: this.#state !== 'ready',
          ...(error !== undefined ? { error } : {}),
        }),
    });
    if (this.outgoing) this.#sendVersion();
    if (init.head !== undefined && init.head.length > 0) this.#onData(init.head);
  }

  /** True once the handshake completed and until the connection ends. */
  get isReady(): boolean {
    return this.#state === 'ready';
  }

  get isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** `host:port`, IPv6 in brackets. */
  get endpoint(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Services the peer offers (its `version`), 0 before it. */
  get services(): bigint {
    return this.version?.services ?? 0n;
  }

  get userAgent(): string {
    return this.version?.userAgent ?? '';
  }

  /** Sends a message; a peer that does not read what we send is disconnected. */
  send(msg: BtcMessage): void {
    if (this.#state === 'closed') return;
    const frame = encodeMessage(this.#init.params.magic, msg);
    this.bytesOut += frame.length;
    this.stream.write(frame);
    if (this.stream.writableLength > BTC_MAX_PEER_SEND_QUEUE_BYTES) {
      this.close(`send queue above ${BTC_MAX_PEER_SEND_QUEUE_BYTES} bytes: the peer does not read`, false);
    }
  }

  /**
   * Resolves once the peer answered a `ping` sent now: a node handles a peer's messages in order,
   * so everything sent before it was processed (a transaction handed out is in its mempool or
   * refused). Never resolves if the connection closes first (the ping deadline closes a peer that
   * does not answer).
   */
  roundTrip(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#state === 'closed') return;
      const nonce = randomBytes(8).readBigUInt64LE();
      this.#roundTrips.set(nonce, resolve);
      this.send({ type: 'ping', nonce });
    });
  }

  /** Closes the connection; `ban`: the peer misbehaved. */
  close(message: string, ban: boolean, error?: Error): void {
    if (this.#state === 'closed') return;
    const reason: PeerCloseReason = {
      message,
      ban,
      beforeReady: this.#state !== 'ready',
      ...(error !== undefined ? { error } : {}),
    };
    this.#finish(reason);
    this.#roundTrips.clear();
    this.stream.destroy();
  }

  /** Notes that we sent a request answered by `key`; an answer must come within the request deadline. */
  expect(key: string): void {
    this.#expected.set(key, this.#init.now());
  }

  /** The answer to `key` came (true if it was expected). */
  fulfil(key: string): boolean {
    return this.#expected.delete(key);
  }

  /** True while `key` is awaited. */
  isExpecting(key: string): boolean {
    return this.#expected.has(key);
  }

  /** Requests awaited. */
  get expectedCount(): number {
    return this.#expected.size;
  }

  /** Remembers an inventory hash the peer knows (bounded; the oldest are forgotten). */
  addKnownInv(key: string): void {
    if (this.#knownInv.has(key)) return;
    if (this.#knownInv.size >= BTC_MAX_KNOWN_INV_PER_PEER) {
      const oldest = this.#knownInv.values().next().value;
      if (oldest !== undefined) this.#knownInv.delete(oldest);
    }
    this.#knownInv.add(key);
  }

  hasKnownInv(key: string): boolean {
    return this.#knownInv.has(key);
  }

  /** Inventory hashes remembered (for tests of the bound). */
  get knownInvCount(): number {
    return this.#knownInv.size;
  }

  /**
   * How many of `count` relayed addresses to take, under the peer's token bucket; the rest are
   * dropped, and a peer that keeps flooding past {@link BTC_ADDR_FLOOD_BAN} dropped addresses is
   * banned.
   */
  admitAddresses(count: number, solicited: boolean): number {
    const now = this.#init.now();
    this.#addrTokens = Math.min(
      BTC_ADDR_BURST,
      this.#addrTokens + ((now - this.#addrRefilledAt) / 1000) * BTC_ADDR_RATE_PER_S,
    );
    this.#addrRefilledAt = now;
    // The answer to our own getaddr may be a full message.
    if (solicited) this.#addrTokens = Math.max(this.#addrTokens, Math.min(count, BTC_ADDR_BURST));
    const take = Math.min(count, Math.floor(this.#addrTokens));
    this.#addrTokens -= take;
    this.#addrDropped += count - take;
    if (this.#addrDropped > BTC_ADDR_FLOOD_BAN) {
      this.close(`address flood: ${this.#addrDropped} addresses over the rate`, true);
      return 0;
    }
    return take;
  }

  /** Addresses dropped by the rate limit so far. */
  get addrDropped(): number {
    return this.#addrDropped;
  }

  /** Deadlines: handshake, ping, requests. Called by the node's timer about once a second. */
  tick(): void {
    if (this.#state === 'closed') return;
    const now = this.#init.now();
    if (this.#state !== 'ready') {
      if (now - this.connectedAt > BTC_HANDSHAKE_TIMEOUT_MS)
        this.close(`no handshake within ${BTC_HANDSHAKE_TIMEOUT_MS} ms`, false);
      return;
    }
    if (this.#ping !== undefined && now - this.#ping.sentAt > BTC_PING_TIMEOUT_MS) {
      this.close(`no pong within ${BTC_PING_TIMEOUT_MS} ms`, false);
      return;
    }
    for (const [key, at] of this.#expected) {
      if (now - at > BTC_REQUEST_TIMEOUT_MS) {
        this.close(
          `stalled: no answer to ${key.split(':', 1)[0]} within ${BTC_REQUEST_TIMEOUT_MS} ms`,
          false,
        );
        return;
      }
    }
    if (this.#ping === undefined && now - Math.max(this.#lastPingAt, this.#readyAt) >= BTC_PING_INTERVAL_MS) {
      const nonce = randomBytes(8).readBigUInt64LE();
      this.#ping = { nonce, sentAt: now };
      this.#lastPingAt = now;
      this.send({ type: 'ping', nonce });
    }
  }

  #sendVersion(): void {
    const stream = this.stream;
    const isV4 = stream.remoteAddress.includes('.');
    this.send({
      type: 'version',
      version: PROTOCOL_VERSION,
      services: 0n,
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      receiver: {
        services: 0n,
        ip: isV4 ? ipv4Mapped(stream.remoteAddress) : new Uint8Array(16),
        port: stream.remotePort,
      },
      sender: { services: 0n, ip: new Uint8Array(16), port: 0 },
      nonce: this.#init.nonce,
      userAgent: this.#init.userAgent,
      startHeight: this.#init.startHeight(),
      relay: this.#init.relay,
    });
  }

  #onData(chunk: Uint8Array): void {
    if (this.#state === 'closed') return;
    this.bytesIn += chunk.length;
    let messages: BtcMessage[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (e) {
      if (!(e instanceof BtcError)) throw e;
      // Another network's node is not an attacker; anything else malformed is.
      this.close(e.message, e.code !== ErrorCode.BtcBadMagic, e);
      return;
    }
    for (const m of messages) {
      // A message before may have closed the connection.
      if (this.isClosed) return;
      this.#onMessage(m);
    }
  }

  #violation(what: string): void {
    this.close(`protocol violation: ${what}`, true, new BtcError(ErrorCode.BtcProtocol, what));
  }

  #onMessage(m: BtcMessage): void {
    switch (this.#state) {
      case 'awaiting-version':
        if (m.type !== 'version') {
          this.#violation(`${m.type} before version`);
          return;
        }
        this.#onVersion(m);
        return;
      case 'awaiting-verack':
        switch (m.type) {
          case 'version':
            this.#violation('a second version');
            return;
          case 'wtxidrelay':
            this.features.wtxidRelay = true;
            return;
          case 'sendaddrv2':
            this.features.addrV2 = true;
            return;
          case 'verack':
            this.#onVerack();
            return;
          default:
            // Bitcoin Core ignores other messages before verack; so do we.
            return;
        }
      case 'ready':
        this.#onReadyMessage(m);
        return;
      case 'closed':
        return;
    }
  }

  #onVersion(v: VersionMessage): void {
    if (v.nonce === this.#init.nonce && v.nonce !== 0n) {
      this.close('connected to ourselves', false);
      return;
    }
    if (v.version < MIN_PEER_PROTOCOL_VERSION) {
      this.close(`protocol version ${v.version} is below ${MIN_PEER_PROTOCOL_VERSION}`, false);
      return;
    }
    this.version = v;
    this.bestHeight = Math.max(0, v.startHeight);
    if (!this.outgoing) this.#sendVersion();
    if (v.version >= WTXID_RELAY_VERSION) {
      this.send({ type: 'wtxidrelay' });
      this.send({ type: 'sendaddrv2' });
    }
    this.send({ type: 'verack' });
    this.#state = 'awaiting-verack';
  }

  #onVerack(): void {
    this.#state = 'ready';
    this.#readyAt = this.#init.now();
    const v = this.version!.version;
    this.send({ type: 'sendheaders' });
    if (v >= COMPACT_BLOCKS_VERSION) this.send({ type: 'sendcmpct', announce: false, version: 2n });
    if (v >= FEEFILTER_VERSION && this.#init.relay) this.send({ type: 'feefilter', feeRate: OUR_FEE_FILTER });
    this.#init.handler.ready(this);
  }

  #onReadyMessage(m: BtcMessage): void {
    switch (m.type) {
      case 'version':
        this.#violation('a second version');
        return;
      case 'verack':
        this.#violation('a second verack');
        return;
      case 'ping':
        this.send({ type: 'pong', nonce: m.nonce });
        return;
      case 'pong':
        this.#roundTrips.get(m.nonce)?.();
        this.#roundTrips.delete(m.nonce);
        if (this.#ping !== undefined && m.nonce === this.#ping.nonce) {
          this.pingMs = this.#init.now() - this.#ping.sentAt;
          this.#ping = undefined;
        }
        return;
      case 'sendheaders':
        this.features.sendHeaders = true;
        return;
      case 'sendcmpct':
        if (m.version === 1n || m.version === 2n)
          this.features.compactVersion = Math.max(this.features.compactVersion, Number(m.version));
        return;
      case 'feefilter':
        this.features.feeFilter = m.feeRate;
        return;
      case 'wtxidrelay':
      case 'sendaddrv2':
        // Too late to count (BIP 339/155 want them before verack); harmless, ignored.
        return;
      default:
        this.#init.handler.message(this, m);
    }
  }

  #finish(reason: PeerCloseReason): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#expected.clear();
    this.#knownInv.clear();
    this.#init.handler.closed(this, reason);
  }
}
