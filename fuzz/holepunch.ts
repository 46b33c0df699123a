/**
 * Fuzz target for BEP 55 `ut_holepunch`: the codec (only a message or a ShoalError; what decodes
 * re-encodes to bytes that decode the same) and, driven by a script read from the input, the
 * extension as relay and peer over a fake torrent of six peers (some never announce the
 * extension, one sits at our own endpoint): payloads from any peer, peers closing and coming
 * back, dials failing, time passing. Invariants: in every window the messages sent stay within
 * the named limits (two `connect`s per forwarded request, one `error` per refused one, the
 * per-peer and total relay budgets, HOLEPUNCH_CONNECTS dials, HOLEPUNCH_RENDEZVOUS requests),
 * nothing is ever sent to a peer that did not announce the extension, and no dial targets our
 * own endpoint or a connected peer. (The per-peer budget is crossed in test/unit/session/
 * ut-holepunch.test.ts.)
 *
 * Script: a sequence of operations, each a byte `op` then its operands (see {@link runScript}).
 */
import type { Metainfo } from '../src/metainfo/index.js';
import type { ExtensionHost, ExtensionPeer, PeerView } from '../src/session/extensions/extension.js';
import { type HolepunchStats, utHolepunchWith } from '../src/session/extensions/ut-holepunch.js';
import { isShoalError } from '../src/shared/errors.js';
import {
  HOLEPUNCH_CONNECTS,
  HOLEPUNCH_RELAY_TOTAL,
  HOLEPUNCH_RENDEZVOUS,
  HOLEPUNCH_WINDOW_MS,
} from '../src/shared/limits.js';
import { decodeUtHolepunch, encodeUtHolepunch, type HolepunchMessage } from '../src/wire/index.js';
import type { FuzzTarget } from './target.js';

const MAX_OPS = 64;
const SELF = { host: '192.0.2.100', port: 6881 };
const outcomes = { decoded: 0, relayed: 0, refused: 0, dropped: 0, punched: 0, asked: 0 };

function fail(why: string): never {
  throw new Error(why);
}

function json(v: unknown): string {
  return JSON.stringify(v);
}

function checkCodec(payload: Uint8Array): void {
  let m: HolepunchMessage;
  try {
    m = decodeUtHolepunch(payload);
  } catch (e) {
    if (!isShoalError(e)) throw e;
    return;
  }
  outcomes.decoded++;
  const again = decodeUtHolepunch(encodeUtHolepunch(m));
  if (json(again) !== json(m)) fail(`did not round trip: ${json(m)}`);
}

/** The peers of the fake torrent: the address of peer i, and whether it announces the extension. */
const PEERS = Array.from({ length: 12 }, (_, i) => ({
  host: i === 11 ? SELF.host : `203.0.113.${i + 1}`,
  port: 6881 + i,
  supports: i % 3 !== 2,
}));

/**
 * Operations (`op % 6`), peer `i` is `byte % 12` (peer 11 sits at our own endpoint, every third
 * never announces the extension):
 * 0 a raw payload from peer i (length-prefixed, one byte);
 * 1 a well-formed message from peer i: type `byte % 3` naming a peer (`b < 128`: peer `b % 12`)
 *   or an address nobody here has (then a port byte follows);
 * 2 peer i closes (and comes back with a new key at its next message);
 * 3 a dial to peer `byte % 12` failed, with the holepunch hint and peer i as teller;
 * 4 time passes: `byte` × 1 s;
 * 5 a burst: 40 rendezvous from peer i naming peer `byte % 12`.
 */
