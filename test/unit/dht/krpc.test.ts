import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from '../../../src/codec/index.js';
import {
  DhtError,
  decodeKrpc,
  encodeKrpc,
  encodeKrpcError,
  type KrpcMessage,
  type NodeContact,
} from '../../../src/dht/index.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import {
  MAX_KRPC_DATAGRAM_BYTES,
  MAX_KRPC_NODES_PER_REPLY,
  MAX_KRPC_TOKEN_BYTES,
  MAX_KRPC_TRANSACTION_ID_BYTES,
  MAX_KRPC_VALUES_PER_REPLY,
  MAX_KRPC_VERSION_BYTES,
} from '../../../src/shared/limits.js';

const b = (s: string) => new TextEncoder().encode(s);
const text = (u: Uint8Array) => Buffer.from(u).toString('latin1');

/** Decodes, asserting a DhtBadMessage with the given reply code (or none). */
function rejects(input: Uint8Array, replyCode: number | undefined): DhtError {
  let err: DhtError | undefined;
  assert.throws(
    () => decodeKrpc(input),
    (e: unknown) => {
      assert.ok(e instanceof DhtError, `expected DhtError, got ${String(e)}`);
      assert.equal(e.code, ErrorCode.DhtBadMessage);
      assert.equal(e.details.reply?.code, replyCode);
      err = e;
      return true;
    },
  );
  return err!;
}

function roundTrip(msg: KrpcMessage, expected: string): void {
  assert.equal(text(encodeKrpc(msg)), expected);
  assert.deepEqual(decodeKrpc(new Uint8Array(Buffer.from(expected, 'latin1'))), msg);
}

describe('KRPC: the BEP 5 example packets, byte for byte', () => {
  const t = b('aa');
  test('ping query and response', () => {
    roundTrip(
      { y: 'q', t, method: 'ping', id: b('abcdefghij0123456789') },
      'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe',
    );
    roundTrip(
      { y: 'r', t, id: b('mnopqrstuvwxyz123456') },
      'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re',
    );
  });

  test('find_node query', () => {
    roundTrip(
      { y: 'q', t, method: 'find_node', id: b('abcdefghij0123456789'), target: b('mnopqrstuvwxyz123456') },
      'd1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe',
    );
  });

  test('get_peers query and the response with peers', () => {
    roundTrip(
      { y: 'q', t, method: 'get_peers', id: b('abcdefghij0123456789'), infoHash: b('mnopqrstuvwxyz123456') },
      'd1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe',
    );
    // "axje.u" and "idhtnm" are 6-byte compact peers: 97.120.106.101:11893 and 105.100.104.116:28269.
    roundTrip(
      {
        y: 'r',
        t,
        id: b('abcdefghij0123456789'),
        token: b('aoeusnth'),
        values: [
          { host: '97.120.106.101', port: 0x2e75 },
          { host: '105.100.104.116', port: 0x6e6d },
        ],
      },
      'd1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re',
    );
  });

  test('the BEP examples with "nodes": "def456..." are not compact node info and are rejected', () => {
    // The example's 9-byte "nodes" is a placeholder, not a multiple of 26 bytes.
    rejects(b('d1:rd2:id20:0123456789abcdefghij5:nodes9:def456...e1:t2:aa1:y1:re'), undefined);
    rejects(
      b('d1:rd2:id20:abcdefghij01234567895:nodes9:def456...5:token8:aoeusnthe1:t2:aa1:y1:re'),
      undefined,
    );
  });

  test('find_node and get_peers responses with real compact nodes, in the BEP layout', () => {
    const node: NodeContact = { id: b('0123456789abcdefghij'), host: '100.101.102.52', port: 0x3536 }; // "def456"
    const compact = '0123456789abcdefghijdef456';
    roundTrip(
      { y: 'r', t, id: b('0123456789abcdefghij'), nodes: [node] },
      `d1:rd2:id20:0123456789abcdefghij5:nodes26:${compact}e1:t2:aa1:y1:re`,
    );
    roundTrip(
      { y: 'r', t, id: b('abcdefghij0123456789'), nodes: [node], token: b('aoeusnth') },
      `d1:rd2:id20:abcdefghij01234567895:nodes26:${compact}5:token8:aoeusnthe1:t2:aa1:y1:re`,
    );
  });

  test('announce_peer query and response', () => {
    roundTrip(
      {
        y: 'q',
        t,
        method: 'announce_peer',
        id: b('abcdefghij0123456789'),
        infoHash: b('mnopqrstuvwxyz123456'),
        port: 6881,
        token: b('aoeusnth'),
        impliedPort: false,
      },
      'd1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe',
    );
    roundTrip(
      {
        y: 'q',
        t,
        method: 'announce_peer',
        id: b('abcdefghij0123456789'),
        infoHash: b('mnopqrstuvwxyz123456'),
        port: 6881,
        token: b('aoeusnth'),
        impliedPort: true,
      },
      'd1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe',
    );
    roundTrip(
      { y: 'r', t, id: b('mnopqrstuvwxyz123456') },
      'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re',
    );
  });

  test('error packet', () => {
    roundTrip(
      { y: 'e', t, code: 201, message: 'A Generic Error Ocurred' },
      'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee',
    );
    assert.equal(text(encodeKrpcError(t, 203, 'bad token')), 'd1:eli203e9:bad tokene1:t2:aa1:y1:ee');
  });
});

