/**
 * KRPC fuzz target: mutated datagrams go through `decodeKrpc`, and through a live `DhtNode`
 * (as queries, as BEP 44 puts carrying a valid write token, and as answers to its own `ping` and
 * `get` queries). Decoding must yield a message or a `DhtError`; the node must never throw, and
 * everything it sends must be valid KRPC within MAX_KRPC_REPLY_BYTES (MAX_KRPC_ITEM_REPLY_BYTES
 * for a `get` answer carrying an item). Whatever decodes must re-encode and decode to the same
 * bytes. A put that got past the token must leave the item store within its bounds, and an item
 * a `get` lookup reports must verify against its target.
 */
import { BencodeRaw, encode } from '../src/codec/index.js';
import {
  DhtNode,
  decodeKrpc,
  ed25519KeyPair,
  encodeKrpc,
  itemMatchesTarget,
  type KrpcMessage,
  mutableTarget,
  queryTarget,
  signMutableItem,
} from '../src/dht/index.js';
import { isShoalError } from '../src/shared/errors.js';
import {
  MAX_DHT_ITEM_STORE_BYTES,
  MAX_DHT_ITEMS,
  MAX_KRPC_ITEM_REPLY_BYTES,
  MAX_KRPC_REPLY_BYTES,
} from '../src/shared/limits.js';
import { SeededRandom } from '../src/testing/sim-network.js';
import type { FuzzTarget } from './target.js';

const encoder = new TextEncoder();
const te = (s: string): Uint8Array => encoder.encode(s);
const random = new SeededRandom(1);
const UNLIMITED = 1e9;
const node = new DhtNode(
  { random },
  {
    externalIp: '192.0.2.1',
    rateGlobal: UNLIMITED,
    burstGlobal: UNLIMITED,
    ratePerIp: UNLIMITED,
    burstPerIp: UNLIMITED,
    items: {
      putRatePerIp: UNLIMITED,
      putBurstPerIp: UNLIMITED,
      putRateGlobal: UNLIMITED,
      putBurstGlobal: UNLIMITED,
    },
  },
  0,
);
for (let i = 1; i <= 40; i++)
  node.table.add({ id: random.bytes(20), host: `198.51.100.${i}`, port: 6881 }, 0);
let now = 0;
let n = 0;

/** The source of token-carrying puts, and its current write token. */
const writer = { host: '198.51.100.9', port: 6881 };
let token: Uint8Array = new Uint8Array(0);

const pair = ed25519KeyPair(new Uint8Array(32).fill(0x44));
const salt = te('fuzz');
const item = signMutableItem(pair, encode({ ih: new Uint8Array(20).fill(1) }), 7, salt);
const itemQuery = { type: 'mutable', publicKey: pair.publicKey, salt } as const;
const ID = te('abcdefghij0123456789');

function drain(): void {
  for (const a of node.takeActions()) {
    const m = decodeKrpc(a.bytes);
    const bound = m.y === 'r' && m.item !== undefined ? MAX_KRPC_ITEM_REPLY_BYTES : MAX_KRPC_REPLY_BYTES;
    if (a.bytes.length > bound) throw new Error(`sent ${a.bytes.length} bytes`);
  }
  for (const e of node.takeEvents()) {
    if (e.type === 'lookup:finished' && e.item !== undefined && !itemMatchesTarget(e.item, e.target)) {
      throw new Error('a get lookup reported an item that does not verify');
    }
  }
  const s = node.stats(now);
  if (s.storedItems > MAX_DHT_ITEMS || s.storedItemBytes > MAX_DHT_ITEM_STORE_BYTES) {
    throw new Error(`item store past its bounds: ${s.storedItems} items, ${s.storedItemBytes} bytes`);
  }
}

/** Asks for a fresh write token as `writer` (tokens live 5 to 10 minutes). */
function refreshToken(): void {
  node.handleDatagram(
    encodeKrpc({ y: 'q', t: te('tk'), id: ID, method: 'get', target: mutableTarget(pair.publicKey, salt) }),
    writer,
    now,
  );
  for (const a of node.takeActions()) {
    const m = decodeKrpc(a.bytes);
    if (m.y === 'r' && m.token !== undefined) token = m.token;
  }
}

