/**
 * KRPC, the DHT's message format (BEP 5 §KRPC Protocol), with BEP 32 (`nodes6`, `want`), BEP 42
 * (`ip`), BEP 43 (`ro`) and BEP 44 (`get`, `put`; their fields are in krpc-item.ts). Symmetric: {@link encodeKrpc} and {@link decodeKrpc} map between
 * bytes and the {@link KrpcMessage} union; the node never touches bencode itself.
 *
 * Grammar (one bencoded dictionary per UDP datagram, keys sorted):
 *
 *   message  := { t: bytes, y: "q" | "r" | "e", v?: bytes, ip?: compact-peer, ro?: 1, ... }
 *   query    := y="q", q: method, a: { id: bytes[20], ...arguments }
 *   response := y="r", r: { id: bytes[20], nodes?: node26*, nodes6?: node38*, values?: [peer6|peer18],
 *                           token?: bytes, k?, seq?, sig?, v? }
 *   error    := y="e", e: [ code, message ]
 *
 * Decoding is lenient about key order (real clients emit unsorted keys) and strict about shapes:
 * every malformed datagram is a {@link DhtError} `DhtBadMessage` whose `details.reply` says
 * whether (and with which KRPC error) to answer it. Lists are bounded by the `MAX_KRPC_*` limits.
 */
import {
  BencodeDict,
  BencodeError,
  type BencodeValue,
  bytesToText,
  decode,
  type Encodable,
  encode,
} from '../codec/index.js';
import { ErrorCode } from '../shared/errors.js';
import {
  MAX_DHT_ITEM_VALUE_DEPTH,
  MAX_KRPC_DATAGRAM_BYTES,
  MAX_KRPC_NODES_PER_REPLY,
  MAX_KRPC_TOKEN_BYTES,
  MAX_KRPC_TRANSACTION_ID_BYTES,
  MAX_KRPC_VALUES_PER_REPLY,
  MAX_KRPC_VERSION_BYTES,
} from '../shared/limits.js';
import { type Address, decodeCompactAddress, encodeCompactAddress } from './address.js';
import { NODE_ID_BYTES } from './constants.js';
import { DhtError, KrpcErrorCode } from './errors.js';
import type { DhtItem } from './item.js';
import {
  decodeGetArgs,
  decodeItemFields,
  decodePutArgs,
  hasItemFields,
  type KrpcItemFields,
  setItemFields,
  setPutArgs,
} from './krpc-item.js';

/** A DHT node's contact: its id and UDP address ("compact node info", BEP 5). */
export interface NodeContact {
  readonly id: Uint8Array;
  readonly host: string;
  readonly port: number;
}

/** The four DHT queries of BEP 5 and the two of BEP 44. */
export type KrpcMethod = 'ping' | 'find_node' | 'get_peers' | 'announce_peer' | 'get' | 'put';

/** BEP 32 `want` flags: ask for `nodes` (IPv4) and/or `nodes6` (IPv6) in the reply. */
export type KrpcWant = 'n4' | 'n6';

interface KrpcBase {
  /** Transaction id, echoed by the reply. */
  readonly t: Uint8Array;
  /** Client version (BEP 5 `v`), when sent. */
  readonly v?: Uint8Array;
}

interface KrpcQueryBase extends KrpcBase {
  readonly y: 'q';
  /** The querying node's id. */
  readonly id: Uint8Array;
  /** BEP 43: the sender is read-only and must not enter routing tables. */
  readonly ro?: boolean;
}

/** `ping` (BEP 5). */
export interface KrpcPing extends KrpcQueryBase {
  readonly method: 'ping';
}

/** `find_node` (BEP 5), with BEP 32 `want`. */
export interface KrpcFindNode extends KrpcQueryBase {
  readonly method: 'find_node';
  readonly target: Uint8Array;
  readonly want?: readonly KrpcWant[];
}

