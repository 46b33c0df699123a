/**
 * Fuzz target for the first bytes of an incoming connection: the inbound stage (which protocol
 * speaks, src/net/inbound.ts), the plaintext BitTorrent recognizer and connection
 * (src/session/peers/inbound-bt.ts, peer-connection.ts) and the handshake decoder, over an
 * in-memory stream, with the input split into chunks at input-derived positions (down to one
 * byte at a time, as a peer trickling its handshake would send it).
 *
 * Input layout: byte 0 picks the chunking (0: one byte per chunk; else a chunk size), the rest is
 * what the remote peer sends. Checks, per input:
 * - nothing but a ShoalError escapes, and every timer the stage armed is released once the
 *   stream is closed;
 * - the stream is claimed for BitTorrent iff its first 5 bytes are `\x13BitT`, refused at once
 *   when one of them differs, and closed when the rest of the 20-byte `\x13BitTorrent protocol`
 *   prefix is wrong; while undecided it holds at most MAX_INBOUND_SNIFF_BYTES;
 * - the torrent is asked about the handshake iff the first 68 bytes are a well-formed handshake,
 *   and gets exactly its info-hash, peer id and reserved bytes; messages are delivered only
 *   after an accepted handshake, and the same as a one-shot decode of the same bytes delivers.
 */
import { InboundRouter } from '../src/net/inbound.js';
import type { PeerStream, StreamHandlers } from '../src/net/transport.js';
import { plaintextBitTorrent, recognizeBitTorrent } from '../src/session/peers/inbound-bt.js';
import { MAX_INBOUND_SNIFF_BYTES } from '../src/shared/limits.js';
import {
  encodeHandshake,
  encodeMessage,
  FrameDecoder,
  HANDSHAKE_BYTES,
  makeReserved,
  type WireMessage,
} from '../src/wire/index.js';
import type { FuzzTarget } from './target.js';

const INFO_HASH = new Uint8Array(20).fill(0x11);
const OTHER_HASH = new Uint8Array(20).fill(0x22);
const PREFIX = new Uint8Array(Buffer.from('\x13BitTorrent protocol', 'latin1'));
/** Bytes of the prefix that claim a stream for plaintext BitTorrent (inbound-bt.ts). */
const CLAIM_BYTES = 5;
/** Long enough that no handshake timer fires during a run. */
const TIMEOUT_MS = 60_000;

/** An in-memory accepted stream: records what happens to it. */
class FakeStream implements PeerStream {
  readonly transport = 'memory' as const;
  readonly outgoing = false;
  readonly remoteAddress = '127.0.0.9';
  readonly remotePort = 6881;
  readonly writableLength = 0;
  isOpen = true;
  handlers: StreamHandlers | undefined;
  written = 0;
  bind(h: StreamHandlers): void {
    this.handlers = h;
  }
  write(bytes: Uint8Array, onDone?: () => void): boolean {
    this.written += bytes.length;
    onDone?.();
    return true;
  }
  cork(): void {}
  uncork(): void {}
  pause(): void {}
  resume(): void {}
  destroy(error?: Error): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    const h = this.handlers;
    this.handlers = undefined;
    h?.close(error);
  }
}

function seeds(): Uint8Array[] {
  const hs = (reserved: Uint8Array, infoHash = INFO_HASH) =>
    encodeHandshake({ reserved, infoHash, peerId: new TextEncoder().encode('-XX0001-abcdefghijkl') });
  const all = makeReserved({ extended: true, fast: true, dht: true, v2: true });
  const after = Buffer.concat([
    encodeMessage({ type: 'have-all' }),
    encodeMessage({ type: 'bitfield', bitfield: Uint8Array.of(0xff, 0xf0) }),
    encodeMessage({ type: 'extended', extId: 0, payload: new TextEncoder().encode('d1:md6:ut_pexi2eee') }),
    encodeMessage({ type: 'interested' }),
  ]);
  const out: Uint8Array[] = [];
  for (const chunking of [0, 1, 7, 20, 68, 200]) {
    out.push(Uint8Array.of(chunking, ...hs(all)));
    out.push(Uint8Array.of(chunking, ...hs(makeReserved({})), ...after));
    out.push(Uint8Array.of(chunking, ...hs(all, OTHER_HASH), ...after));
  }
  out.push(Uint8Array.of(3, ...hs(all).subarray(0, 30)));
  out.push(Uint8Array.of(5, ...new TextEncoder().encode('GET /announce HTTP/1.1\r\nHost: x\r\n\r\n')));
  out.push(Uint8Array.of(11, ...new Uint8Array(96 + 40).map((_, i) => (i * 151) & 0xff)));
  return out;
}

/** What a one-shot decode of `bytes` (a handshake, then frames) gives, up to any error. */
function oneShot(bytes: Uint8Array): WireMessage[] {
  const d = new FrameDecoder({ handshake: true });
  const out: WireMessage[] = [];
  // Byte by byte, so that the messages before an error are kept.
  try {
    for (let i = 0; i < bytes.length; i++) out.push(...d.push(bytes.subarray(i, i + 1)));
  } catch {
    // the connection closes at the error: what came before it is the expectation
  }
  return out;
}

