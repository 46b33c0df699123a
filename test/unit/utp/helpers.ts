import {
  decodePacket,
  encodePacket,
  PacketType,
  type UtpConnection,
  type UtpEvent,
  type UtpHeaderFields,
  type UtpOutput,
  type UtpPacket,
} from '../../../src/utp/index.js';

/** An output that keeps every datagram sent, decoded. */
export class Capture implements UtpOutput {
  readonly sent: { bytes: Uint8Array; packet: UtpPacket; probe: boolean }[] = [];
  readonly #buf = new Uint8Array(70_000);
  acquire(): Uint8Array {
    return this.#buf;
  }
  send(datagram: Uint8Array, length: number, probe: boolean): void {
    const bytes = datagram.slice(0, length);
    this.sent.push({ bytes, packet: decodePacket(bytes), probe });
  }
  take(): UtpPacket[] {
    return this.sent.splice(0).map((s) => s.packet);
  }
}

/** Handlers that record bytes and events. */
export function record(c: UtpConnection, consume = true) {
  const r = { data: [] as number[], events: [] as UtpEvent[] };
  c.setHandlers({
    data: (b, off, len) => {
      for (let i = 0; i < len; i++) r.data.push(b[off + i]!);
      if (consume) c.consumed(len);
    },
    event: (e) => r.events.push(e),
  });
  return r;
}

/** A packet from the scripted peer, decoded as the connection would see it. */
export function peerPacket(
  h: Partial<UtpHeaderFields> & { type: PacketType },
  payload?: Uint8Array,
  sack?: Uint8Array,
): UtpPacket {
  return decodePacket(
    encodePacket(
      { connectionId: 0, timestampUs: 1, timestampDiffUs: 0, wndSize: 1 << 20, seqNr: 0, ackNr: 0, ...h },
      payload,
      sack,
    ),
  );
}

export { PacketType };
