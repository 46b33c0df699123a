/**
 * BtcPeer over an in-memory stream pair, with a hand-driven clock: the handshake both ways and the
 * features each side records, and every per-peer bound crossed — handshake, ping and request
 * deadlines, the send queue, the inventory memory, protocol violations.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BITCOIN_REGTEST, type BtcMessage, encodeMessage } from '../../../src/bitcoin/index.js';
import { BtcPeer, type PeerCloseReason } from '../../../src/btc-node/index.js';
import type { PeerStream } from '../../../src/net/index.js';
import {
  BTC_HANDSHAKE_TIMEOUT_MS,
  BTC_MAX_KNOWN_INV_PER_PEER,
  BTC_MAX_PEER_SEND_QUEUE_BYTES,
  BTC_PING_INTERVAL_MS,
  BTC_PING_TIMEOUT_MS,
  BTC_REQUEST_TIMEOUT_MS,
} from '../../../src/shared/limits.js';
import { MemoryNetwork } from '../../../src/testing/memory-transport.js';

async function pair(): Promise<{ a: PeerStream; b: PeerStream }> {
  const net = new MemoryNetwork();
  const server = net.transport('node-b');
  let b: PeerStream | undefined;
  const port = await server.listen({ port: 0 }, (s) => {
    b = s;
  });
  const a = await net.transport('node-a').dial('node-b', port, { timeoutMs: 1000 });
  for (let i = 0; i < 100 && b === undefined; i++) await new Promise((r) => setImmediate(r));
  assert.ok(b);
  return { a, b };
}

interface Side {
  peer: BtcPeer;
  ready: boolean;
  messages: BtcMessage[];
  closed: PeerCloseReason | undefined;
}

function makePeer(stream: PeerStream, clock: { t: number }, nonce: bigint, relay = true): Side {
  const side: Side = { peer: undefined as unknown as BtcPeer, ready: false, messages: [], closed: undefined };
  side.peer = new BtcPeer({
    id: 1,
    stream,
    params: BITCOIN_REGTEST,
    nonce,
    userAgent: '/test/',
    startHeight: () => 7,
    relay,
    now: () => clock.t,
    handler: {
      ready: () => {
        side.ready = true;
      },
      message: (_p, m) => side.messages.push(m),
      closed: (_p, r) => {
        side.closed = r;
      },
    },
  });
  side.peer.start();
  return side;
}

const settle = () => new Promise((r) => setImmediate(r));
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await settle();
  assert.ok(check());
}

test('handshake both ways: version, wtxidrelay, sendaddrv2, verack, then sendheaders and sendcmpct', async () => {
  const { a, b } = await pair();
  const clock = { t: 0 };
  const out = makePeer(a, clock, 1n);
  const inb = makePeer(b, clock, 2n);
  await until(() => out.ready && inb.ready);
  await until(() => out.peer.features.sendHeaders && inb.peer.features.compactVersion === 2);
  assert.equal(out.peer.features.wtxidRelay, true);
  assert.equal(inb.peer.features.addrV2, true);
  assert.equal(out.peer.version?.startHeight, 7);
  assert.equal(out.peer.bestHeight, 7);
  assert.equal(inb.peer.features.feeFilter, 1000n);
  // A ping is answered, and the round trip measured.
  clock.t += BTC_PING_INTERVAL_MS;
  out.peer.tick();
  await until(() => out.peer.pingMs !== undefined);
  out.peer.close('done', false);
  await until(() => inb.closed !== undefined);
  assert.equal(inb.closed?.ban, false);
});

test('a connection to ourselves (our own nonce) is closed without a ban', async () => {
  const { a, b } = await pair();
  const clock = { t: 0 };
  const out = makePeer(a, clock, 5n);
  const inb = makePeer(b, clock, 5n);
  await until(() => out.closed !== undefined || inb.closed !== undefined);
  const r = inb.closed ?? out.closed!;
  assert.match(r.message, /ourselves/);
  assert.equal(r.ban, false);
});

test(`no handshake within ${BTC_HANDSHAKE_TIMEOUT_MS} ms: closed, not banned`, async () => {
  const { a } = await pair();
  const clock = { t: 0 };
  const out = makePeer(a, clock, 1n);
  clock.t = BTC_HANDSHAKE_TIMEOUT_MS;
  out.peer.tick();
  assert.equal(out.closed, undefined);
  clock.t = BTC_HANDSHAKE_TIMEOUT_MS + 1;
  out.peer.tick();
  assert.match(out.closed!.message, /handshake/);
  assert.equal(out.closed!.ban, false);
});

test('ping and request deadlines close a stalled peer, without a ban', async () => {
  const { a, b } = await pair();
  const clock = { t: 0 };
  const out = makePeer(a, clock, 1n);
  const inb = makePeer(b, clock, 2n);
  await until(() => out.ready && inb.ready);
  out.peer.expect('headers');
  clock.t = BTC_REQUEST_TIMEOUT_MS;
  out.peer.tick();
  assert.equal(out.closed, undefined);
  assert.equal(out.peer.fulfil('headers'), true);
  out.peer.expect('cfheaders:x');
  clock.t += BTC_REQUEST_TIMEOUT_MS + 1;
  out.peer.tick();
  assert.match(out.closed!.message, /stalled: no answer to cfheaders/);
  assert.equal(out.closed!.ban, false);

  // A pong that never comes.
  const p2 = await pair();
  const c2 = { t: 0 };
  const x = makePeer(p2.a, c2, 3n);
  const y = makePeer(p2.b, c2, 4n);
  await until(() => x.ready && y.ready);
  y.peer.stream.pause(); // y reads nothing more: no pong
  c2.t = BTC_PING_INTERVAL_MS;
  x.peer.tick(); // ping sent
  c2.t += BTC_PING_TIMEOUT_MS;
  x.peer.tick();
  assert.equal(x.closed, undefined);
  c2.t += 1;
  x.peer.tick();
  assert.match(x.closed!.message, /pong/);
  y.peer.close('end', false);
});

test(`a peer that reads nothing is disconnected once ${BTC_MAX_PEER_SEND_QUEUE_BYTES} bytes wait`, async () => {
  const { a, b } = await pair();
  const clock = { t: 0 };
  const out = makePeer(a, clock, 1n);
  const inb = makePeer(b, clock, 2n);
  await until(() => out.ready && inb.ready);
  inb.peer.stream.pause();
  const big: BtcMessage = { type: 'unknown', command: 'junk', payload: new Uint8Array(1_000_000) };
  let sent = 0;
  while (out.closed === undefined && sent < 20) {
    out.peer.send(big);
    sent++;
  }
  assert.ok(out.closed, 'closed');
  assert.match(out.closed.message, /send queue/);
  assert.ok(sent > BTC_MAX_PEER_SEND_QUEUE_BYTES / 1_000_000);
});

test(`inventory memory keeps at most ${BTC_MAX_KNOWN_INV_PER_PEER} hashes, forgetting the oldest`, async () => {
  const { a } = await pair();
  const out = makePeer(a, { t: 0 }, 1n);
  for (let i = 0; i <= BTC_MAX_KNOWN_INV_PER_PEER; i++) out.peer.addKnownInv(`h${i}`);
  assert.equal(out.peer.knownInvCount, BTC_MAX_KNOWN_INV_PER_PEER);
  assert.equal(out.peer.hasKnownInv('h0'), false);
  assert.equal(out.peer.hasKnownInv(`h${BTC_MAX_KNOWN_INV_PER_PEER}`), true);
  out.peer.close('end', false);
});

test('protocol violations are banned: a message before version, a second version', async () => {
  const { a, b } = await pair();
  const out = makePeer(a, { t: 0 }, 1n);
  b.bind({ data: () => {}, drain: () => {}, close: () => {} });
  b.write(encodeMessage(BITCOIN_REGTEST.magic, { type: 'ping', nonce: 1n }));
  await until(() => out.closed !== undefined);
  assert.equal(out.closed!.ban, true);
  assert.match(out.closed!.message, /ping before version/);

  const p = await pair();
  const clock = { t: 0 };
  const x = makePeer(p.a, clock, 1n);
  const y = makePeer(p.b, clock, 2n);
  await until(() => x.ready && y.ready);
  y.peer.send({
    type: 'version',
    version: 70016,
    services: 0n,
    timestamp: 0n,
    receiver: { services: 0n, ip: new Uint8Array(16), port: 0 },
    sender: { services: 0n, ip: new Uint8Array(16), port: 0 },
    nonce: 9n,
    userAgent: '',
    startHeight: 0,
    relay: false,
  });
  await until(() => x.closed !== undefined);
  assert.equal(x.closed!.ban, true);
  assert.match(x.closed!.message, /second version/);
});

test('another network (wrong magic) is disconnected without a ban', async () => {
  const { a, b } = await pair();
  const out = makePeer(a, { t: 0 }, 1n);
  b.bind({ data: () => {}, drain: () => {}, close: () => {} });
  b.write(encodeMessage(Uint8Array.of(0xf9, 0xbe, 0xb4, 0xd9), { type: 'verack' }));
  await until(() => out.closed !== undefined);
  assert.equal(out.closed!.ban, false);
  assert.match(out.closed!.message, /magic/);
});