describe('KRPC: extensions', () => {
  const t = b('xy');
  const id = b('abcdefghij0123456789');
  test('BEP 43 ro and BEP 5 v on a query', () => {
    roundTrip(
      { y: 'q', t, method: 'ping', id, ro: true, v: b('LT12') },
      'd1:ad2:id20:abcdefghij0123456789e1:q4:ping2:roi1e1:t2:xy1:v4:LT121:y1:qe',
    );
  });

  test('BEP 42 ip on a response, IPv4 and IPv6', () => {
    roundTrip(
      { y: 'r', t, id, ip: { host: '1.2.3.4', port: 0x1ae1 } },
      'd2:ip6:\x01\x02\x03\x04\x1a\xe11:rd2:id20:abcdefghij0123456789e1:t2:xy1:y1:re',
    );
    const m = decodeKrpc(encodeKrpc({ y: 'r', t, id, ip: { host: '2001:db8::1', port: 6881 } })) as Extract<
      KrpcMessage,
      { y: 'r' }
    >;
    assert.deepEqual(m.ip, { host: '2001:db8::1', port: 6881 });
  });

  test('BEP 32 nodes6, want, and mixed 6/18-byte values', () => {
    const n6: NodeContact = { id, host: '2001:db8::42', port: 6881 };
    const r = {
      y: 'r' as const,
      t,
      id,
      nodes6: [n6],
      values: [
        { host: '1.2.3.4', port: 1 },
        { host: '::1', port: 2 },
      ],
    };
    const bytes = encodeKrpc(r);
    assert.match(text(bytes), /6:nodes638:/);
    assert.deepEqual(decodeKrpc(bytes), r);
    const q = {
      y: 'q' as const,
      t,
      method: 'find_node' as const,
      id,
      target: id,
      want: ['n4', 'n6'] as const,
    };
    assert.match(text(encodeKrpc({ ...q, want: [...q.want] })), /4:wantl2:n42:n6e/);
    assert.deepEqual(decodeKrpc(encodeKrpc({ ...q, want: [...q.want] })), { ...q, want: ['n4', 'n6'] });
  });

  test('unknown want flags are ignored, values of bad length are skipped', () => {
    const q = decodeKrpc(
      b(
        'd1:ad2:id20:abcdefghij01234567896:target20:abcdefghij01234567894:wantl2:n92:n4ee1:q9:find_node1:t2:xy1:y1:qe',
      ),
    );
    assert.deepEqual((q as { want?: unknown }).want, ['n4']);
    const r = decodeKrpc(b('d1:rd2:id20:abcdefghij01234567896:valuesl5:abcde6:abcdefi5eee1:t2:xy1:y1:re'));
    assert.equal((r as { values?: unknown[] }).values?.length, 1);
  });

  test('implied_port lets the port be absent; encoding rejects contacts of the wrong family', () => {
    const q = decodeKrpc(
      b(
        'd1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234565:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe',
      ),
    );
    assert.equal(q.y === 'q' && q.method === 'announce_peer' && q.impliedPort && q.port, 0);
    assert.throws(
      () => encodeKrpc({ y: 'r', t, id, nodes: [{ id, host: '::1', port: 1 }] }),
      (e: unknown) => e instanceof DhtError && e.code === ErrorCode.DhtInvalidArgument,
    );
  });

  test('keys out of order are accepted (lenient decode)', () => {
    const m = decodeKrpc(b('d1:y1:q1:t2:aa1:q4:ping1:ad2:id20:abcdefghij0123456789ee'));
    assert.equal(m.y === 'q' && m.method, 'ping');
  });
});

