/**
 * Answers to the four BEP 5 queries and the two of BEP 44, given the node's state: `ping` → our
 * id; `find_node` → the k closest confirmed nodes; `get_peers` → a write token, the k closest
 * nodes and, when we store peers for the info-hash, as many `values` as fit in
 * `MAX_KRPC_REPLY_BYTES` (a small query never draws a large answer); `announce_peer` → stores the
 * peer when its token is valid for the sender's IP, else error 203. `get` → a write token, the k
 * closest nodes and the stored item (only its `seq` when the query's `seq` is not older), within
 * `MAX_KRPC_ITEM_REPLY_BYTES` (farthest nodes dropped first); `put` → the item store's verdict,
 * after the token check (error 203 for a bad token, BEP 44's codes for a refused item). Every
 * answer carries the BEP 42 `ip` of the requester.
 *
 * Rate limiting, BEP 43 and routing-table bookkeeping happen before, in the DhtNode.
 */
import {
  MAX_KRPC_ITEM_REPLY_BYTES,
  MAX_KRPC_REPLY_BYTES,
  MAX_KRPC_VALUES_PER_REPLY,
} from '../shared/limits.js';
import { type Address, type AddressFamily, addressFromKey, binaryToBytes, bytesToBinary } from './address.js';
import { KrpcErrorCode } from './errors.js';
import type { ItemStore } from './item-store.js';
import {
  encodeKrpc,
  encodeKrpcError,
  type KrpcGet,
  type KrpcQuery,
  type KrpcResponse,
  type NodeContact,
} from './krpc.js';
import type { KrpcItemFields } from './krpc-item.js';
import type { PeerStore } from './peer-store.js';
import type { Random } from './random.js';
import type { RoutingTable } from './routing-table.js';
import type { TokenStore } from './token-store.js';

/** Encoded size of one `values` entry: "6:" + 6 bytes, or "18:" + 18 bytes. */
const VALUE_COST = { 4: 8, 6: 21 } as const;
/** Encoded size of the empty `values` list and its key: "6:values" "l" "e". */
const VALUES_OVERHEAD = 10;

/** What a {@link QueryResponder} reads. */
export interface ResponderState {
  readonly id: Uint8Array;
  readonly family: AddressFamily;
  readonly k: number;
  readonly version: Uint8Array | undefined;
  readonly table: RoutingTable;
  readonly tokens: TokenStore;
  readonly peers: PeerStore;
  readonly items: ItemStore;
  readonly random: Random;
}

/** The reply to one query. */
export interface QueryAnswer {
  readonly bytes: Uint8Array;
  /** True when the reply is a KRPC error. */
  readonly isError: boolean;
}

/** Builds the answers to incoming queries (BEP 5, BEP 32, BEP 42). */
export class QueryResponder {
  readonly #s: ResponderState;

  constructor(state: ResponderState) {
    this.#s = state;
  }

  /** The answer to `msg` from `from` (whose IP bytes are `ip`). */
  answer(msg: KrpcQuery, from: Address, ip: Uint8Array, now: number): QueryAnswer {
    const s = this.#s;
    const base: KrpcResponse = {
      y: 'r',
      t: msg.t,
      id: s.id,
      ip: from,
      ...(s.version === undefined ? {} : { v: s.version }),
    };
    switch (msg.method) {
      case 'ping':
        return { bytes: encodeKrpc(base), isError: false };
      case 'find_node':
        return { bytes: encodeKrpc({ ...base, ...this.#nodesField(msg.target, now) }), isError: false };
      case 'get_peers': {
        const reply: KrpcResponse = {
          ...base,
          token: s.tokens.issue(ip, now),
          ...this.#nodesField(msg.infoHash, now),
        };
        const plain = encodeKrpc(reply);
        const peers = s.peers.get(msg.infoHash, MAX_KRPC_VALUES_PER_REPLY, ip.length + 2, s.random, now);
        if (peers.length === 0) return { bytes: plain, isError: false };
        const room = Math.floor(
          (MAX_KRPC_REPLY_BYTES - plain.length - VALUES_OVERHEAD) / VALUE_COST[s.family],
        );
        const values = peers.slice(0, Math.max(0, room));
        return { bytes: values.length === 0 ? plain : encodeKrpc({ ...reply, values }), isError: false };
      }
      case 'announce_peer': {
        if (!s.tokens.verify(msg.token, ip, now)) {
          return { bytes: encodeKrpcError(msg.t, KrpcErrorCode.Protocol, 'bad token'), isError: true };
        }
        const port = msg.impliedPort ? from.port : msg.port;
        const peer = new Uint8Array(ip.length + 2);
        peer.set(ip);
        peer[ip.length] = port >> 8;
        peer[ip.length + 1] = port & 0xff;
        s.peers.announce(msg.infoHash, peer, now);
        return { bytes: encodeKrpc(base), isError: false };
      }
      case 'get':
        return { bytes: this.#getReply(msg, base, ip, now), isError: false };
      case 'put': {
        if (!s.tokens.verify(msg.token, ip, now)) {
          return { bytes: encodeKrpcError(msg.t, KrpcErrorCode.Protocol, 'bad token'), isError: true };
        }
        const r = s.items.put(msg.item, msg.cas, bytesToBinary(ip), now);
        if (!r.ok) return { bytes: encodeKrpcError(msg.t, r.code, r.reason), isError: true };
        return { bytes: encodeKrpc(base), isError: false };
      }
    }
  }

  #getReply(msg: KrpcGet, base: KrpcResponse, ip: Uint8Array, now: number): Uint8Array {
    const s = this.#s;
    const found = s.items.get(msg.target, now);
    let fields: KrpcItemFields = {};
    if (found?.type === 'immutable') fields = { v: found.value };
    else if (found?.type === 'mutable') {
      // BEP 44: a reader that already has this seq (or newer) gets only the seq.
      fields =
        msg.seq !== undefined && found.seq <= msg.seq
          ? { seq: found.seq }
          : { v: found.value, k: found.publicKey, seq: found.seq, sig: found.signature };
    }
    const nodes = this.#nodesField(msg.target, now);
    const list = 'nodes' in nodes ? nodes.nodes : nodes.nodes6;
    const reply: KrpcResponse = {
      ...base,
      token: s.tokens.issue(ip, now),
      ...(found === undefined ? {} : { item: fields }),
    };
    for (;;) {
      const bytes = encodeKrpc({ ...reply, ...(s.family === 4 ? { nodes: list } : { nodes6: list }) });
      if (bytes.length <= MAX_KRPC_ITEM_REPLY_BYTES || list.length === 0) return bytes;
      list.pop();
    }
  }

  #nodesField(target: Uint8Array, now: number): { nodes: NodeContact[] } | { nodes6: NodeContact[] } {
    const s = this.#s;
    const entries = s.table.closestEntries(bytesToBinary(target), s.k, true, now);
    const contacts = entries.map((e) => {
      const a = addressFromKey(e.addr);
      return { id: binaryToBytes(e.id), host: a.host, port: a.port };
    });
    return s.family === 4 ? { nodes: contacts } : { nodes6: contacts };
  }
}
