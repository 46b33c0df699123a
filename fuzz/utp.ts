/**
 * uTP fuzz target: mutated datagrams go through `decodePacket`, and through a live `UtpEndpoint`
 * (as strangers' packets, as SYNs, and rewritten to the id of an established connection so they
 * reach its state machine). Decoding must yield a packet or a `UtpError`; the endpoint must never
 * throw, stay within its connection bound, and everything it sends must decode. Whatever decodes
 * must re-encode to the same header.
 */
import { isShoalError } from '../src/shared/errors.js';
import { MAX_UTP_CONNECTIONS } from '../src/shared/limits.js';
import { SeededRandom } from '../src/testing/sim-network.js';
import {
  DATAGRAM_SIZE_DECLARATION_BYTES,
  decodePacket,
  EXTENSION_BITS,
  encodeDatagramSizeDeclaration,
  encodeHeader,
  encodePacket,
  PacketType,
  type UtpConnection,
  UtpEndpoint,
  UtpPacket,
} from '../src/utp/index.js';
import type { FuzzTarget } from './target.js';

const random = new SeededRandom(1);
const scratch = new Uint8Array(70_000);
const check = new UtpPacket();
const header = new Uint8Array(20);
let now = 1000;
let n = 0;

const endpoint = new UtpEndpoint(
  {
    random,
    output: {
      acquire: () => scratch,
      send: (d, len) => {
        decodePacket(d.subarray(0, len), check);
      },
    },
    onAccept: (c) => c.setHandlers({ data: (_b, _o, len) => c.consumed(len), event: () => {} }),
  },
  { maxSynsPerIpPerSecond: 1e9, maxHalfOpen: 1e9 },
);

// One established connection (dialled to a peer that answered) whose id fuzz inputs can take.
let live: UtpConnection;
function dialLive(): void {
  live = endpoint.connect('127.0.0.9', 7000, now);
  live.setHandlers({ data: (_b, _o, len) => live.consumed(len), event: () => {} });
  const syn = live.inFlight.next - 1;
  endpoint.onDatagram(
    encodePacket({
      type: PacketType.State,
      connectionId: live.recvId,
      timestampUs: 5,
      timestampDiffUs: 0,
      wndSize: 1 << 20,
      seqNr: 100,
      ackNr: syn,
    }),
    '127.0.0.9',
    7000,
    now,
  );
  live.write(new Uint8Array(20_000));
  endpoint.flush(now);
}
dialLive();

const h = (type: PacketType, seqNr: number, ackNr: number) => ({
  type,
  connectionId: 1234,
  timestampUs: 99,
  timestampDiffUs: 7,
  wndSize: 65536,
  seqNr,
  ackNr,
});

/** A packet with Shoal's datagram-size declaration (behind the extension bits). */
function declaring(type: PacketType, seqNr: number, ackNr: number, bytes: number): Uint8Array {
  const out = new Uint8Array(20 + DATAGRAM_SIZE_DECLARATION_BYTES);
  encodeDatagramSizeDeclaration(out, encodeHeader(out, h(type, seqNr, ackNr), EXTENSION_BITS), 0, bytes);
  return out;
}

export const target: FuzzTarget = {
  seeds: () => [
    encodePacket(h(PacketType.Syn, 1, 0)),
    encodePacket(h(PacketType.State, 100, 5)),
    encodePacket(h(PacketType.State, 100, 5), undefined, Uint8Array.of(0xff, 0x0f, 0, 1)),
    encodePacket(h(PacketType.Data, 101, 5), new Uint8Array(40).fill(0x41)),
    encodePacket(h(PacketType.Data, 105, 5), new Uint8Array(10), new Uint8Array(8).fill(0x55)),
    encodePacket(h(PacketType.Fin, 102, 5)),
    encodePacket(h(PacketType.Reset, 1, 5)),
    declaring(PacketType.Syn, 1, 0, 65_507),
    declaring(PacketType.State, 100, 5, 9000),
  ],
  run(input: Uint8Array): void {
    // 1. The codec: a packet or a UtpError, and a decoded header re-encodes to the same bytes.
    let p: UtpPacket | undefined;
    try {
      p = decodePacket(input, check);
    } catch (e) {
      if (!isShoalError(e)) throw e;
    }
    if (p !== undefined) {
      encodeHeader(header, p, input[1]!);
      for (let i = 0; i < 20; i++) if (header[i] !== input[i]) throw new Error(`header byte ${i} differs`);
    }
    // 2. The endpoint, from a stranger and (rewritten) to the live connection.
    now += 1 + (input.length % 50);
    endpoint.onDatagram(input, `127.0.${n & 3}.1`, 6881, now);
    if (input.length >= 20 && (n & 1) === 0 && !live.isClosed) {
      const to = input.slice();
      to[2] = live.recvId >> 8;
      to[3] = live.recvId & 0xff;
      endpoint.onDatagram(to, '127.0.0.9', 7000, now);
    }
    endpoint.flush(now);
    if (++n % 64 === 0) {
      const d = endpoint.nextDeadline();
      if (d !== undefined && d <= now) endpoint.tick(now);
      if (live.writableBytes > 0) live.write(new Uint8Array(4000));
    }
    if (live.isClosed) dialLive();
    if (endpoint.size > MAX_UTP_CONNECTIONS) throw new Error(`${endpoint.size} connections`);
    if (n % 20_000 === 0) endpoint.destroyAll(now);
  },
};
