/**
 * The connector's transport order (src/session/peers/connector.ts with src/net/dial-policy.ts): a
 * dial that another transport follows gets the short fallback timeout, the transport that worked
 * is remembered in the address's hints, and the next dial starts with it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dialOrder, type TransportPolicy } from '../../../src/net/dial-policy.js';
import type { AddressHints } from '../../../src/net/peer-pool.js';
import type {
  DialOptions,
  PeerStream,
  StreamHandlers,
  Transport,
  TransportKind,
} from '../../../src/net/transport.js';
import { BtConnector } from '../../../src/session/peers/connector.js';
import { ErrorCode, ShoalError } from '../../../src/shared/errors.js';
import { UTP_FALLBACK_CONNECT_TIMEOUT_MS } from '../../../src/shared/limits.js';
import { encodeHandshake, HANDSHAKE_BYTES, type Handshake } from '../../../src/wire/index.js';

const handshake: Handshake = {
  reserved: new Uint8Array(8),
  infoHash: new Uint8Array(20).fill(1),
  peerId: new Uint8Array(20).fill(2),
};

/** A connected stream whose peer answers our handshake with its own. */
class AnsweringStream implements PeerStream {
  readonly outgoing = true;
  readonly remoteAddress = '192.0.2.1';
  readonly remotePort = 6881;
  readonly writableLength = 0;
  isOpen = true;
  #handlers: StreamHandlers | undefined;
  #paused = false;
  #written = 0;
  #pending: Uint8Array | undefined;
  constructor(readonly transport: TransportKind) {}
  bind(h: StreamHandlers): void {
    this.#handlers = h;
  }
  write(bytes: Uint8Array): boolean {
    this.#written += bytes.length;
    if (this.#written >= HANDSHAKE_BYTES && this.#pending === undefined) {
      this.#pending = encodeHandshake({ ...handshake, peerId: new Uint8Array(20).fill(3) });
      setImmediate(() => this.#flush());
    }
    return true;
  }
  #flush(): void {
    if (this.#paused || this.#pending === undefined || this.#handlers === undefined) return;
    const p = this.#pending;
    this.#pending = new Uint8Array(0);
    if (p.length > 0) this.#handlers.data(p);
  }
  cork(): void {}
  uncork(): void {}
  pause(): void {
    this.#paused = true;
  }
  resume(): void {
    this.#paused = false;
    this.#flush();
  }
  destroy(): void {
    this.isOpen = false;
  }
}

/** A transport that answers (or never does), and notes each dial's timeout. */
class FakeTransport implements Transport {
  readonly openCount = 0;
  readonly dials: number[] = [];
  constructor(
    readonly kind: TransportKind,
    public answers: boolean,
  ) {}
  async dial(host: string, port: number, o: DialOptions): Promise<PeerStream> {
    this.dials.push(o.timeoutMs);
    if (!this.answers)
      throw new ShoalError(ErrorCode.NetTimeout, `${this.kind} connect timed out`, { host, port });
    return new AnsweringStream(this.kind);
  }
  async close(): Promise<void> {}
}

function setup(policy: TransportPolicy, utpAnswers: boolean) {
  const utp = new FakeTransport('utp', utpAnswers);
  const tcp = new FakeTransport('tcp', true);
  const order: string[][] = [];
  const connector = new BtConnector({
    transports: (hints) => {
      const kinds = dialOrder(policy, hints);
      order.push([...kinds]);
      return kinds.map((k) => (k === 'utp' ? utp : tcp));
    },
    connectTimeoutMs: 10_000,
    fallbackConnectTimeoutMs: UTP_FALLBACK_CONNECT_TIMEOUT_MS,
    handshakeTimeoutMs: 5_000,
    encryption: () => 'disabled',
  });
  return { utp, tcp, order, connector };
}

test('utp-first: a peer without uTP is reached over TCP after the short timeout, and TCP goes first next time', async () => {
  const { utp, tcp, order, connector } = setup('utp-first', false);
  const hints: AddressHints = {};
  const first = await connector.connect('192.0.2.1', 6881, handshake, hints);
  assert.equal(first.stream.transport, 'tcp');
  assert.deepEqual(utp.dials, [UTP_FALLBACK_CONNECT_TIMEOUT_MS], 'uTP was given the fallback timeout');
  assert.deepEqual(tcp.dials, [10_000], 'TCP, the last resort, the full one');
  assert.equal(hints.transport, 'tcp', 'what worked is remembered');
  const again = await connector.connect('192.0.2.1', 6881, handshake, hints);
  assert.equal(again.stream.transport, 'tcp');
  assert.deepEqual(order, [
    ['utp', 'tcp'],
    ['tcp', 'utp'],
  ]);
  assert.deepEqual(utp.dials, [UTP_FALLBACK_CONNECT_TIMEOUT_MS], 'no second uTP attempt');
});

test('utp-first: a peer with uTP is reached over uTP, and remembered so', async () => {
  const { utp, tcp, connector } = setup('utp-first', true);
  const hints: AddressHints = {};
  const opened = await connector.connect('192.0.2.1', 6881, handshake, hints);
  assert.equal(opened.stream.transport, 'utp');
  assert.equal(hints.transport, 'utp');
  assert.deepEqual(tcp.dials, []);
  assert.equal(opened.initial.length, HANDSHAKE_BYTES);
  assert.deepEqual(utp.dials, [UTP_FALLBACK_CONNECT_TIMEOUT_MS]);
});

test('tcp-first: TCP unless PEX said the peer speaks uTP; utp-only never falls back', async () => {
  const a = setup('tcp-first', true);
  assert.equal((await a.connector.connect('192.0.2.1', 1, handshake, {})).stream.transport, 'tcp');
  const pex: AddressHints = { supportsUtp: true };
  assert.equal((await a.connector.connect('192.0.2.1', 2, handshake, pex)).stream.transport, 'utp');
  assert.equal(pex.transport, 'utp');

  const b = setup('utp-only', false);
  await assert.rejects(b.connector.connect('192.0.2.1', 3, handshake, {}), /timed out/);
  assert.deepEqual(b.utp.dials, [10_000], 'the only transport gets the full timeout');
  assert.deepEqual(b.tcp.dials, []);
});
