/**
 * Fuzz target for the BEP 10 extension payloads and what consumes them: the extended handshake,
 * BEP 9 `ut_metadata` and BEP 11 `ut_pex` decoders (only a value or a ShoalError; a decoded
 * payload re-encodes to one that decodes the same), and, driven by a script read from the input,
 * - the metadata fetch's state machine (MetadataExchange) fed handshakes, data, rejects,
 *   disconnects and timeouts from four peers, some of them lying: it only asks live peers,
 *   never asks a piece twice at once or beyond the size, keeps the size within
 *   MAX_METADATA_BYTES, and completes only with bytes that hash to the info-hash;
 * - the serving side of `ut_metadata` and the `ut_pex` extension over a real peer-pool owner:
 *   replies stay within the metadata, and the known addresses within `maxKnown` and the PEX
 *   share, however many addresses the payloads carry.
 *
 * Script: a sequence of operations, each a byte `op` then its operands (see {@link runScript}).
 */
import { MetadataExchange } from '../src/engine/index.js';
import type { Metainfo } from '../src/metainfo/index.js';
import { PeerPool } from '../src/net/peer-pool.js';
import type { ExtensionPeer } from '../src/session/extensions/extension.js';
import { utMetadata } from '../src/session/extensions/ut-metadata.js';
import { utPex } from '../src/session/extensions/ut-pex.js';
import { isShoalError } from '../src/shared/errors.js';
import { bytesEqual, sha1 } from '../src/shared/hash.js';
import { MAX_METADATA_BYTES, METADATA_PIECE_BYTES, PEX_ADDRESS_SHARE } from '../src/shared/limits.js';
import {
  decodeExtendedHandshake,
  decodeUtMetadata,
  decodeUtPex,
  ExtensionName,
  encodeExtendedHandshake,
  encodeUtMetadata,
  encodeUtPex,
  type PexPeer,
} from '../src/wire/index.js';
import type { FuzzTarget } from './target.js';

/** An info dictionary of three metadata pieces (the last one short). */
const INFO = new Uint8Array(2 * METADATA_PIECE_BYTES + 333).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
const INFO_HASH = sha1(INFO);
const PIECES = 3;
const piece = (i: number) =>
  INFO.subarray(i * METADATA_PIECE_BYTES, Math.min(INFO.length, (i + 1) * METADATA_PIECE_BYTES));
const MAX_KNOWN = 64;
/** Operations read per input (bounds the work per input; mutations grow inputs). */
const MAX_OPS = 48;

const enc = new TextEncoder();

/** What the runs reached, for the report. */
const outcomes = { completed: 0, badPeers: 0, handshakes: 0, pexAdded: 0, served: 0 };

function fail(why: string): never {
  throw new Error(why);
}

/** Runs `f`; a ShoalError means "refused", anything else fails the run. */
function tryDecode<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!isShoalError(e)) throw e;
    return undefined;
  }
}

function json(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    // Maps compare as sorted entries: bencode sorts keys, a peer's payload may not.
    x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x instanceof Map ? [...x].sort() : x,
  );
}

/** Decoders: a value or a ShoalError; what decodes re-encodes to something that decodes the same. */
function checkDecoders(payload: Uint8Array): void {
  const hs = tryDecode(() => decodeExtendedHandshake(payload));
  if (hs !== undefined) {
    const again = decodeExtendedHandshake(encodeExtendedHandshake(hs));
    if (json(again) !== json(hs)) fail(`extended handshake did not round trip: ${json(hs)}`);
  }
  const md = tryDecode(() => decodeUtMetadata(payload));
  if (md !== undefined) {
    const again = decodeUtMetadata(encodeUtMetadata(md));
    if (json(again) !== json(md)) fail(`ut_metadata did not round trip: ${json(md)}`);
  }
  const pex = tryDecode(() => decodeUtPex(payload));
  if (pex !== undefined) {
    const again = decodeUtPex(encodeUtPex(pex));
    if (json(again.added) !== json(pex.added) || json(again.dropped) !== json(pex.dropped))
      fail(`ut_pex did not round trip: ${json(pex)}`);
  }
}

/** Reads the script: a cursor over the input. */
class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.at >= this.bytes.length;
  }
  byte(): number {
    return this.bytes[this.at++] ?? 0;
  }
  /** A length-prefixed slice (2-byte big-endian length). */
  slice(): Uint8Array {
    const n = (this.byte() << 8) | this.byte();
    const s = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return s;
  }
}

