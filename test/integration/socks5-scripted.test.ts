/**
 * The SOCKS5 client against scripted proxies on 127.0.0.1 (src/net/socks5-transport.ts,
 * socks5-udp.ts): what exactly is sent for IPv4, IPv6 and host-name targets, bytes that follow
 * the proxy's reply, proxies that stall, close or answer nonsense, and a scripted UDP relay
 * (fragments and strangers dropped, a new association after the proxy ends one).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { UdpTrackerSocket } from '../../src/discovery/index.js';
import {
  decodeSocks5UdpDatagram,
  encodeSocks5UdpDatagram,
  Socks5Transport,
  Socks5UdpAssociation,
} from '../../src/net/index.js';
import { ErrorCode, isShoalError } from '../../src/shared/errors.js';
import { startTracker } from '../../src/tracker/index.js';
import { within } from '../helpers/scripted-peer.js';

const LOCAL = '127.0.0.1';
const STEP_MS = 5_000;

/** What a scripted proxy does once it has a client's request (CMD and the raw request bytes). */
type Script = (socket: Socket, request: Buffer) => void;

/** A SOCKS5 server that accepts no-auth, records each request, and runs `script`. */
async function scriptedProxy(script: Script) {
  const requests: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let stage: 'greeting' | 'request' | 'done' = 'greeting';
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (stage === 'greeting' && buf.length >= 2 && buf.length >= 2 + buf[1]!) {
        buf = buf.subarray(2 + buf[1]!);
        stage = 'request';
        socket.write(Buffer.from([5, 0]));
      }
      if (stage === 'request' && buf.length >= 5) {
        const atyp = buf[3]!;
        const len = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + buf[4]!;
        if (buf.length < 4 + len + 2) return;
        const request = buf.subarray(0, 4 + len + 2);
        buf = buf.subarray(4 + len + 2);
        stage = 'done';
        requests.push(Buffer.from(request));
        script(socket, request);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, LOCAL, r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A granted CONNECT: reply with a bound IPv4 address. */
const GRANTED = Buffer.from([5, 0, 0, 1, 127, 0, 0, 3, 0x1f, 0x90]);

describe('SOCKS5 against scripted proxies', { timeout: 60_000 }, () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  test('CONNECT requests for IPv4, IPv6 and host names; bytes after the reply come first', async () => {
    const proxy = await scriptedProxy((socket) => {
      // The "target" greets at once, in the same segment as the reply.
      socket.write(Buffer.concat([GRANTED, Buffer.from('hi:')]));
      socket.on('data', (d) => socket.write(d));
    });
    closers.push(proxy.close);
    const t = new Socks5Transport({ proxy: { host: LOCAL, port: proxy.port } });
    for (const host of ['192.0.2.1', '2001:db8::7', 'peer.example']) {
      const stream = await t.dial(host, 6881, { timeoutMs: STEP_MS });
      assert.equal(stream.remoteAddress, host);
      assert.equal(stream.remotePort, 6881);
      assert.equal(t.openCount, 1);
      const got = await within(
        new Promise<string>((resolve) => {
          let text = '';
          stream.bind({
            data: (c) => {
              text += Buffer.from(c).toString();
              if (text.length >= 7) resolve(text);
            },
            drain: () => {},
            close: () => {},
          });
          stream.write(Buffer.from('echo'));
        }),
        STEP_MS,
        'the first bytes and the echo',
      );
      assert.equal(got, 'hi:echo');
      const closed = new Promise<void>((r) =>
        stream.bind({ data: () => {}, drain: () => {}, close: () => r() }),
      );
      stream.destroy();
      await closed;
      assert.equal(t.openCount, 0);
    }
    const [v4, v6, name] = proxy.requests;
    assert.deepEqual([...v4!], [5, 1, 0, 1, 192, 0, 2, 1, 0x1a, 0xe1]);
    assert.deepEqual([...v6!.subarray(0, 4)], [5, 1, 0, 4]);
    assert.deepEqual([...v6!.subarray(4, 20)], [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 7]);
    assert.deepEqual([...name!.subarray(0, 5)], [5, 1, 0, 3, 12]);
    assert.equal(name!.subarray(5, 17).toString(), 'peer.example');
    await t.close();
  });

  test('a proxy that stalls times out within the dial timeout; one that closes or babbles fails clearly', async () => {
    const stall = createServer((s) => s.on('error', () => {}));
    const sockets: Socket[] = [];
    stall.on('connection', (s) => sockets.push(s));
    await new Promise<void>((r) => stall.listen(0, LOCAL, r));
    closers.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => stall.close(() => r()));
    });
    const t0 = performance.now();
    const stalled = new Socks5Transport({
      proxy: { host: LOCAL, port: (stall.address() as { port: number }).port },
    });
    await assert.rejects(
      stalled.dial('192.0.2.1', 1, { timeoutMs: 300 }),
      (e) => isShoalError(e, ErrorCode.NetTimeout) && /did not answer in time/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 3_000);

    const closer = await scriptedProxy((socket) => socket.destroy());
    closers.push(closer.close);
    await assert.rejects(
      new Socks5Transport({ proxy: { host: LOCAL, port: closer.port } }).dial('192.0.2.1', 1, {
        timeoutMs: STEP_MS,
      }),
      (e) =>
        isShoalError(e, ErrorCode.NetProxy) && /closed the connection during the handshake/.test(e.message),
    );
    const babbler = await scriptedProxy((socket) =>
      socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')),
    );
    closers.push(babbler.close);
    await assert.rejects(
      new Socks5Transport({ proxy: { host: LOCAL, port: babbler.port } }).dial('192.0.2.1', 1, {
        timeoutMs: STEP_MS,
      }),
      (e) => isShoalError(e, ErrorCode.NetProxy) && /malformed reply/.test(e.message),
    );
    const ac = new AbortController();
    const aborted = stalled.dial('192.0.2.1', 1, { timeoutMs: STEP_MS, signal: ac.signal });
    ac.abort();
    await assert.rejects(aborted, (e) => isShoalError(e));
  });

  test('a scripted UDP relay: datagrams wrapped both ways, fragments and strangers dropped, a new association after the proxy ends one', async () => {
    const tracker = await startTracker({ host: LOCAL, httpPort: null });
    closers.push(() => tracker.close());
    const relay = dgram.createSocket('udp4');
    await new Promise<void>((r) => relay.bind(0, LOCAL, r));
    const stranger = dgram.createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(0, LOCAL, r));
    closers.push(
      () => new Promise<void>((r) => relay.close(() => r())),
      () => new Promise<void>((r) => stranger.close(() => r())),
    );
    /** Associations the relay serves; one whose control connection closed is dropped. */
    const clients: { host: string; port: number; alive: boolean }[] = [];
    const controls: Socket[] = [];
    let mode: 'relay' | 'fragment-then-relay' = 'relay';
    relay.on('message', (msg, rinfo) => {
      if (rinfo.port === tracker.udpPort) {
        // From the tracker: back to the client, wrapped.
        const to = clients.findLast((c) => c.alive);
        if (to === undefined) return;
        const wrapped = encodeSocks5UdpDatagram({ host: rinfo.address, port: rinfo.port }, msg);
        if (mode === 'fragment-then-relay') {
          // First a BEP 15 error for the same transaction, as a fragment and from a stranger:
          // taken, either would fail the announce with "poison".
          const poison = Buffer.concat([
            Buffer.from([0, 0, 0, 3]),
            msg.subarray(4, 8),
            Buffer.from('poison'),
          ]);
          const wrappedPoison = encodeSocks5UdpDatagram({ host: rinfo.address, port: rinfo.port }, poison);
          const frag = Buffer.from(wrappedPoison);
          frag[2] = 1;
          relay.send(frag, to.port, to.host);
          stranger.send(wrappedPoison, to.port, to.host);
        }
        relay.send(wrapped, to.port, to.host);
        return;
      }
      if (!clients.some((c) => c.alive && c.port === rinfo.port)) return;
      const d = decodeSocks5UdpDatagram(msg);
      if (d !== undefined) relay.send(d.payload, d.from.port, d.from.host);
    });
    const proxy = await scriptedProxy((socket, request) => {
      controls.push(socket);
      assert.equal(request[1], 3, 'UDP ASSOCIATE');
      const port = request.readUInt16BE(request.length - 2);
      const client = { host: `${request[4]}.${request[5]}.${request[6]}.${request[7]}`, port, alive: true };
      clients.push(client);
      socket.on('close', () => {
        client.alive = false;
      });
      const p = (relay.address() as { port: number }).port;
      // BND.ADDR 0.0.0.0: "the proxy's own address".
      socket.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, p >> 8, p & 255]));
    });
    closers.push(proxy.close);

    const a = await Socks5UdpAssociation.open({ host: LOCAL, port: proxy.port });
    assert.deepEqual(a.relay, { host: LOCAL, port: (relay.address() as { port: number }).port });
    a.close();
    assert.equal(a.isClosed, true);

    const udp = new UdpTrackerSocket({ proxy: { host: LOCAL, port: proxy.port }, retransmitBaseMs: 500 });
    closers.push(() => udp.close());
    const req = {
      infoHash: new Uint8Array(20).fill(7),
      peerId: new Uint8Array(20).fill(8),
      port: 6881,
      uploaded: 0,
      downloaded: 0,
      left: 1,
      event: 'started' as const,
    };
    mode = 'fragment-then-relay';
    const first = await udp.announce(tracker.udpAnnounceUrl!, req, { timeoutMs: STEP_MS });
    assert.equal(first.interval > 0, true);
    assert.equal(proxy.requests.length, 2);
    // The proxy ends the association (and stops relaying for it): the next announce opens a new
    // one, at once if the close was seen first, else at its first retransmission.
    const ended = new Promise<void>((r) => controls.at(-1)!.once('close', () => r()));
    controls.at(-1)!.destroy();
    await ended;
    mode = 'relay';
    const second = await within(
      udp.announce(tracker.udpAnnounceUrl!, req, { timeoutMs: STEP_MS }),
      STEP_MS,
      'announce',
    );
    assert.equal(second.interval > 0, true);
    assert.equal(proxy.requests.length, 3);
  });
});