describe('KRPC: malformed datagrams are typed errors that say whether to answer', () => {
  test('not bencode, not a dict, no t, bad y: dropped silently', () => {
    rejects(b(''), undefined);
    rejects(b('d1:t2:aa'), undefined);
    rejects(b('le'), undefined);
    rejects(b('d1:y1:qe'), undefined);
    rejects(b('d1:ti5e1:y1:qe'), undefined);
    rejects(b('d1:t2:aa1:y1:xe'), undefined);
    rejects(b('d1:t2:aa1:y2:qqe'), undefined);
  });

  test('a query with a readable t gets 203 (protocol) or 204 (unknown method)', () => {
    const e = rejects(b('d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe'), 203);
    assert.equal(text(e.details.reply!.t), 'aa');
    rejects(b('d1:q4:ping1:t2:aa1:y1:qe'), 203);
    rejects(b('d1:a0:1:q4:ping1:t2:aa1:y1:qe'), 203);
    rejects(b('d1:ad2:id20:abcdefghij0123456789e1:qi1e1:t2:aa1:y1:qe'), 203);
    rejects(b('d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:aa1:y1:qe'), 203);
    rejects(b('d1:ad2:id20:abcdefghij01234567899:info_hash3:abce1:q9:get_peers1:t2:aa1:y1:qe'), 203);
    rejects(b('d1:ad2:id20:abcdefghij0123456789e1:q4:vote1:t2:aa1:y1:qe'), 204);
  });

  test('announce_peer needs a token and a port in 1..65535 unless implied_port', () => {
    const base = (args: string) =>
      b(`d1:ad2:id20:abcdefghij0123456789${args}e1:q13:announce_peer1:t2:aa1:y1:qe`);
    rejects(base('9:info_hash20:mnopqrstuvwxyz1234564:porti6881e'), 203);
    rejects(base('9:info_hash20:mnopqrstuvwxyz1234564:porti0e5:token1:x'), 203);
    rejects(base('9:info_hash20:mnopqrstuvwxyz1234564:porti65536e5:token1:x'), 203);
    rejects(base('9:info_hash20:mnopqrstuvwxyz1234565:token1:x'), 203);
    assert.equal(decodeKrpc(base('9:info_hash20:mnopqrstuvwxyz1234564:porti65535e5:token1:x')).y, 'q');
  });

  test('responses and errors are never answered', () => {
    rejects(b('d1:r0:1:t2:aa1:y1:re'), undefined);
    rejects(b('d1:rd2:id3:abce1:t2:aa1:y1:re'), undefined);
    rejects(b('d1:rd2:id20:abcdefghij01234567895:nodesi1ee1:t2:aa1:y1:re'), undefined);
    rejects(
      b('d1:rd2:id20:abcdefghij01234567896:nodes625:aaaaaaaaaaaaaaaaaaaaaaaaae1:t2:aa1:y1:re'),
      undefined,
    );
    rejects(b('d1:rd2:id20:abcdefghij01234567896:values2:xxe1:t2:aa1:y1:re'), undefined);
    rejects(b('d1:e3:abc1:t2:aa1:y1:ee'), undefined);
  });

  test('an error with a strange shape still decodes', () => {
    assert.deepEqual(decodeKrpc(b('d1:ele1:t2:aa1:y1:ee')), { y: 'e', t: b('aa'), code: 201, message: '' });
  });
});