/** `get_peers` (BEP 5), with BEP 32 `want`. */
export interface KrpcGetPeers extends KrpcQueryBase {
  readonly method: 'get_peers';
  readonly infoHash: Uint8Array;
  readonly want?: readonly KrpcWant[];
}

/** `announce_peer` (BEP 5), with `implied_port`. */
export interface KrpcAnnouncePeer extends KrpcQueryBase {
  readonly method: 'announce_peer';
  readonly infoHash: Uint8Array;
  /** The announced TCP port (0 when absent and `impliedPort` is set). */
  readonly port: number;
  readonly token: Uint8Array;
  /** Use the datagram's source port instead of `port`. */
  readonly impliedPort: boolean;
}

/** `get` (BEP 44), with BEP 32 `want`. */
export interface KrpcGet extends KrpcQueryBase {
  readonly method: 'get';
  readonly target: Uint8Array;
  /** Only a mutable item with a higher sequence number is wanted (BEP 44). */
  readonly seq?: bigint;
  readonly want?: readonly KrpcWant[];
}

/** `put` (BEP 44): the item as sent (its signature not yet checked), the write token, and `cas`. */
export interface KrpcPut extends KrpcQueryBase {
  readonly method: 'put';
  readonly token: Uint8Array;
  readonly item: DhtItem;
  /** Mutable puts: the sequence number the writer expects to replace (BEP 44 §CAS). */
  readonly cas?: bigint;
}

/** A KRPC query. */
export type KrpcQuery = KrpcPing | KrpcFindNode | KrpcGetPeers | KrpcAnnouncePeer | KrpcGet | KrpcPut;

/** A query's method and arguments, without the envelope (`y`, `t`, `id`, `ro`, `v`). */
export type KrpcQueryArgs = KrpcQuery extends infer Q
  ? Q extends KrpcQuery
    ? Omit<Q, 'y' | 't' | 'id' | 'ro' | 'v'>
    : never
  : never;

/** A KRPC response (`y = "r"`). Which fields are present depends on the query it answers. */
export interface KrpcResponse extends KrpcBase {
  readonly y: 'r';
  /** The responding node's id. */
  readonly id: Uint8Array;
  /** BEP 42: the requester's address as the responder saw it. */
  readonly ip?: Address;
  /** IPv4 contacts (26-byte compact node info each). */
  readonly nodes?: readonly NodeContact[];
  /** IPv6 contacts (38-byte compact node info each, BEP 32). */
  readonly nodes6?: readonly NodeContact[];
  /** Peers for the info-hash (6- or 18-byte compact peers). */
  readonly values?: readonly Address[];
  /** Write token for a later `announce_peer` or `put`. */
  readonly token?: Uint8Array;
  /** A `get` answer's BEP 44 item fields (`v` as its verbatim bencoded bytes, `k`, `seq`, `sig`). */
  readonly item?: KrpcItemFields;
}

/** A KRPC error (`y = "e"`, BEP 5 §Errors). */
export interface KrpcErrorMessage extends KrpcBase {
  readonly y: 'e';
  /** 201 generic, 202 server, 203 protocol, 204 method unknown (others may appear). */
  readonly code: number;
  readonly message: string;
  readonly ip?: Address;
}

/** Any KRPC message. */
export type KrpcMessage = KrpcQuery | KrpcResponse | KrpcErrorMessage;

const utf8 = new TextDecoder('utf-8', { fatal: false });
/** Deepest nesting a KRPC message needs: message → arguments/results → an item value's own nesting. */
const KRPC_MAX_DEPTH = 2 + MAX_DHT_ITEM_VALUE_DEPTH;

// ---------------------------------------------------------------------------------------------
// encode

function compactNodes(nodes: readonly NodeContact[], family: 4 | 6): Uint8Array {
  const size = family === 4 ? 26 : 38;
  const out = new Uint8Array(nodes.length * size);
  let n = 0;
  for (const c of nodes) {
    const addr = encodeCompactAddress(c);
    if (addr === undefined || addr.length + NODE_ID_BYTES !== size || c.id.length !== NODE_ID_BYTES) {
      throw new DhtError(
        ErrorCode.DhtInvalidArgument,
        `contact ${c.host}:${c.port} is not an IPv${family} node`,
      );
    }
    out.set(c.id, n);
    out.set(addr, n + NODE_ID_BYTES);
    n += size;
  }
  return out;
}

