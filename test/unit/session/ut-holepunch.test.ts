/**
 * BEP 55 `ut_holepunch` as relay and peer (src/session/extensions/ut-holepunch.ts) over a fake
 * torrent: what is forwarded and answered, the named rate limits crossed, the BEP 11 flag 0x08.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Metainfo } from '../../../src/metainfo/index.js';
import type { AddressHints } from '../../../src/net/peer-pool.js';
import type {
  ExtensionHost,
  ExtensionPeer,
  PeerView,
  TorrentExtension,
} from '../../../src/session/extensions/extension.js';
import { type HolepunchStats, utHolepunchWith } from '../../../src/session/extensions/ut-holepunch.js';
import { utPex } from '../../../src/session/extensions/ut-pex.js';
import {
  HOLEPUNCH_CONNECTS,
  HOLEPUNCH_RELAY_PER_PEER,
  HOLEPUNCH_RELAY_TOTAL,
  HOLEPUNCH_RENDEZVOUS,
  HOLEPUNCH_RETRY_MS,
  HOLEPUNCH_WINDOW_MS,
  MAX_HOLEPUNCH_TARGETS,
} from '../../../src/shared/limits.js';
import {
  type CompactPeer,
  decodeUtHolepunch,
  decodeUtPex,
  ExtensionName,
  encodeUtHolepunch,
  encodeUtPex,
  HolepunchErrorCode,
  type HolepunchMessage,
  PexFlag,
} from '../../../src/wire/index.js';

interface FakePeer extends ExtensionPeer {
  readonly inbox: HolepunchMessage[];
}

function peer(key: string, host: string, port: number, transport: 'tcp' | 'utp' = 'utp'): FakePeer {
  const inbox: HolepunchMessage[] = [];
  return {
    key,
    remoteAddress: host,
    remotePort: port,
    outgoing: false,
    listenPort: transport === 'utp' ? 6881 : port + 1,
    transport,
    encrypted: false,
    remoteId: 3,
    inbox,
    send: (p) => {
      inbox.push(decodeUtHolepunch(p));
      return true;
    },
    close: () => {},
  };
}

function setup(peers: FakePeer[], self?: CompactPeer) {
  const stats: HolepunchStats = {
    relayed: 0,
    refused: 0,
    dropped: 0,
    asked: 0,
    punched: 0,
    ignored: 0,
    errors: 0,
    remembered: 0,
  };
  const punched: string[] = [];
  const host: ExtensionHost = {
    metainfo: { isPrivate: false } as Metainfo,
    addPeer: () => {},
    isSeed: () => false,
    peers: () => peers as PeerView[],
    supports: () => true,
    isSelf: (h, p) => self !== undefined && h === self.host && p === self.port,
    holepunch: (h, p) => punched.push(`${h}:${p}`),
    log: () => {},
  };
  const ext = utHolepunchWith(stats)(host) as TorrentExtension;
  return { ext, stats, punched };
}

const at = (host: string, port: number): CompactPeer => ({ host, port, family: 4 });
const rendezvous = (addr: CompactPeer) => encodeUtHolepunch({ type: 'rendezvous', addr });

test('relay: a rendezvous becomes a connect to each side, with the other one`s UDP endpoint', () => {
  const a = peer('a', '198.51.100.1', 40001); // over uTP: its remote port is its NAT's UDP mapping
  const b = peer('b', '203.0.113.2', 50002, 'tcp'); // over TCP: its listen port is its endpoint
  const { ext, stats } = setup([a, b]);
  ext.onPeerSupports?.(a, 0);
  ext.onPeerSupports?.(b, 0);
  ext.onMessage(a, rendezvous(at('203.0.113.2', 50003)), 0);
  assert.deepEqual(a.inbox, [{ type: 'connect', addr: at('203.0.113.2', 50003) }]);
  assert.deepEqual(b.inbox, [{ type: 'connect', addr: at('198.51.100.1', 40001) }]);
  assert.equal(stats.relayed, 1);
});

test('relay: errors for ourselves, the asker itself, unknown and unsupporting targets', () => {
  const a = peer('a', '198.51.100.1', 40001);
  const c = peer('c', '203.0.113.3', 50003); // connected, but never announced ut_holepunch
  const self = at('192.0.2.100', 6881);
  const { ext, stats } = setup([a, c], self);
  ext.onPeerSupports?.(a, 0);
  const cases: [CompactPeer, number][] = [
    [self, HolepunchErrorCode.NoSelf],
    [at('198.51.100.1', 40001), HolepunchErrorCode.NoSuchPeer],
    [at('203.0.113.99', 1), HolepunchErrorCode.NotConnected],
    [at('203.0.113.3', 50003), HolepunchErrorCode.NoSupport],
  ];
  for (const [addr] of cases) ext.onMessage(a, rendezvous(addr), 0);
  assert.deepEqual(
    a.inbox,
    cases.map(([addr, error]) => ({ type: 'error', addr, error })),
  );
  assert.equal(c.inbox.length, 0);
  assert.equal(stats.refused, 4);
  // BEP 55: a peer that did not announce the extension is ignored, not answered.
  ext.onMessage(c, rendezvous(at('198.51.100.1', 40001)), 0);
  assert.equal(c.inbox.length, 0);
  assert.equal(a.inbox.length, 4);
});

test('relay: a rendezvous flood is bounded per peer and per torrent, and the window reopens', () => {
  const target = peer('t', '203.0.113.2', 50002);
  const flooders = Array.from({ length: 12 }, (_, i) => peer(`f${i}`, `198.51.100.${i + 1}`, 40000 + i));
  const { ext, stats } = setup([target, ...flooders]);
  for (const p of [target, ...flooders]) ext.onPeerSupports?.(p, 0);
  const ask = rendezvous(at('203.0.113.2', 50002));
  // One peer: HOLEPUNCH_RELAY_PER_PEER forwarded, the rest dropped unanswered.
  for (let i = 0; i < HOLEPUNCH_RELAY_PER_PEER * 5; i++) ext.onMessage(flooders[0]!, ask, 1);
  assert.equal(flooders[0]!.inbox.length, HOLEPUNCH_RELAY_PER_PEER);
  assert.equal(stats.dropped, HOLEPUNCH_RELAY_PER_PEER * 4);
  // Everyone: HOLEPUNCH_RELAY_TOTAL for the torrent.
  for (const f of flooders.slice(1))
    for (let i = 0; i < HOLEPUNCH_RELAY_PER_PEER * 2; i++) ext.onMessage(f, ask, 2);
  assert.equal(stats.relayed, HOLEPUNCH_RELAY_TOTAL);
  assert.equal(target.inbox.length, HOLEPUNCH_RELAY_TOTAL, 'the target got one connect per admitted request');
  // A closed and reconnected flooder starts a fresh per-peer count, but not a fresh total.
  ext.onPeerClosed?.(flooders[0]!);
  ext.onPeerSupports?.(flooders[0]!, 3);
  ext.onMessage(flooders[0]!, ask, 3);
  assert.equal(stats.relayed, HOLEPUNCH_RELAY_TOTAL);
  // The next window forwards again.
  ext.onMessage(flooders[0]!, ask, 2 + HOLEPUNCH_WINDOW_MS);
  assert.equal(stats.relayed, HOLEPUNCH_RELAY_TOTAL + 1);
});

test('peer: a connect dials at once, except to connected peers and ourselves, within HOLEPUNCH_CONNECTS', () => {
  const relay = peer('r', '192.0.2.1', 6881);
  const connected = peer('b', '203.0.113.2', 50002);
  const self = at('198.51.100.1', 6881);
  const { ext, stats, punched } = setup([relay, connected], self);
  const connect = (addr: CompactPeer) => encodeUtHolepunch({ type: 'connect', addr });
  // Before the relay announced ut_holepunch, its connects are ignored.
  ext.onMessage(relay, connect(at('203.0.113.50', 1000)), 0);
  assert.deepEqual(punched, []);
  ext.onPeerSupports?.(relay, 0);
  ext.onMessage(relay, connect(at('203.0.113.2', 50002)), 0);
  ext.onMessage(relay, connect(self), 0);
  assert.deepEqual(punched, []);
  for (let i = 0; i < HOLEPUNCH_CONNECTS + 5; i++)
    ext.onMessage(relay, connect(at('203.0.113.50', 1000 + i)), 1);
  assert.equal(punched.length, HOLEPUNCH_CONNECTS);
  assert.equal(punched[0], '203.0.113.50:1000');
  assert.equal(stats.ignored, 2 + 5);
  ext.onMessage(relay, connect(at('203.0.113.60', 1)), 1 + HOLEPUNCH_WINDOW_MS);
  assert.equal(punched.length, HOLEPUNCH_CONNECTS + 1);
  ext.onMessage(relay, encodeUtHolepunch({ type: 'error', addr: self, error: 2 }), 2);
  assert.equal(stats.errors, 1);
});

test('peer: a failed dial to a holepunch-capable address asks the peer that told us of it, once per retry time', () => {
  const r1 = peer('r1', '192.0.2.1', 6881);
  const r2 = peer('r2', '192.0.2.2', 6881);
  const { ext, stats } = setup([r1, r2]);
  ext.onPeerSupports?.(r1, 0);
  ext.onPeerSupports?.(r2, 0);
  const target = at('203.0.113.2', 50002);
  const hints: AddressHints = { supportsHolepunch: true, pexFrom: 'r2' };
  ext.onDialFailed?.({ host: '203.0.113.9', port: 1, family: 4 }, {}, 0); // not capable: nothing
  ext.onDialFailed?.(target, hints, 0);
  ext.onDialFailed?.(target, hints, HOLEPUNCH_RETRY_MS - 1);
  assert.deepEqual(r2.inbox, [{ type: 'rendezvous', addr: target }]);
  assert.equal(r1.inbox.length, 0);
  // The teller gone: any supporting peer relays.
  ext.onPeerClosed?.(r2);
  ext.onDialFailed?.(target, hints, HOLEPUNCH_RETRY_MS);
  assert.deepEqual(r1.inbox, [{ type: 'rendezvous', addr: target }]);
  // HOLEPUNCH_RENDEZVOUS per window (this one opened with the ask above), whatever the targets.
  for (let i = 0; i < HOLEPUNCH_RENDEZVOUS * 2; i++)
    ext.onDialFailed?.(at('203.0.113.3', 2000 + i), { supportsHolepunch: true }, HOLEPUNCH_RETRY_MS + 1);
  assert.equal(stats.asked, 1 + HOLEPUNCH_RENDEZVOUS);
});

test('PEX: flag 0x08 sent for peers that announced ut_holepunch, read into the hints with its teller', () => {
  const views: PeerView[] = [
    { ...peer('hp', '203.0.113.2', 50002), outgoing: true },
    { ...peer('plain', '203.0.113.3', 50003), outgoing: true },
  ];
  const added: { host: string; hints: AddressHints | undefined }[] = [];
  const pex = utPex({
    metainfo: { isPrivate: false } as Metainfo,
    addPeer: (host, _port, _source, hints) => added.push({ host, hints }),
    isSeed: () => false,
    peers: () => views,
    supports: (key, name) => key === 'hp' && name === ExtensionName.UtHolepunch,
    isSelf: () => false,
    holepunch: () => {},
    log: () => {},
  })!;
  const sent: Uint8Array[] = [];
  const other: ExtensionPeer = { ...peer('o', '192.0.2.9', 1), send: (p) => sent.push(p) > 0 };
  pex.onPeerSupports?.(other, 0);
  const msg = decodeUtPex(sent[0]!);
  const flags = new Map(msg.added.map((p) => [p.host, p.flags]));
  assert.equal(flags.get('203.0.113.2')! & PexFlag.SupportsHolepunch, PexFlag.SupportsHolepunch);
  assert.equal(flags.get('203.0.113.3')! & PexFlag.SupportsHolepunch, 0);
  pex.onMessage(
    other,
    encodeUtPex({
      added: [
        { host: '198.51.100.5', port: 5, family: 4, flags: PexFlag.SupportsHolepunch | PexFlag.SupportsUtp },
        { host: '198.51.100.6', port: 6, family: 4, flags: 0 },
      ],
      dropped: [],
    }),
    0,
  );
  assert.deepEqual(added[0], {
    host: '198.51.100.5',
    hints: { prefersEncryption: false, supportsUtp: true, supportsHolepunch: true, pexFrom: 'o' },
  });
  assert.equal(added[1]!.hints!.supportsHolepunch, undefined);
});

test(`peer: at most MAX_HOLEPUNCH_TARGETS (${MAX_HOLEPUNCH_TARGETS}) asked addresses are remembered; the oldest go first`, () => {
  const r = peer('r', '192.0.2.1', 6881);
  const { ext, stats } = setup([r]);
  ext.onPeerSupports?.(r, 0);
  const hints: AddressHints = { supportsHolepunch: true };
  const target = (i: number) => at(`198.51.100.${(i >> 8) + 1}`, 1000 + (i & 0xff));
  const n = MAX_HOLEPUNCH_TARGETS + 50;
  const when = (i: number) => Math.floor(i / HOLEPUNCH_RENDEZVOUS) * HOLEPUNCH_WINDOW_MS;
  for (let i = 0; i < n; i++) ext.onDialFailed?.(target(i), hints, when(i));
  assert.equal(stats.asked, n);
  assert.equal(stats.remembered, MAX_HOLEPUNCH_TARGETS);
  // The newest is still remembered: asking again within the retry time is refused.
  ext.onDialFailed?.(target(n - 1), hints, when(n - 1) + 1);
  assert.equal(stats.asked, n);
});
