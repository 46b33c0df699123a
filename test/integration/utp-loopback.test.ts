/**
 * Two UtpTransports on 127.0.0.1: a dialled and an accepted stream exchange seeded random
 * streams both ways with write back-pressure honoured; the bytes must arrive intact and both
 * streams end cleanly. Datagrams that are not uTP go to the socket's handler for their kind; a
 * dial nobody answers times out.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { after, describe, test } from 'node:test';
import type { PeerStream } from '../../src/net/transport.js';
import { UtpStream, UtpTransport } from '../../src/net/utp-transport.js';
import { UTP_SEND_POOL_BYTES } from '../../src/shared/limits.js';
import { SeededRandom } from '../../src/testing/sim-network.js';

interface Received {
  readonly sha1: string;
  readonly bytes: number;
  readonly error: Error | undefined;
}

/** Binds `s`: hashes what arrives, writes `data` with back-pressure, closes when asked. */
function drive(s: PeerStream, data: Uint8Array, closeAfter: (bytes: number) => boolean): Promise<Received> {
  const h = createHash('sha1');
  let bytes = 0;
  let sent = 0;
  const pump = () => {
    while (sent < data.length) {
      const n = Math.min(256 * 1024, data.length - sent);
      const ok = s.write(data.subarray(sent, sent + n));
      sent += n;
      if (!ok) return;
    }
    if (closeAfter(bytes)) s.destroy();
  };
  return new Promise((resolve) => {
    s.bind({
      data: (c) => {
        h.update(c);
        bytes += c.length;
        if (sent === data.length && closeAfter(bytes)) s.destroy();
      },
      drain: pump,
      close: (error) => resolve({ sha1: h.digest('hex'), bytes, error }),
    });
    pump();
  });
}

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

describe('uTP transport on loopback', { timeout: 60_000 }, () => {
  // Default options: on loopback both ends declare large datagrams and probe up to them.
  const a = new UtpTransport();
  const b = new UtpTransport();
  after(async () => {
    await a.close();
    await b.close();
  });

  test('streams both ways arrive intact, with back-pressure, and end cleanly', async () => {
    const rnd = new SeededRandom(42);
    const up = rnd.bytes(16 * 1024 * 1024);
    const down = rnd.bytes(1024 * 1024);
    let atServer: Promise<Received> | undefined;
    const port = await b.listen({ host: '127.0.0.1', port: 0 }, (s) => {
      assert.equal(s.transport, 'utp');
      assert.equal(s.outgoing, false);
      assert.equal(s.remoteAddress, '127.0.0.1');
      // The server closes once it has everything; the client closes once the server closed.
      atServer = drive(s, down, (got) => got === up.length);
    });
    const t0 = performance.now();
    const dialled = await a.dial('127.0.0.1', port, { timeoutMs: 5000 });
    assert.equal(dialled.outgoing, true);
    const atClient = await drive(dialled, up, () => false);
    const secs = (performance.now() - t0) / 1000;
    const server = await atServer!;
    console.log(`# uTP loopback: ${(up.length / secs / 2 ** 20).toFixed(1)} MiB/s one way (16 MiB)`);
    assert.equal(server.bytes, up.length);
    assert.equal(server.sha1, sha1(up));
    assert.equal(server.error, undefined);
    assert.equal(atClient.bytes, down.length);
    assert.equal(atClient.sha1, sha1(down));
    assert.equal(atClient.error, undefined);
    assert.equal(a.openCount, 0);
    assert.equal(b.openCount, 0);
    // Loopback peers that declare large datagrams probe up to them; the send pool stays bounded.
    assert.ok(
      dialled instanceof UtpStream && dialled.connection.mtuFloor > 16_384,
      `floor ${(dialled as UtpStream).connection.mtuFloor}`,
    );
    assert.ok(a.pooledBytes > 0 && a.pooledBytes <= UTP_SEND_POOL_BYTES, `pool ${a.pooledBytes} bytes`);
  });

  test('KRPC datagrams on the transport socket reach the handler registered for them', async () => {
    const seen = new Promise<string>((r) => b.socket!.handle('krpc', (bytes) => r(bytes.toString())));
    const probe = createSocket('udp4');
    probe.send('d1:t2:aa1:y1:qe', b.port, '127.0.0.1');
    assert.equal(await seen, 'd1:t2:aa1:y1:qe');
    probe.close();
  });

  test('a dial nobody answers times out', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    await assert.rejects(a.dial('127.0.0.1', silent.address().port, { timeoutMs: 300 }), /timed out/);
    silent.close();
  });
});