function runScript(script: Uint8Array): void {
  let at = 0;
  const byte = () => script[at++] ?? 0;
  let now = 0;
  const gen = PEERS.map(() => 0);
  const live = new Map<number, ExtensionPeer>();
  /**
   * Per kind, a window opened by the first event at least HOLEPUNCH_WINDOW_MS after the last one
   * opened, as the extension's counters do, and what it counted: relayed requests (a `connect`
   * pair is one, an `error` one), dials, rendezvous sent.
   */
  const windows = new Map<string, { start: number; n: number }>();
  const count = (kind: string, n: number, max: number) => {
    let w = windows.get(kind);
    if (w === undefined || now - w.start >= HOLEPUNCH_WINDOW_MS) {
      w = { start: now, n: 0 };
      windows.set(kind, w);
    }
    w.n += n;
    if (w.n > max) fail(`${w.n} ${kind} in a window (at most ${max})`);
  };
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
  const views = (): PeerView[] => [...live.values()];
  const host: ExtensionHost = {
    metainfo: { isPrivate: false } as Metainfo,
    addPeer: () => {},
    isSeed: () => false,
    peers: views,
    supports: () => true,
    isSelf: (h, p) => h === SELF.host && p === SELF.port,
    holepunch: (h, p) => {
      count('dials', 1, HOLEPUNCH_CONNECTS);
      if (h === SELF.host && p === SELF.port) fail('dialled ourselves');
      if (views().some((v) => v.remoteAddress === h && v.remotePort === p)) fail('dialled a connected peer');
    },
    log: () => {},
  };
  const ext = utHolepunchWith(stats)(host)!;
  const peerOf = (i: number): ExtensionPeer => {
    let p = live.get(i);
    if (p !== undefined) return p;
    const spec = PEERS[i]!;
    p = {
      key: `${i}/${++gen[i]!}`,
      remoteAddress: spec.host,
      remotePort: spec.port,
      outgoing: false,
      listenPort: spec.port,
      transport: 'utp',
      encrypted: false,
      remoteId: spec.supports ? 7 : undefined,
      send: (payload) => {
        if (!spec.supports) fail(`sent to peer ${i}, which never announced ut_holepunch`);
        const m = decodeUtHolepunch(payload);
        if (m.type === 'connect') count('relayed', 0.5, HOLEPUNCH_RELAY_TOTAL);
        else if (m.type === 'error') count('relayed', 1, HOLEPUNCH_RELAY_TOTAL);
        else count('rendezvous', 1, HOLEPUNCH_RENDEZVOUS);
        return true;
      },
      close: () => {},
    };
    live.set(i, p);
    if (spec.supports) ext.onPeerSupports?.(p, now);
    return p;
  };
  const deliver = (i: number, payload: Uint8Array) => {
    try {
      ext.onMessage(peerOf(i), payload, now);
    } catch (e) {
      if (!isShoalError(e)) throw e;
    }
  };
  for (let ops = 0; ops < MAX_OPS && at < script.length; ops++) {
    const op = byte() % 6;
    const i = byte() % PEERS.length;
    switch (op) {
      case 0: {
        const n = byte();
        deliver(i, script.subarray(at, at + n));
        at += n;
        break;
      }
      case 1: {
        const type = (['rendezvous', 'connect', 'error'] as const)[byte() % 3]!;
        const pick = byte();
        // Half name a peer of the torrent (or SELF), half an address nobody here has.
        const t =
          pick < 128 ? PEERS[pick % PEERS.length]! : { host: `198.51.100.${pick}`, port: 1000 + byte() };
        const addr = { host: t.host, port: t.port, family: 4 as const };
        deliver(i, encodeUtHolepunch(type === 'error' ? { type, addr, error: byte() } : { type, addr }));
        break;
      }
      case 2: {
        const p = live.get(i);
        if (p !== undefined) {
          live.delete(i);
          ext.onPeerClosed?.(p);
        }
        break;
      }
      case 3: {
        const t = PEERS[byte() % PEERS.length]!;
        const teller = peerOf(i);
        ext.onDialFailed?.(
          { host: t.host, port: t.port, family: 4 },
          { supportsHolepunch: true, pexFrom: teller.key },
          now,
        );
        break;
      }
      case 4:
        now += byte() * 1000;
        break;
      case 5: {
        const t = PEERS[byte() % PEERS.length]!;
        const ask = encodeUtHolepunch({
          type: 'rendezvous',
          addr: { host: t.host, port: t.port, family: 4 },
        });
        for (let k = 0; k < 40; k++) deliver(i, ask);
        break;
      }
    }
  }
  outcomes.relayed += stats.relayed;
  outcomes.refused += stats.refused;
  outcomes.dropped += stats.dropped;
  outcomes.punched += stats.punched;
  outcomes.asked += stats.asked;
}

function seeds(): Uint8Array[] {
  const addr = { host: '203.0.113.2', port: 6882, family: 4 as const };
  const msgs = [
    encodeUtHolepunch({ type: 'rendezvous', addr }),
    encodeUtHolepunch({ type: 'connect', addr: { host: '2001:db8::1', port: 1, family: 6 } }),
    encodeUtHolepunch({ type: 'error', addr, error: 3 }),
    Uint8Array.of(1, 0, 203, 0, 113, 3, 0x9c, 0x6b),
  ];
  return [
    ...msgs,
    Uint8Array.from([1, 0, 0, 1, 5, 1, 0, 1, 1, 5, 0, 1, 3, 3, 1, 4, 70, 5, 3, 1]),
    // Bursts from eight supporting peers naming peer 0: past the torrent's relay budget.
    Uint8Array.from([1, 0, 1, 0, ...[1, 3, 4, 6, 7, 9, 10, 1].flatMap((p) => [5, p, 0])]),
    // connects from peer 0 naming 24 addresses nobody has: past HOLEPUNCH_CONNECTS.
    Uint8Array.from(Array.from({ length: 24 }, (_, k) => [1, 0, 1, 200 + (k % 50), k]).flat()),
    Uint8Array.from([
      0,
      0,
      msgs[0]!.length,
      ...msgs[0]!,
      1,
      0,
      0,
      1,
      2,
      0,
      1,
      0,
      0,
      1,
      3,
      1,
      0,
      4,
      61,
      5,
      0,
      1,
    ]),
  ];
}

export const target: FuzzTarget = {
  seeds,
  report: () => `outcomes: ${JSON.stringify(outcomes)}`,
  run(input) {
    checkCodec(input);
    runScript(input);
  },
};
