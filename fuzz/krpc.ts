/**
 * KRPC fuzz target: mutated datagrams go through `decodeKrpc`, and through a live `DhtNode`
 * (as queries and as answers to its own queries). Decoding must yield a message or a
 * `DhtError`; the node must never throw, and everything it sends must be valid KRPC within
 * MAX_KRPC_REPLY_BYTES. Whatever decodes must re-encode and decode to the same bytes.
 */
import { DhtNode, decodeKrpc, encodeKrpc } from '../src/dht/index.js';
import { isShoalError } from '../src/shared/errors.js';
import { MAX_KRPC_REPLY_BYTES } from '../src/shared/limits.js';
import { SeededRandom } from '../src/testing/sim-network.js';
import type { FuzzTarget } from './target.js';

const te = new TextEncoder();
const random = new SeededRandom(1);
const node = new DhtNode(
  { random },
  { externalIp: '10.0.0.1', rateGlobal: 1e9, burstGlobal: 1e9, ratePerIp: 1e9, burstPerIp: 1e9 },
  0,
);
for (let i = 1; i <= 40; i++) node.table.add({ id: random.bytes(20), host: `10.1.0.${i}`, port: 6881 }, 0);
let now = 0;
let n = 0;

function drain(): void {
  for (const a of node.takeActions()) {
    if (a.bytes.length > MAX_KRPC_REPLY_BYTES) throw new Error(`sent ${a.bytes.length} bytes`);
    decodeKrpc(a.bytes);
  }
  node.takeEvents();
}

export const target: FuzzTarget = {
  seeds: () =>
    [
      'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe',
      'd1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe',
      'd1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe',
      'd1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe',
      'd1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re',
      'd2:ip6:abcdef1:rd2:id20:0123456789abcdefghij5:nodes26:0123456789abcdefghijdef456e1:t2:aa1:y1:re',
      'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee',
    ].map((s) => te.encode(s)),
  run(input) {
    try {
      const m = decodeKrpc(input);
      const again = encodeKrpc(m);
      if (Buffer.compare(Buffer.from(encodeKrpc(decodeKrpc(again))), Buffer.from(again)) !== 0) {
        throw new Error('decode/encode is not stable');
      }
    } catch (e) {
      if (!isShoalError(e)) throw e;
    }
    // As a query from a stranger.
    n++;
    now += 7;
    node.handleDatagram(input, { host: `10.2.${(n >> 8) & 255}.${n & 255}`, port: 1 + (n % 60000) }, now);
    drain();
    // As an answer to our own query: ping someone, then answer with the input's body but our t.
    const to = { host: `10.3.${(n >> 8) & 255}.${n & 255}`, port: 6881 };
    node.ping(to, now);
    const [q] = node.takeActions();
    const text = Buffer.from(input).toString('latin1');
    const m = /1:t(\d{1,2}):/.exec(text);
    if (q !== undefined && m !== null) {
      const t = Buffer.from(decodeKrpc(q.bytes).t).toString('latin1');
      const end = m.index + m[0].length + Number(m[1]);
      const patched = `${text.slice(0, m.index)}1:t2:${t}${text.slice(end)}`;
      node.handleDatagram(new Uint8Array(Buffer.from(patched, 'latin1')), to, now);
      drain();
    }
    if (n % 200 === 0) {
      now += 10_000;
      node.tick(now);
      drain();
    }
  },
};
