/**
 * Interop smoke test of the pure MSE/PE handshake (src/wire/mse) against python3-libtorrent 2.0
 * on 127.0.0.1, with libtorrent forcing RC4 both ways (it refuses plaintext connections):
 *
 * - Shoal dials: a raw node:net socket runs an MseInitiator with the torrent's info-hash and our
 *   BitTorrent handshake as IA, then reads libtorrent's handshake and bitfield, decrypted.
 * - libtorrent dials: a raw node:net server runs an MseResponder, finds the SKEY, reads
 *   libtorrent's BitTorrent handshake from IA, answers with an encrypted handshake and a full
 *   bitfield, and reads libtorrent's `interested`, decrypted.
 *
 * Everything is bounded by deadlines; sockets and the server are closed and libtorrent is stopped
 * by PID in `after()`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTorrent } from '../../src/storage/index.js';
import {
  classifyFirstBytes,
  encodeHandshake,
  encodeMessage,
  FrameDecoder,
  type MseCipher,
  MseInitiator,
  MseResponder,
  makeReserved,
  mseReq2Hash,
  type WireMessage,
} from '../../src/wire/index.js';
import { ClientGroup, libtorrentMissing } from '../helpers/clients.js';
import { writeTree } from '../helpers/payload.js';

const missing = libtorrentMissing();
if (missing !== undefined) throw new Error(missing);

/** Bound of each exchange once libtorrent is up (seen: well under a second). */
const EXCHANGE_TIMEOUT_MS = 20_000;
const START_TIMEOUT_MS = 30_000;
const PIECE_BYTES = 16 * 1024;
const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function ourHandshake(infoHash: Uint8Array): Uint8Array {
  return encodeHandshake({
    reserved: makeReserved({}),
    infoHash,
    peerId: new TextEncoder().encode(`-SH0100-${hex(random(6))}`),
  });
}

/**
 * The plaintext side of one connection after MSE: decrypts what arrives (when RC4), decodes
 * frames, and resolves waits on the messages.
 */
class PlainStream {
  readonly messages: WireMessage[] = [];
  #decoder: FrameDecoder;
  #cipher: MseCipher | undefined;
  #waiters: (() => void)[] = [];
  closed = false;

  constructor(pieceCount: number) {
    this.#decoder = new FrameDecoder({ handshake: true, pieceCount });
  }

  start(cipher: MseCipher, first: Uint8Array): void {
    this.#cipher = cipher;
    this.push(first, true);
  }