function same(a: WireMessage, b: WireMessage): boolean {
  return JSON.stringify(a, hex) === JSON.stringify(b, hex);
}
function hex(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
}

/** How inputs ended, for a look at what a run reached. */
export const outcomes = { accepted: 0, otherTorrent: 0, refused: 0, undecided: 0, messages: 0 };

function fail(why: string): never {
  throw new Error(why);
}

export const target: FuzzTarget = {
  seeds,
  report: () => `outcomes: ${JSON.stringify(outcomes)}`,
  run(input) {
    const chunking = input[0] ?? 0;
    const bytes = input.subarray(1);
    const step = chunking === 0 ? 1 : chunking;
    let handshakes = 0;
    let accepted = false;
    const delivered: WireMessage[] = [];
    let closedReason: string | undefined;
    const router = new InboundRouter({ timeoutMs: TIMEOUT_MS });
    router.register(
      plaintextBitTorrent({
        handshakeTimeoutMs: TIMEOUT_MS,
        // Plaintext accepted; MSE (the stage's fallback in a session) has its own target, fuzz/mse.ts.
        encryption: () => 'enabled',
        findSkey: () => undefined,
        torrentFor: (infoHash) => {
          handshakes++;
          if (Buffer.compare(infoHash, INFO_HASH) !== 0) return undefined;
          return {
            acceptIncoming: (conn, h) => {
              if (h.peerId.length !== 20 || h.reserved.length !== 8)
                fail('a handshake field has the wrong size');
              accepted = true;
              conn.rebind({
                onHandshake: () => false,
                onMessages: (msgs) => {
                  // Borrowed chunks: a block is valid only now, so compare it now.
                  for (const m of msgs) delivered.push(JSON.parse(JSON.stringify(m, hex)) as WireMessage);
                },
                onClose: (reason) => {
                  closedReason = reason;
                },
              });
              return true;
            },
          };
        },
      }),
    );
    const stream = new FakeStream();
    router.accept(stream);
    // The stream's chunks are borrowed: each one is a copy that is scribbled over after the call.
    for (let at = 0; at < bytes.length && stream.isOpen; at += step) {
      const chunk = new Uint8Array(bytes.subarray(at, at + step));
      stream.handlers?.data(chunk);
      chunk.fill(0xee);
      if (router.pendingCount > 0 && at + step > MAX_INBOUND_SNIFF_BYTES)
        fail('the inbound stage holds more than MAX_INBOUND_SNIFF_BYTES undecided');
    }
    // What the first bytes say: `\x13BitT` claims the stream for BitTorrent (CLAIM_BYTES), and
    // the rest of the 20-byte prefix is then the handshake's to check.
    const matches = (upTo: number) => {
      for (let i = 0; i < Math.min(bytes.length, upTo); i++) if (bytes[i] !== PREFIX[i]) return false;
      return true;
    };
    const claimed = matches(CLAIM_BYTES);
    const prefixOk = matches(PREFIX.length);
    const recognized = recognizeBitTorrent(
      bytes.subarray(0, Math.max(1, Math.min(bytes.length, CLAIM_BYTES))),
    );
    if (bytes.length > 0 && (recognized === 'no') === claimed)
      fail('the recognizer disagrees with the prefix');
    if (!claimed && stream.isOpen) fail('a stream that is not BitTorrent was kept open');
    if (!prefixOk && stream.isOpen) fail('a bad handshake prefix was kept open');
    const wellFormed = prefixOk && bytes.length >= HANDSHAKE_BYTES;
    const ours = wellFormed && Buffer.compare(bytes.subarray(28, 48), INFO_HASH) === 0;
    if (handshakes > 1 || (handshakes === 1 && !wellFormed)) fail(`handshake seen ${handshakes} times`);
    // A handshake followed in its chunk by a bad frame closes the connection before it is seen.
    if (wellFormed && handshakes === 0 && stream.isOpen)
      fail('a well-formed handshake was neither seen nor refused');
    if (accepted && !ours) fail('accepted a handshake for another torrent');
    if (ours && !accepted && stream.isOpen) fail('our torrent was not offered its handshake');
    if (!accepted && delivered.length > 0) fail('messages delivered without an accepted handshake');
    if (accepted) {
      const want = oneShot(bytes).slice(1);
      if (delivered.length > want.length) fail('more messages than a one-shot decode');
      for (let i = 0; i < delivered.length; i++)
        if (!same(delivered[i]!, JSON.parse(JSON.stringify(want[i]!, hex)) as WireMessage))
          fail(`message ${i} differs from a one-shot decode`);
      // Chunking may only hide messages behind a decode error in the same chunk.
      if (closedReason === undefined && delivered.length !== want.length)
        fail('an open connection lost messages');
    }
    if (accepted) outcomes.accepted++;
    else if (handshakes > 0) outcomes.otherTorrent++;
    else if (!stream.isOpen) outcomes.refused++;
    else outcomes.undecided++;
    outcomes.messages += delivered.length;
    stream.destroy();
    if (router.pendingCount !== 0) fail('a closed stream is still pending');
  },
};
