/**
 * DEV DOCS — the SOCKS5 client protocol (RFC 1928) with username/password authentication
 * (RFC 1929), as a pure state machine: bytes from the proxy in, bytes to send and one result out.
 * The drivers (socks5-transport.ts for peer streams, socks5-socket.ts for node sockets) only move
 * bytes and keep time.
 *
 * Byte layouts (every length is checked before it is read):
 * ```
 * greeting       VER=5 NMETHODS METHODS…           methods: 0 none, 2 username/password
 * selection      VER=5 METHOD                       0xFF: none of ours is acceptable
 * auth (1929)    VER=1 ULEN UNAME(1-255) PLEN PASSWD(1-255)
 * auth reply     VER STATUS                         STATUS 0 = success
 * request        VER=5 CMD RSV=0 ATYP DST.ADDR DST.PORT     CMD 1 CONNECT, 3 UDP ASSOCIATE
 * reply          VER=5 REP RSV ATYP BND.ADDR BND.PORT       REP 0 = succeeded
 * address        ATYP 1: 4 bytes | ATYP 3: LEN + name (1-255) | ATYP 4: 16 bytes; port big-endian
 * UDP datagram   RSV=0(2) FRAG ATYP DST.ADDR DST.PORT DATA  (§7; FRAG ≠ 0 is dropped)
 * ```
 *
 * States: `method` → (`auth` →) `reply` → `done`, or a thrown `ShoalError`: `NetConnectFailed`
 * when the proxy says the target cannot be reached (REP 3, 4, 5, 6: the same as a failed direct
 * dial), `NetProxy` for anything about the proxy itself (REP 1, 2, 7, 8, authentication, a
 * malformed reply). Bytes the proxy sent after its reply (the target's first bytes) are handed
 * back as `rest`.
 */
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { formatIpv4, formatIpv6, mappedIpv4, parseIpv4, parseIpv6 } from './ip-address.js';

/** A SOCKS5 proxy and its credentials. */
export interface Socks5ProxyOptions {
  /** Host name or IP address of the proxy. */
  readonly host: string;
  /** TCP port of the proxy. */
  readonly port: number;
  /** RFC 1929 user name (1-255 bytes UTF-8); set with `password`. */
  readonly username?: string;
  /** RFC 1929 password (1-255 bytes UTF-8). */
  readonly password?: string;
}

/** An endpoint as SOCKS5 names it: `host` is an IPv4 or IPv6 address or a host name. */
export interface Socks5Endpoint {
  readonly host: string;
  readonly port: number;
}

/** What a proxy says of a request (RFC 1928 §6), in words. */
export const SOCKS5_REPLY_WORDS: Readonly<Record<number, string>> = {
  1: 'general failure of the proxy',
  2: "connection not allowed by the proxy's rules",
  3: 'network unreachable from the proxy',
  4: 'host unreachable from the proxy',
  5: "connection refused by the proxy's target",
  6: 'TTL expired on the way from the proxy',
  7: 'command not supported by the proxy',
  8: 'address type not supported by the proxy',
};

/** Reply codes that mean the target, not the proxy, could not be reached. */
const TARGET_UNREACHABLE = new Set([3, 4, 5, 6]);

const METHOD_NONE = 0;
const METHOD_USER_PASS = 2;
const METHOD_NONE_ACCEPTABLE = 0xff;
const ATYP_IPV4 = 1;
const ATYP_DOMAIN = 3;
const ATYP_IPV6 = 4;

/** What is wrong with proxy options, in words, or undefined when they are usable. */
export function checkSocks5Proxy(p: Socks5ProxyOptions): string | undefined {
  if (typeof p.host !== 'string' || p.host === '' || Buffer.byteLength(p.host) > 255)
    return 'host must be a non-empty name or address (at most 255 bytes)';
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) return `port must be 1-65535, got ${p.port}`;
  if ((p.username === undefined) !== (p.password === undefined)) return 'username and password go together';
  for (const [name, v] of [
    ['username', p.username],
    ['password', p.password],
  ] as const) {
    if (v === undefined) continue;
    const n = typeof v === 'string' ? Buffer.byteLength(v) : 0;
    if (n < 1 || n > 255) return `${name} must be 1-255 bytes (RFC 1929)`;
  }
  return undefined;
}