function view(key: string, sent: Uint8Array[]): ExtensionPeer {
  return {
    key,
    remoteAddress: '127.0.0.9',
    remotePort: 6881,
    outgoing: false,
    listenPort: 6881,
    transport: 'memory',
    encrypted: false,
    remoteId: 3,
    send: (p) => {
      sent.push(p);
      return true;
    },
    close: () => {},
  };
}

/**
 * Operations (`op % 9`), peers are `p<byte % 4>`:
 * 0 handshake: a peer's extended handshake payload (decoded; refused ones are skipped);
 * 1 handshake with a plain size: `metadata_size` = a byte × 1000 + 1 (or none);
 * 2 ut_metadata payload from a peer (decoded; data → onData, reject → onReject);
 * 3 the real piece `byte % 3`; 4 the same piece with one byte flipped;
 * 5 a disconnect; 6 time passes (`byte` × 200 ms) and the exchange ticks;
 * 7 a ut_pex payload to the PEX extension (time moves 31 s first);
 * 8 a ut_metadata payload to the serving side.
 */
function runScript(script: Uint8Array): void {
  const r = new Reader(script);
  const mx = new MetadataExchange({ infoHashV1: INFO_HASH });
  const live = new Set<string>();
  let complete = false;
  let now = 0;
  const apply = (actions: ReturnType<MetadataExchange['tick']>) => {
    const batch = new Set<number>();
    for (const a of actions) {
      if (complete) fail('an action after completion');
      if (a.type === 'complete') {
        if (!bytesEqual(sha1(a.info), INFO_HASH)) fail('completed with metadata that does not hash right');
        complete = true;
        outcomes.completed++;
      } else if (a.type === 'bad-peer') {
        live.delete(a.peer);
        outcomes.badPeers++;
      } else {
        if (!live.has(a.peer)) fail(`asked ${a.peer}, which is not a live peer`);
        if (batch.has(a.piece)) fail(`piece ${a.piece} asked twice at once`);
        batch.add(a.piece);
        if (a.piece < 0 || a.piece * METADATA_PIECE_BYTES >= Math.max(mx.size, 1))
          fail(`asked piece ${a.piece} beyond the size`);
      }
    }
  };
  /** A handshake: BEP 10 later handshakes only change what they name. */
  const handshake = (peer: string, id: number | undefined, size: number | undefined) => {
    const out = mx.onExtendedHandshake(peer, id, size, now);
    outcomes.handshakes++;
    if (out.some((a) => a.type === 'bad-peer' && a.peer === peer)) live.delete(peer);
    else if (id !== undefined && id > 0 && !complete) live.add(peer);
    apply(out);
  };

  const pool = new PeerPool({ now: () => now, maxConnections: 100 });
  const owner = pool.openOwner({ maxConnections: 10, maxHalfOpen: 4, maxKnown: MAX_KNOWN, maxPerAddress: 4 });
  const metainfo = { isPrivate: false, infoBytes: INFO } as unknown as Metainfo;
  const host = {
    metainfo,
    addPeer: (h: string, port: number, source: 'pex') => {
      owner.add(h, port, source);
    },
    isSeed: () => false,
    peers: () => [],
    supports: () => false,
    isSelf: () => false,
    holepunch: () => {},
    log: () => {},
  };
  const pex = utPex(host)!;
  const serve = utMetadata(host)!;
  const sent: Uint8Array[] = [];

  for (let ops = 0; ops < MAX_OPS && !r.done; ops++) {
    const op = r.byte() % 9;
    const peer = `p${r.byte() % 4}`;
    switch (op) {
      case 0: {
        const hs = tryDecode(() => decodeExtendedHandshake(r.slice()));
        if (hs !== undefined) handshake(peer, hs.extensions.get(ExtensionName.UtMetadata), hs.metadataSize);
        break;
      }
      case 1: {
        const b = r.byte();
        handshake(peer, 3, b === 0 ? undefined : b === 255 ? INFO.length : b * 1000 + 1);
        break;
      }
      case 2: {
        const m = tryDecode(() => decodeUtMetadata(r.slice()));
        if (m?.type === 'data') apply(mx.onData(peer, m.piece, m.totalSize, m.data, now));
        else if (m?.type === 'reject') apply(mx.onReject(peer, m.piece, now));
        break;
      }
      case 3:
      case 4: {
        const i = r.byte() % PIECES;
        const data = new Uint8Array(piece(i));
        if (op === 4) data[data.length >> 1] = data[data.length >> 1]! ^ 0x40;
        apply(mx.onData(peer, i, INFO.length, data, now));
        break;
      }
      case 5:
        live.delete(peer);
        apply(mx.removePeer(peer, now));
        break;
      case 6:
        now += r.byte() * 200;
        apply(mx.tick(now));
        break;
      case 7: {
        now += 31_000;
        const payload = r.slice();
        try {
          pex.onMessage(view(peer, sent), payload, now);
        } catch (e) {
          if (!isShoalError(e)) throw e;
        }
        outcomes.pexAdded = Math.max(outcomes.pexAdded, owner.knownCount);
        if (owner.knownCount > MAX_KNOWN) fail(`known addresses ${owner.knownCount} > ${MAX_KNOWN}`);
        const weak = owner.knownAddresses().filter((k) => k.source === 'pex').length;
        if (weak > Math.floor(MAX_KNOWN * PEX_ADDRESS_SHARE)) fail(`PEX addresses ${weak} over their share`);
        break;
      }
      case 8: {
        sent.length = 0;
        try {
          serve.onMessage(view(peer, sent), r.slice(), now);
        } catch (e) {
          if (!isShoalError(e)) throw e;
        }
        for (const reply of sent) {
          const m = decodeUtMetadata(reply);
          if (m?.type === 'data' && !bytesEqual(m.data, piece(m.piece)))
            fail('served bytes that are not ours');
          if (m?.type === 'data') outcomes.served++;
        }
        break;
      }
    }
    if (mx.size > MAX_METADATA_BYTES) fail('a metadata size above MAX_METADATA_BYTES');
  }
}

