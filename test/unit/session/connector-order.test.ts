/**
 * The one dial path's order of attempts under `enabled` (issue 19): plaintext first, and an
 * encrypted handshake first to an address PEX flags as preferring encryption (BEP 11 0x01) or
 * that worked encrypted before. The transport here records what each dial's first write was.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type {
  DialOptions,
  PeerStream,
  StreamHandlers,
  Transport,
  TransportKind,
} from '../../../src/net/transport.js';
import { BtConnector } from '../../../src/session/peers/connector.js';
import { makeReserved } from '../../../src/wire/index.js';

/** A transport whose streams record their first write, then hang up (so every attempt is made). */
class RecordingTransport implements Transport {
  readonly kind: TransportKind = 'memory';
  readonly firstWrites: Uint8Array[] = [];
  get openCount(): number {
    return 0;
  }
  async dial(host: string, port: number, _o: DialOptions): Promise<PeerStream> {
    let handlers: StreamHandlers | undefined;
    let wrote = false;
    const firstWrites = this.firstWrites;
    const stream: PeerStream = {
      transport: 'memory',
      outgoing: true,
      remoteAddress: host,
      remotePort: port,
      writableLength: 0,
      isOpen: true,
      bind: (h) => {
        handlers = h;
      },
      write: (bytes) => {
        if (!wrote) {
          wrote = true;
          firstWrites.push(bytes.slice());
          setImmediate(() => handlers?.close());
        }
        return true;
      },
      cork: () => {},
      uncork: () => {},
      pause: () => {},
      resume: () => {},
      destroy: () => {},
    };
    return stream;
  }
  async close(): Promise<void> {}
}

const handshake = {
  reserved: makeReserved({ extended: true }),
  infoHash: new Uint8Array(20).fill(1),
  peerId: new Uint8Array(20).fill(2),
};
const isPlaintext = (b: Uint8Array) =>
  b[0] === 19 && Buffer.from(b.subarray(1, 20)).toString('latin1') === 'BitTorrent protocol';

async function attempts(hints: { prefersEncryption?: boolean; encrypted?: boolean }): Promise<string[]> {
  const t = new RecordingTransport();
  const c = new BtConnector({
    transports: [t],
    connectTimeoutMs: 1000,
    handshakeTimeoutMs: 1000,
    encryption: () => 'enabled',
  });
  await assert.rejects(c.connect('192.0.2.1', 6881, handshake, hints));
  return t.firstWrites.map((b) => (isPlaintext(b) ? 'plaintext' : 'mse'));
}

test('enabled: plaintext first, then encrypted when the peer hangs up', async () => {
  assert.deepEqual(await attempts({}), ['plaintext', 'mse']);
});

test('enabled: encrypted first to a peer PEX says prefers encryption, or that worked encrypted', async () => {
  assert.deepEqual(await attempts({ prefersEncryption: true }), ['mse', 'plaintext']);
  assert.deepEqual(await attempts({ encrypted: true }), ['mse', 'plaintext']);
});