/** Replaces the first bencoded string after `key` in latin-1 `text` with `value`. */
function patch(text: string, key: string, value: Uint8Array): string | undefined {
  const m = new RegExp(`${key}(\\d{1,4}):`).exec(text);
  if (m === null) return undefined;
  const end = m.index + m[0].length + Number(m[1]);
  return `${text.slice(0, m.index)}${key}${value.length}:${Buffer.from(value).toString('latin1')}${text.slice(end)}`;
}

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

/** Sends `input` (its `t` patched to the query's) as the answer to the first query the node queued. */
function answer(input: string): void {
  const [q] = node.takeActions();
  if (q === undefined) return;
  const patched = patch(input, '1:t', decodeKrpc(q.bytes).t);
  if (patched !== undefined) node.handleDatagram(latin1(patched), q.to, now);
  drain();
}

function seeds(): Uint8Array[] {
  const get = (extra: Record<string, unknown>) =>
    encode({ t: 'aa', y: 'q', q: 'get', a: { id: ID, target: queryTarget(itemQuery), ...extra } });
  const put = (a: Record<string, unknown>) =>
    encode({ t: 'aa', y: 'q', q: 'put', a: { id: ID, token: 'aoeusnth', ...a } });
  return [
    ...[
      'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe',
      'd1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe',
      'd1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe',
      'd1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe',
      'd1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re',
      'd2:ip6:abcdef1:rd2:id20:0123456789abcdefghij5:nodes26:0123456789abcdefghijdef456e1:t2:aa1:y1:re',
      'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee',
      'd1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q3:get1:t2:aa1:y1:qe',
      'd1:ad2:id20:abcdefghij01234567895:token8:aoeusnth1:v12:Hello World!e1:q3:put1:t2:aa1:y1:qe',
      'd1:eli302e31:sequence number less than currente1:t2:aa1:y1:ee',
    ].map(te),
    get({}),
    get({ seq: 6 }),
    put({ v: new BencodeRaw(encode([1, 'two', { three: 3 }])) }),
    put({ v: new BencodeRaw(item.value), k: item.publicKey, seq: 7, sig: item.signature, salt }),
    put({ v: new BencodeRaw(item.value), k: item.publicKey, seq: 7, sig: item.signature, salt, cas: 6 }),
    encode({
      t: 'aa',
      y: 'r',
      r: {
        id: ID,
        token: 'tok',
        k: item.publicKey,
        seq: 7,
        sig: item.signature,
        v: new BencodeRaw(item.value),
      },
    }),
    encode({ t: 'aa', y: 'r', r: { id: ID, token: 'tok', v: new BencodeRaw(encode('an immutable value')) } }),
  ];
}

export const target: FuzzTarget = {
  seeds,
  run(input) {
    let decoded: KrpcMessage | undefined;
    try {
      decoded = decodeKrpc(input);
      const again = encodeKrpc(decoded);
      if (Buffer.compare(Buffer.from(encodeKrpc(decodeKrpc(again))), Buffer.from(again)) !== 0) {
        throw new Error('decode/encode is not stable');
      }
    } catch (e) {
      if (!isShoalError(e)) throw e;
    }
    n++;
    now += 7;
    if (n % 100 === 1) refreshToken();
    // As a query from a stranger.
    node.handleDatagram(input, { host: `10.2.${(n >> 8) & 255}.${n & 255}`, port: 1 + (n % 60000) }, now);
    drain();
    const text = Buffer.from(input).toString('latin1');
    // As a BEP 44 put (or any query with a token) from a node that holds a valid token.
    const withToken = patch(text, '5:token', token);
    if (withToken !== undefined) {
      node.handleDatagram(latin1(withToken), writer, now);
      drain();
    }
    // As an answer to our own ping, then to our own BEP 44 get.
    node.ping({ host: `10.3.${(n >> 8) & 255}.${n & 255}`, port: 6881 }, now);
    answer(text);
    const lookupId = node.getItem(itemQuery, now);
    answer(text);
    node.cancel(lookupId);
    node.takeActions();
    if (n % 200 === 0) {
      now += 10_000;
      node.tick(now);
      drain();
    }
  },
};