function seeds(): Uint8Array[] {
  const lp = (b: Uint8Array): number[] => [b.length >> 8, b.length & 0xff, ...b];
  const hs = (size: number | undefined) =>
    encodeExtendedHandshake({
      extensions: new Map([
        [ExtensionName.UtMetadata, 3],
        [ExtensionName.UtPex, 4],
      ]),
      client: 'fuzz 1.0',
      port: 6881,
      ...(size !== undefined ? { metadataSize: size } : {}),
    });
  const pexMsg = (n: number) => {
    const added: PexPeer[] = Array.from({ length: n }, (_, i) => ({
      host: `127.1.${i >> 8}.${i & 0xff}`,
      port: 1000 + i,
      family: 4,
      flags: i & 0x1f,
    }));
    return encodeUtPex({ added, dropped: [{ host: '::1', port: 2, family: 6 }] });
  };
  const mdReq = encodeUtMetadata({ type: 'request', piece: 1 });
  const mdReject = encodeUtMetadata({ type: 'reject', piece: 0 });
  const honest = [0, 0, ...lp(hs(INFO.length)), 3, 0, 0, 3, 0, 1, 3, 0, 2];
  const liarFirst = [
    ...[1, 1, 7], // p1 says metadata_size 7001
    ...[0, 0, ...lp(hs(INFO.length))],
    ...[4, 1, 0, 3, 1, 1, 3, 1, 2, 3, 1, 3, 3, 1, 4, 3, 1, 5, 3, 1, 6, 3, 1, 7],
    ...[3, 0, 0, 3, 0, 1, 3, 0, 2],
  ];
  const mixed = [
    1,
    0,
    255,
    1,
    1,
    255,
    2,
    0,
    ...lp(mdReject),
    4,
    1,
    0,
    3,
    0,
    1,
    3,
    0,
    2,
    3,
    1,
    0,
    3,
    1,
    1,
    3,
    1,
    2,
    6,
    0,
    60,
  ];
  const payloads = [hs(INFO.length), hs(undefined), mdReq, mdReject, pexMsg(3), pexMsg(60)];
  return [
    ...payloads,
    Uint8Array.from(honest),
    Uint8Array.from(liarFirst),
    Uint8Array.from(mixed),
    Uint8Array.from([7, 2, ...lp(pexMsg(60)), 7, 3, ...lp(pexMsg(60)), 8, 1, ...lp(mdReq)]),
    enc.encode('d1:md11:ut_metadatai3eee'),
  ];
}

export const target: FuzzTarget = {
  seeds,
  report: () => `outcomes: ${JSON.stringify(outcomes)} (pexAdded: most addresses known at once)`,
  run(input) {
    checkDecoders(input);
    runScript(input);
  },
};