function compactPeer(a: Address): Uint8Array {
  const b = encodeCompactAddress(a);
  if (b === undefined)
    throw new DhtError(ErrorCode.DhtInvalidArgument, `peer ${a.host}:${a.port} is not an IP`);
  return b;
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
/** Keys and fixed values as bytes, so encoding never goes through a text encoder. */
const K = {
  a: ascii('a'),
  e: ascii('e'),
  id: ascii('id'),
  impliedPort: ascii('implied_port'),
  infoHash: ascii('info_hash'),
  ip: ascii('ip'),
  nodes: ascii('nodes'),
  nodes6: ascii('nodes6'),
  port: ascii('port'),
  q: ascii('q'),
  r: ascii('r'),
  ro: ascii('ro'),
  seq: ascii('seq'),
  t: ascii('t'),
  target: ascii('target'),
  token: ascii('token'),
  v: ascii('v'),
  values: ascii('values'),
  want: ascii('want'),
  y: ascii('y'),
} as const;
const Y = { q: ascii('q'), r: ascii('r'), e: ascii('e') } as const;
const METHOD: Record<KrpcMethod, Uint8Array> = {
  ping: ascii('ping'),
  find_node: ascii('find_node'),
  get_peers: ascii('get_peers'),
  announce_peer: ascii('announce_peer'),
  get: ascii('get'),
  put: ascii('put'),
};
const WANT: Record<KrpcWant, Uint8Array> = { n4: ascii('n4'), n6: ascii('n6') };

/**
 * The bencoded bytes of a KRPC message (BEP 5). Optional fields are written only when present,
 * so a message built from a BEP example encodes to the example's bytes. Throws `DhtInvalidArgument`
 * for contacts or peers that are not IP addresses of the right family.
 */
export function encodeKrpc(msg: KrpcMessage): Uint8Array {
  const top = new Map<Uint8Array, Encodable>([
    [K.t, msg.t],
    [K.y, Y[msg.y]],
  ]);
  if (msg.v !== undefined) top.set(K.v, msg.v);
  switch (msg.y) {
    case 'q': {
      const a = new Map<Uint8Array, Encodable>([[K.id, msg.id]]);
      switch (msg.method) {
        case 'ping':
          break;
        case 'find_node':
          a.set(K.target, msg.target);
          if (msg.want !== undefined)
            a.set(
              K.want,
              msg.want.map((w) => WANT[w]),
            );
          break;
        case 'get_peers':
          a.set(K.infoHash, msg.infoHash);
          if (msg.want !== undefined)
            a.set(
              K.want,
              msg.want.map((w) => WANT[w]),
            );
          break;
        case 'announce_peer':
          a.set(K.infoHash, msg.infoHash);
          a.set(K.port, msg.port);
          a.set(K.token, msg.token);
          if (msg.impliedPort) a.set(K.impliedPort, 1);
          break;
        case 'get':
          a.set(K.target, msg.target);
          if (msg.seq !== undefined) a.set(K.seq, msg.seq);
          if (msg.want !== undefined)
            a.set(
              K.want,
              msg.want.map((w) => WANT[w]),
            );
          break;
        case 'put':
          a.set(K.token, msg.token);
          setPutArgs(a, msg.item, msg.cas);
          break;
      }
      top.set(K.q, METHOD[msg.method]);
      top.set(K.a, a);
      if (msg.ro === true) top.set(K.ro, 1);
      break;
    }
    case 'r': {
      const r = new Map<Uint8Array, Encodable>([[K.id, msg.id]]);
      if (msg.token !== undefined) r.set(K.token, msg.token);
      if (msg.nodes !== undefined) r.set(K.nodes, compactNodes(msg.nodes, 4));
      if (msg.nodes6 !== undefined) r.set(K.nodes6, compactNodes(msg.nodes6, 6));
      if (msg.values !== undefined) r.set(K.values, msg.values.map(compactPeer));
      if (msg.item !== undefined) setItemFields(r, msg.item);
      top.set(K.r, r);
      if (msg.ip !== undefined) top.set(K.ip, compactPeer(msg.ip));
      break;
    }
    case 'e':
      top.set(K.e, [msg.code, msg.message]);
      if (msg.ip !== undefined) top.set(K.ip, compactPeer(msg.ip));
      break;
  }
  return encode(top);
}

// ---------------------------------------------------------------------------------------------
// decode

function bad(reason: string, reply?: { t: Uint8Array; code: KrpcErrorCode }): DhtError {
  return new DhtError(ErrorCode.DhtBadMessage, reason, reply);
}

function bytesOf(v: BencodeValue | undefined): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

function intOf(v: BencodeValue | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function decodeNodes(b: Uint8Array, size: 26 | 38, key: string): NodeContact[] {
  if (b.length % size !== 0) throw bad(`"${key}" is ${b.length} bytes, not a multiple of ${size}`);
  const count = Math.min(b.length / size, MAX_KRPC_NODES_PER_REPLY);
  const out: NodeContact[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * size;
    const addr = decodeCompactAddress(b.subarray(at + NODE_ID_BYTES, at + size))!;
    out.push({ id: b.slice(at, at + NODE_ID_BYTES), host: addr.host, port: addr.port });
  }
  return out;
}

function decodeWant(v: BencodeValue | undefined): KrpcWant[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: KrpcWant[] = [];
  for (const w of v.slice(0, 8)) {
    const b = bytesOf(w);
    if (b?.length !== 2 || b[0] !== 0x6e) continue; // 'n'
    if (b[1] === 0x34 && !out.includes('n4')) out.push('n4');
    if (b[1] === 0x36 && !out.includes('n6')) out.push('n6');
  }
  return out;
}

/** The method whose name is `q`, or undefined. */
function methodOf(q: Uint8Array): KrpcMethod | undefined {
  for (const m of METHODS) if (sameBytes(METHOD[m], q)) return m;
  return undefined;
}

const METHODS = Object.keys(METHOD) as KrpcMethod[];

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The values of `keys` in `d` (first occurrence wins, as in BencodeDict.get), found in one pass
 * over the entries: KRPC dictionaries are tiny, and this is the hot path of every datagram.
 */
function fields(d: BencodeDict, keys: readonly Uint8Array[]): (BencodeValue | undefined)[] {
  const out = new Array<BencodeValue | undefined>(keys.length).fill(undefined);
  for (const e of d.entries) {
    for (let i = 0; i < keys.length; i++) {
      if (out[i] === undefined && sameBytes(keys[i]!, e.key)) {
        out[i] = e.value;
        break;
      }
    }
  }
  return out;
}

const TOP_KEYS = [K.t, K.y, K.v, K.q, K.a, K.ro, K.r, K.e, K.ip] as const;
const ARG_KEYS = [K.id, K.target, K.infoHash, K.want, K.token, K.port, K.impliedPort] as const;
const RESULT_KEYS = [K.id, K.nodes, K.nodes6, K.values, K.token] as const;

/** Top-level values of a message, by name. */
interface Top {
  readonly q: BencodeValue | undefined;
  readonly a: BencodeValue | undefined;
  readonly ro: BencodeValue | undefined;
  readonly r: BencodeValue | undefined;
  readonly e: BencodeValue | undefined;
  readonly ip: BencodeValue | undefined;
}

function decodeQuery(top: Top, t: Uint8Array, v: Uint8Array | undefined): KrpcQuery {
  const reply = { t, code: KrpcErrorCode.Protocol };
  const q = bytesOf(top.q);
  if (q === undefined) throw bad('query without a method "q"', reply);
  const a = top.a;
  if (!(a instanceof BencodeDict)) throw bad('query without arguments "a"', reply);
  const [idV, targetV, infoHashV, wantV, tokenV, portV, impliedV] = fields(a, ARG_KEYS);
  const id = bytesOf(idV);
  if (id?.length !== NODE_ID_BYTES) throw bad('query without a 20-byte "id"', reply);
  const method = methodOf(q);
  if (method === undefined) {
    const name = bytesToText(q.subarray(0, 32));
    throw bad(`unknown method "${name}"`, { t, code: KrpcErrorCode.MethodUnknown });
  }
  const hash = (value: BencodeValue | undefined, key: string): Uint8Array => {
    const h = bytesOf(value);
    if (h?.length !== NODE_ID_BYTES) throw bad(`${method} without a 20-byte "${key}"`, reply);
    return h.slice();
  };
  // Built as one mutable record, then typed: optional fields are set only when present.
  const out: Record<string, unknown> = { y: 'q', t, id: id.slice(), method };
  if (v !== undefined) out.v = v;
  if (intOf(top.ro) === 1) out.ro = true;
  switch (method) {
    case 'ping':
      break;
    case 'find_node':
    case 'get_peers': {
      if (method === 'find_node') out.target = hash(targetV, 'target');
      else out.infoHash = hash(infoHashV, 'info_hash');
      const want = decodeWant(wantV);
      if (want !== undefined) out.want = want;
      break;
    }
    case 'get': {
      const args = decodeGetArgs(a, t);
      out.target = args.target;
      if (args.seq !== undefined) out.seq = args.seq;
      const want = decodeWant(wantV);
      if (want !== undefined) out.want = want;
      break;
    }
    case 'put': {
      const args = decodePutArgs(a, t);
      out.token = args.token;
      out.item = args.item;
      if (args.cas !== undefined) out.cas = args.cas;
      break;
    }
    case 'announce_peer': {
      out.infoHash = hash(infoHashV, 'info_hash');
      const token = bytesOf(tokenV);
      if (token === undefined || token.length > MAX_KRPC_TOKEN_BYTES) {
        throw bad('announce_peer without a valid "token"', reply);
      }
      const impliedPort = (intOf(impliedV) ?? 0) !== 0;
      const port = intOf(portV);
      const portOk = port !== undefined && port >= 1 && port <= 0xffff;
      if (!portOk && !impliedPort) throw bad('announce_peer without a valid "port"', reply);
      out.port = portOk ? port : 0;
      out.token = token.slice();
      out.impliedPort = impliedPort;
      break;
    }
  }
  return out as unknown as KrpcQuery;
}

function decodeIp(value: BencodeValue | undefined): Address | undefined {
  const ip = bytesOf(value);
  return ip === undefined ? undefined : decodeCompactAddress(ip);
}

function decodeResponse(top: Top, t: Uint8Array, v: Uint8Array | undefined): KrpcResponse {
  const r = top.r;
  if (!(r instanceof BencodeDict)) throw bad('response without a dictionary "r"');
  const [idV, nodes, nodes6, values, token] = fields(r, RESULT_KEYS);
  const id = bytesOf(idV);
  if (id?.length !== NODE_ID_BYTES) throw bad('response without a 20-byte "id"');
  const out: {
    -readonly [K in keyof KrpcResponse]: KrpcResponse[K];
  } = { y: 'r', t, id: id.slice() };
  if (v !== undefined) out.v = v;
  const ip = decodeIp(top.ip);
  if (ip !== undefined) out.ip = ip;
  if (nodes !== undefined) {
    const b = bytesOf(nodes);
    if (b === undefined) throw bad('"nodes" is not a string');
    out.nodes = decodeNodes(b, 26, 'nodes');
  }
  if (nodes6 !== undefined) {
    const b = bytesOf(nodes6);
    if (b === undefined) throw bad('"nodes6" is not a string');
    out.nodes6 = decodeNodes(b, 38, 'nodes6');
  }
  if (values !== undefined) {
    if (!Array.isArray(values)) throw bad('"values" is not a list');
    const peers: Address[] = [];
    // BEP 32: a list may mix 6- and 18-byte peers; anything else is skipped, not fatal.
    for (const item of values) {
      if (peers.length >= MAX_KRPC_VALUES_PER_REPLY) break;
      const b = bytesOf(item);
      const a = b === undefined ? undefined : decodeCompactAddress(b);
      if (a !== undefined) peers.push(a);
    }
    out.values = peers;
  }
  if (token !== undefined) {
    const b = bytesOf(token);
    if (b === undefined || b.length > MAX_KRPC_TOKEN_BYTES) throw bad('"token" is not a short string');
    out.token = b.slice();
  }
  if (hasItemFields(r)) {
    const item = decodeItemFields(r);
    if (Object.keys(item).length > 0) out.item = item;
  }
  return out;
}

function decodeError(top: Top, t: Uint8Array, v: Uint8Array | undefined): KrpcErrorMessage {
  const e = top.e;
  if (!Array.isArray(e)) throw bad('error without a list "e"');
  const text = bytesOf(e[1]);
  const out: { -readonly [K in keyof KrpcErrorMessage]: KrpcErrorMessage[K] } = {
    y: 'e',
    t,
    code: intOf(e[0]) ?? KrpcErrorCode.Generic,
    message: text === undefined ? '' : utf8.decode(text.subarray(0, 256)),
  };
  if (v !== undefined) out.v = v;
  const ip = decodeIp(top.ip);
  if (ip !== undefined) out.ip = ip;
  return out;
}

/**
 * Decodes one KRPC datagram. Throws {@link DhtError} (`DhtBadMessage`) for anything malformed,
 * and nothing else for any input. `details.reply` is set when the datagram was a query we can
 * answer with a KRPC error (a readable `t` of at most `MAX_KRPC_TRANSACTION_ID_BYTES`).
 */
export function decodeKrpc(bytes: Uint8Array): KrpcMessage {
  if (bytes.length > MAX_KRPC_DATAGRAM_BYTES) {
    throw bad(`datagram of ${bytes.length} bytes exceeds ${MAX_KRPC_DATAGRAM_BYTES}`);
  }
  let value: BencodeValue;
  try {
    value = decode(bytes, { mode: 'lenient', maxDepth: KRPC_MAX_DEPTH });
  } catch (e) {
    if (e instanceof BencodeError) throw new DhtError(ErrorCode.DhtBadMessage, `not bencode: ${e.message}`);
    throw e;
  }
  if (!(value instanceof BencodeDict)) throw bad('message is not a dictionary');
  const [tV, yV, vV, q, a, ro, r, e, ip] = fields(value, TOP_KEYS);
  const t = bytesOf(tV);
  if (t === undefined) throw bad('message without a transaction id "t"');
  if (t.length > MAX_KRPC_TRANSACTION_ID_BYTES) throw bad(`transaction id of ${t.length} bytes`);
  const y = bytesOf(yV);
  let v = bytesOf(vV);
  if (v !== undefined) v = v.length > MAX_KRPC_VERSION_BYTES ? undefined : v.slice();
  const tid = t.slice();
  const top: Top = { q, a, ro, r, e, ip };
  if (y?.length === 1) {
    if (y[0] === 0x71) return decodeQuery(top, tid, v); // 'q'
    if (y[0] === 0x72) return decodeResponse(top, tid, v); // 'r'
    if (y[0] === 0x65) return decodeError(top, tid, v); // 'e'
  }
  throw bad('message type "y" is not q, r or e');
}

/** Bytes of a KRPC error reply (BEP 5 §Errors). */
export function encodeKrpcError(t: Uint8Array, code: number, message: string): Uint8Array {
  return encodeKrpc({ y: 'e', t, code, message });
}