describe('KRPC limits', () => {
  const id = 'abcdefghij0123456789';
  test('MAX_KRPC_DATAGRAM_BYTES: one byte more is rejected', () => {
    const pad = (n: number) => {
      // A ping query padded with an ignored key to exactly n bytes.
      const head = `d1:ad2:id20:${id}e1:q4:ping1:t2:aa1:y1:q1:z`;
      const room = n - head.length - 1;
      const digits = String(room).length;
      const body = 'x'.repeat(room - digits - 1);
      return b(`${head}${body.length}:${body}e`);
    };
    const ok = pad(MAX_KRPC_DATAGRAM_BYTES);
    assert.equal(ok.length, MAX_KRPC_DATAGRAM_BYTES);
    assert.equal(decodeKrpc(ok).y, 'q');
    rejects(pad(MAX_KRPC_DATAGRAM_BYTES + 1), undefined);
  });

  test('MAX_KRPC_NODES_PER_REPLY: longer node lists are cut', () => {
    const nodes = Array.from({ length: MAX_KRPC_NODES_PER_REPLY + 5 }, (_, i) => ({
      id: new Uint8Array(20).fill(i),
      host: `1.2.3.${i}`,
      port: 1000 + i,
    }));
    const m = decodeKrpc(encodeKrpc({ y: 'r', t: b('aa'), id: b(id), nodes }));
    assert.equal(m.y === 'r' && m.nodes?.length, MAX_KRPC_NODES_PER_REPLY);
    assert.deepEqual(m.y === 'r' && m.nodes?.[0], nodes[0]);
  });

  test('MAX_KRPC_VALUES_PER_REPLY: longer value lists are cut', () => {
    const values = Array.from({ length: MAX_KRPC_VALUES_PER_REPLY + 1 }, (_, i) => ({
      host: `9.9.${i >> 8}.${i & 0xff}`,
      port: 1,
    }));
    const m = decodeKrpc(encodeKrpc({ y: 'r', t: b('aa'), id: b(id), values }));
    assert.equal(m.y === 'r' && m.values?.length, MAX_KRPC_VALUES_PER_REPLY);
  });

  test('MAX_KRPC_TOKEN_BYTES', () => {
    const r = (n: number) => encodeKrpc({ y: 'r', t: b('aa'), id: b(id), token: new Uint8Array(n) });
    assert.equal(decodeKrpc(r(MAX_KRPC_TOKEN_BYTES)).y, 'r');
    rejects(r(MAX_KRPC_TOKEN_BYTES + 1), undefined);
    const q = (n: number) =>
      encode({
        t: 'aa',
        y: 'q',
        q: 'announce_peer',
        a: { id: b(id), info_hash: b(id), port: 1, token: new Uint8Array(n) },
      });
    assert.equal(decodeKrpc(q(MAX_KRPC_TOKEN_BYTES)).y, 'q');
    rejects(q(MAX_KRPC_TOKEN_BYTES + 1), 203);
  });

  test('MAX_KRPC_TRANSACTION_ID_BYTES: a longer t is dropped, not answered', () => {
    const q = (n: number) => encode({ t: new Uint8Array(n), y: 'q', q: 'nope', a: { id: b(id) } });
    rejects(q(MAX_KRPC_TRANSACTION_ID_BYTES), 204);
    rejects(q(MAX_KRPC_TRANSACTION_ID_BYTES + 1), undefined);
  });

  test('MAX_KRPC_VERSION_BYTES: a longer v is ignored', () => {
    const r = (n: number) => encode({ t: 'aa', y: 'r', v: new Uint8Array(n), r: { id: b(id) } });
    assert.equal(
      (decodeKrpc(r(MAX_KRPC_VERSION_BYTES)) as { v?: Uint8Array }).v?.length,
      MAX_KRPC_VERSION_BYTES,
    );
    assert.equal((decodeKrpc(r(MAX_KRPC_VERSION_BYTES + 1)) as { v?: Uint8Array }).v, undefined);
  });
});