  /** Bytes from the socket after the handshake (`decrypted`: already plaintext). */
  push(bytes: Uint8Array, decrypted = false): void {
    const copy = Uint8Array.from(bytes);
    if (!decrypted && this.#cipher?.method === 'rc4') this.#cipher.decrypt.process(copy);
    this.messages.push(...this.#decoder.push(copy));
    this.#wake();
  }

  close(): void {
    this.closed = true;
    this.#wake();
  }

  /** Resolves with the first message `test` accepts; rejects at the deadline or on close. */
  async waitFor(test: (m: WireMessage) => boolean, what: string): Promise<WireMessage> {
    const deadline = performance.now() + EXCHANGE_TIMEOUT_MS;
    for (;;) {
      const m = this.messages.find(test);
      if (m !== undefined) return m;
      if (this.closed) throw new Error(`connection closed before ${what}; got ${this.#summary()}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.#summary()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #summary(): string {
    return JSON.stringify(this.messages.map((m) => m.type));
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

describe('MSE/PE with python3-libtorrent (RC4 required)', () => {
  const group = new ClientGroup();
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  let torrentPath = '';
  let dataDir = '';
  let infoHash: Uint8Array = new Uint8Array();
  let pieceCount = 0;

  const track = (s: Socket): Socket => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {}); // reported through 'close' and the waits
    return s;
  };

  before(async () => {
    const root = await group.root();
    dataDir = join(root, 'seed');
    await writeTree(join(dataDir, 'payload'), { 'a.bin': 300_001, 'b.txt': 1234 }, 17);
    const t = await createTorrent(join(dataDir, 'payload'), { version: 'v1', pieceLength: PIECE_BYTES });
    infoHash = t.infoHashV1!;
    pieceCount = t.pieceCount;
    torrentPath = join(root, 'payload.torrent');
    await writeFile(torrentPath, t.bytes);
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await group.stop();
  });

  test('Shoal dials a libtorrent seeder: MseInitiator, IA = our handshake, its handshake and bitfield back', {
    timeout: START_TIMEOUT_MS + 3 * EXCHANGE_TIMEOUT_MS,
  }, async () => {
    await group.explain(async () => {
      const log = group.log('shoal initiator');
      const lt = await group.libtorrent('libtorrent seeder', {
        torrent: torrentPath,
        saveDir: dataDir,
        seed: true,
        requireRc4: true,
      });
      await lt.waitFor('ready', START_TIMEOUT_MS);

      // libtorrent really refuses plaintext: a BitTorrent handshake gets the connection closed.
      const plain = track(connect(lt.port, '127.0.0.1'));
      const plainReply: Buffer[] = [];
      plain.on('data', (d: Buffer) => plainReply.push(d));
      plain.on('connect', () => plain.write(ourHandshake(infoHash)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('plaintext connection not closed')),
          EXCHANGE_TIMEOUT_MS,
        );
        plain.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      assert.equal(Buffer.concat(plainReply).length, 0, 'no reply to a plaintext handshake');

      const a = new MseInitiator({
        skey: infoHash,
        provide: { plaintext: false, rc4: true },
        ia: ourHandshake(infoHash),
        random,
      });
      const stream = new PlainStream(pieceCount);
      const socket = track(connect(lt.port, '127.0.0.1'));
      socket.on('connect', () => socket.write(a.start()));
      let done = false;
      socket.on('data', (chunk: Buffer) => {
        if (done) return stream.push(chunk);
        try {
          const step = a.push(chunk);
          if (step.send !== undefined) socket.write(step.send);
          if (step.result !== undefined) {
            done = true;
            log(`MSE done: ${step.result.method}, ${step.result.rest.length} bytes after it`);
            stream.start(step.result, step.result.rest);
          }
        } catch (e) {
          log(`MSE failed: ${String(e)}`);
          socket.destroy();
        }
      });
      socket.on('close', () => stream.close());

      const hs = await stream.waitFor((m) => m.type === 'handshake', "libtorrent's handshake");
      assert.equal(a.state, 'done');
      assert.ok(hs.type === 'handshake');
      assert.equal(hex(hs.infoHash), hex(infoHash), 'its handshake names our torrent');
      const bf = await stream.waitFor((m) => m.type === 'bitfield' || m.type === 'have-all', 'its bitfield');
      assert.ok(bf.type === 'bitfield', `a bitfield (we did not offer the fast extension), got ${bf.type}`);
      const full = new Uint8Array(Math.ceil(pieceCount / 8)).fill(0xff);
      full[full.length - 1] = (0xff << (8 - (pieceCount % 8 || 8))) & 0xff;
      assert.equal(hex(bf.bitfield), hex(full), 'the seeder has every piece');
      socket.destroy();
    });
  });

  test('libtorrent dials Shoal: MseResponder finds the SKEY, reads its handshake from IA, RC4 both ways', {
    timeout: START_TIMEOUT_MS + 2 * EXCHANGE_TIMEOUT_MS,
  }, async () => {
    await group.explain(async () => {
      const log = group.log('shoal responder');
      const req2 = hex(mseReq2Hash(infoHash));
      const stream = new PlainStream(pieceCount);
      let firstBytes: Uint8Array | undefined;
      let iaBytes: Uint8Array | undefined;
      let skey: Uint8Array | undefined;
      let accepted = false;
      const server = createServer((socket) => {
        track(socket);
        if (accepted) return void socket.destroy(); // one connection is enough
        accepted = true;
        const b = new MseResponder({
          findSkey: (h) => (hex(h) === req2 ? infoHash : undefined),
          allow: { plaintext: false, rc4: true },
          prefer: 'rc4',
          random,
        });
        let done = false;
        socket.on('data', (chunk: Buffer) => {
          if (done) return stream.push(chunk);
          firstBytes ??= Uint8Array.from(chunk);
          try {
            const step = b.push(chunk);
            if (step.send !== undefined) socket.write(step.send);
            const r = step.result;
            if (r === undefined) return;
            done = true;
            skey = r.skey;
            iaBytes = r.ia;
            log(`MSE done: ${r.method}, IA ${r.ia.length} bytes, ${r.rest.length} bytes after it`);
            // Our handshake and a full bitfield, encrypted into our own buffer.
            const full = new Uint8Array(Math.ceil(pieceCount / 8)).fill(0xff);
            full[full.length - 1] = (0xff << (8 - (pieceCount % 8 || 8))) & 0xff;
            const reply = new Uint8Array(
              Buffer.concat([ourHandshake(infoHash), encodeMessage({ type: 'bitfield', bitfield: full })]),
            );
            if (r.method === 'rc4') r.encrypt.process(reply);
            socket.write(reply);
            stream.start(r, new Uint8Array(Buffer.concat([r.ia, r.rest])));
          } catch (e) {
            log(`MSE failed: ${String(e)}`);
            socket.destroy();
          }
        });
        socket.on('close', () => stream.close());
      });
      servers.push(server);
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
      });
      const leecherDir = await group.dir('lt-leecher');
      const lt = await group.libtorrent('libtorrent leecher', {
        torrent: torrentPath,
        saveDir: leecherDir,
        connect: [port],
        requireRc4: true,
      });
      await lt.waitFor('added', START_TIMEOUT_MS);

      const hs = await stream.waitFor((m) => m.type === 'handshake', "libtorrent's handshake");
      assert.ok(firstBytes !== undefined && classifyFirstBytes(firstBytes) === 'not-bittorrent');
      assert.equal(hex(skey!), hex(infoHash), 'the SKEY found is our torrent');
      assert.ok(hs.type === 'handshake');
      assert.equal(hex(hs.infoHash), hex(infoHash));
      assert.ok(
        iaBytes !== undefined && iaBytes.length >= 68,
        `its handshake came in IA (${iaBytes?.length} bytes)`,
      );
      assert.equal(
        hex(iaBytes.subarray(0, 48)),
        hex(encodeHandshake({ reserved: hs.reserved, infoHash, peerId: hs.peerId }).subarray(0, 48)),
      );
      // It read our encrypted handshake and bitfield: a leecher facing a seed says interested.
      await stream.waitFor((m) => m.type === 'interested', 'its interested');
      lt.send('quit');
    });
  });
});