/** Encodes `ATYP DST.ADDR DST.PORT` for `target`. Throws `NetProxy` for an unusable host. */
export function encodeSocks5Address(target: Socks5Endpoint): Uint8Array {
  const { host, port } = target;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ShoalError(ErrorCode.NetProxy, `invalid port ${port} for SOCKS5`, { host, port });
  let head: Uint8Array;
  const v4 = parseIpv4(host);
  const v6 = v4 === undefined ? parseIpv6(host) : undefined;
  if (v4 !== undefined) {
    head = Uint8Array.of(ATYP_IPV4, v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  } else if (v6 !== undefined) {
    head = new Uint8Array(17);
    head[0] = ATYP_IPV6;
    head.set(v6, 1);
  } else {
    const name = Buffer.from(host, 'utf8');
    if (name.length === 0 || name.length > 255)
      throw new ShoalError(ErrorCode.NetProxy, 'a host name for SOCKS5 must be 1-255 bytes', { host, port });
    head = new Uint8Array(2 + name.length);
    head[0] = ATYP_DOMAIN;
    head[1] = name.length;
    head.set(name, 2);
  }
  const out = new Uint8Array(head.length + 2);
  out.set(head);
  out[head.length] = port >>> 8;
  out[head.length + 1] = port & 255;
  return out;
}

/**
 * Decodes `ATYP ADDR PORT` at `offset` of `bytes`: the endpoint and the offset after it, 'more'
 * when `bytes` ends first, or undefined for an unknown address type.
 */
export function decodeSocks5Address(
  bytes: Uint8Array,
  offset: number,
): { readonly endpoint: Socks5Endpoint; readonly end: number } | 'more' | undefined {
  if (bytes.length < offset + 1) return 'more';
  const atyp = bytes[offset]!;
  let len: number;
  let start = offset + 1;
  if (atyp === ATYP_IPV4) len = 4;
  else if (atyp === ATYP_IPV6) len = 16;
  else if (atyp === ATYP_DOMAIN) {
    if (bytes.length < offset + 2) return 'more';
    len = bytes[offset + 1]!;
    start = offset + 2;
  } else return undefined;
  const end = start + len + 2;
  if (bytes.length < end) return 'more';
  const addr = bytes.subarray(start, start + len);
  let host: string;
  if (atyp === ATYP_IPV4)
    host = formatIpv4(((addr[0]! << 24) | (addr[1]! << 16) | (addr[2]! << 8) | addr[3]!) >>> 0);
  else if (atyp === ATYP_IPV6) {
    const mapped = mappedIpv4(addr);
    host = mapped !== undefined ? formatIpv4(mapped) : formatIpv6(addr);
  } else host = Buffer.from(addr).toString('latin1');
  const port = (bytes[end - 2]! << 8) | bytes[end - 1]!;
  return { endpoint: { host, port }, end };
}

/** Wraps `payload` for the proxy's UDP relay (RFC 1928 §7), to be sent to `target`. */
export function encodeSocks5UdpDatagram(target: Socks5Endpoint, payload: Uint8Array): Uint8Array {
  const addr = encodeSocks5Address(target);
  const out = new Uint8Array(3 + addr.length + payload.length);
  // RSV (2 bytes) and FRAG stay 0: we never fragment.
  out.set(addr, 3);
  out.set(payload, 3 + addr.length);
  return out;
}

/**
 * Unwraps a datagram from the proxy's UDP relay: who sent it and its payload (a view into
 * `datagram`). Undefined for a datagram that is too short, fragmented (FRAG ≠ 0: reassembly is
 * optional in RFC 1928 and we do not do it) or has an unknown address type.
 */
export function decodeSocks5UdpDatagram(
  datagram: Uint8Array,
): { readonly from: Socks5Endpoint; readonly payload: Uint8Array } | undefined {
  if (datagram.length < 4 || datagram[2] !== 0) return undefined;
  const a = decodeSocks5Address(datagram, 3);
  if (a === undefined || a === 'more') return undefined;
  return { from: a.endpoint, payload: datagram.subarray(a.end) };
}

/** The command of a {@link Socks5Handshake}. */
export type Socks5Command = 'connect' | 'udp-associate';

/** What the proxy answered: the address it bound, and bytes that followed its reply. */
export interface Socks5Result {
  readonly bound: Socks5Endpoint;
  /** Bytes after the reply (the target's first bytes), owned by the caller. */
  readonly rest: Uint8Array;
}

/** The outcome of {@link Socks5Handshake.push}. */
export interface Socks5Step {
  /** Bytes to send to the proxy. */
  readonly send?: Uint8Array;
  /** Set once, when the proxy granted the request. */
  readonly result?: Socks5Result;
}

export interface Socks5HandshakeInit {
  readonly command: Socks5Command;
  /** CONNECT: the target. UDP ASSOCIATE: the address our datagrams will come from. */
  readonly target: Socks5Endpoint;
  readonly username?: string;
  readonly password?: string;
  /** For messages: `host:port` of the proxy. */
  readonly proxyName: string;
}

type State = 'method' | 'auth' | 'reply' | 'done';

/** One SOCKS5 negotiation; see the module notes. */
export class Socks5Handshake {
  readonly #init: Socks5HandshakeInit;
  readonly #request: Uint8Array;
  #state: State = 'method';
  #buf = new Uint8Array(0);

  /** Throws `NetProxy` when the target cannot be put in a request. */
  constructor(init: Socks5HandshakeInit) {
    this.#init = init;
    const addr = encodeSocks5Address(init.target);
    this.#request = new Uint8Array(3 + addr.length);
    this.#request[0] = 5;
    this.#request[1] = init.command === 'connect' ? 1 : 3;
    this.#request.set(addr, 3);
  }

  get state(): State {
    return this.#state;
  }

  /** The greeting: our authentication methods (username/password only when we have them). */
  start(): Uint8Array {
    return this.#init.username !== undefined
      ? Uint8Array.of(5, 2, METHOD_NONE, METHOD_USER_PASS)
      : Uint8Array.of(5, 1, METHOD_NONE);
  }

  /** Bytes from the proxy (`chunk` is borrowed). Throws `ShoalError` when the negotiation fails. */
  push(chunk: Uint8Array): Socks5Step {
    if (this.#state === 'done') return {};
    const next = new Uint8Array(this.#buf.length + chunk.length);
    next.set(this.#buf);
    next.set(chunk, this.#buf.length);
    this.#buf = next;
    const sends: Uint8Array[] = [];
    for (;;) {
      const b = this.#buf;
      if (this.#state === 'method') {
        if (b.length < 2) break;
        if (b[0] !== 5) throw this.#fail(`not a SOCKS5 proxy (version byte ${b[0]})`, 'method');
        const method = b[1]!;
        this.#buf = b.subarray(2);
        if (method === METHOD_NONE) {
          sends.push(this.#request);
          this.#state = 'reply';
        } else if (method === METHOD_USER_PASS && this.#init.username !== undefined) {
          sends.push(this.#authRequest());
          this.#state = 'auth';
        } else if (method === METHOD_NONE_ACCEPTABLE) {
          throw this.#fail(
            this.#init.username === undefined
              ? 'the proxy requires authentication (give a username and password)'
              : 'the proxy accepts none of our authentication methods',
            'method',
          );
        } else
          throw this.#fail(`the proxy chose an authentication method we did not offer (${method})`, 'method');
      } else if (this.#state === 'auth') {
        if (b.length < 2) break;
        // RFC 1929 says the reply's version is 1; some servers answer 5. Only the status matters.
        if (b[1] !== 0) throw this.#fail('authentication failed (wrong username or password)', 'auth');
        this.#buf = b.subarray(2);
        sends.push(this.#request);
        this.#state = 'reply';
      } else if (this.#state === 'reply') {
        if (b.length < 2) break;
        if (b[0] !== 5) throw this.#fail(`malformed reply (version byte ${b[0]})`, 'reply');
        const rep = b[1]!;
        if (rep !== 0) throw this.#refused(rep);
        const a = decodeSocks5Address(b, 3);
        if (a === 'more') break;
        if (a === undefined) throw this.#fail(`malformed reply (address type ${b[3]})`, 'reply');
        this.#state = 'done';
        this.#buf = new Uint8Array(0);
        return { ...joined(sends), result: { bound: a.endpoint, rest: b.slice(a.end) } };
      } else break;
    }
    return joined(sends);
  }

  #authRequest(): Uint8Array {
    const user = Buffer.from(this.#init.username ?? '', 'utf8');
    const pass = Buffer.from(this.#init.password ?? '', 'utf8');
    const out = new Uint8Array(3 + user.length + pass.length);
    out[0] = 1;
    out[1] = user.length;
    out.set(user, 2);
    out[2 + user.length] = pass.length;
    out.set(pass, 3 + user.length);
    return out;
  }

  #fail(words: string, stage: State): ShoalError {
    return new ShoalError(ErrorCode.NetProxy, `SOCKS5 proxy ${this.#init.proxyName}: ${words}`, {
      proxy: this.#init.proxyName,
      stage,
    });
  }

  #refused(rep: number): ShoalError {
    const words = SOCKS5_REPLY_WORDS[rep] ?? `unknown reply code ${rep}`;
    const target = endpointName(this.#init.target.host, this.#init.target.port);
    return new ShoalError(
      TARGET_UNREACHABLE.has(rep) ? ErrorCode.NetConnectFailed : ErrorCode.NetProxy,
      this.#init.command === 'connect'
        ? `${target} through SOCKS5 proxy ${this.#init.proxyName}: ${words}`
        : `SOCKS5 proxy ${this.#init.proxyName} refused UDP ASSOCIATE: ${words}`,
      { proxy: this.#init.proxyName, stage: 'reply', reply: rep },
    );
  }
}

function joined(sends: Uint8Array[]): { send?: Uint8Array } {
  if (sends.length === 0) return {};
  if (sends.length === 1) return { send: sends[0]! };
  return { send: Buffer.concat(sends) };
}

/** `host:port` (IPv6 in brackets). */
export function endpointName(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
