/**
 * A scripted BitTorrent peer for hostile-peer tests: a raw TCP endpoint (node:net) that speaks
 * the BEP 3 wire protocol through Shoal's own `src/wire` encoders and frame decoder, and does
 * exactly what the test tells it — nothing more. It can dial a node ({@link ScriptedPeer.dial})
 * or accept the node's connections ({@link ScriptedServer}).
 *
 * Everything it receives is decoded and recorded in {@link ScriptedPeer.messages}; tests wait on
 * it with {@link ScriptedPeer.waitFor} (bounded by a timeout, never a sleep) and on
 * {@link ScriptedPeer.closed}, which settles when the remote end closes the socket.
 * A decode failure of the node's bytes (the node broke the protocol) is kept in
 * {@link ScriptedPeer.decodeError} and fails every pending wait.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import {
  decodeExtendedHandshake,
  type EncodableMessage,
  EXTENDED_HANDSHAKE_ID,
  ExtensionName,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeUtMetadata,
  FrameDecoder,
  type Handshake,
  makeReserved,
  type WireMessage,
} from '../../src/wire/index.js';

/** Our BEP 10 message id for `ut_metadata`: the node answers {@link ScriptedPeer.roundTrip} with it. */
const ROUND_TRIP_EXT_ID = 7;

/** How a scripted peer introduces itself. */
export interface ScriptedPeerInit {
  /** 20-byte info-hash sent in our handshake (and checked in none: the test decides). */
  readonly infoHash: Uint8Array;
  /** 20-byte peer id. @default `-XX0000-` + 12 random-ish bytes */
  readonly peerId?: Uint8Array;
  /** Reserved bytes of our handshake. @default BEP 6 fast + BEP 10 extended */
  readonly reserved?: Uint8Array;
  /** Piece count, so received bitfields are checked exactly. */
  readonly pieceCount?: number;
}

/** Why a {@link ScriptedPeer} socket ended. */
export interface CloseInfo {
  /** ms from the socket's creation to its close. */
  readonly afterMs: number;
  /** Bytes received from the node over the connection's life. */
  readonly bytesReceived: number;
  readonly hadError: boolean;
}

let peerIdSeq = 0;

/** A 20-byte peer id that Shoal's client table does not know. */
export function scriptedPeerId(): Uint8Array {
  const id = Buffer.alloc(20, 0x5a);
  id.write('-XX0000-', 0, 'latin1');
  id.writeUInt32BE(++peerIdSeq, 8);
  id.writeUInt32BE(process.pid, 12);
  return new Uint8Array(id);
}

/** One scripted connection (dialled or accepted). */
export class ScriptedPeer {
  readonly socket: Socket;
  readonly init: ScriptedPeerInit;
  readonly peerId: Uint8Array;
  /** Every message decoded from the node, in order (the handshake first). */
  readonly messages: WireMessage[] = [];
  /** Settles when the socket closed (by either side). */
  readonly closed: Promise<CloseInfo>;
  bytesReceived = 0;
  decodeError: Error | undefined;
  /** Called for each decoded message, after it is recorded: the script's reactions go here. */
  onMessage: ((m: WireMessage) => void) | undefined;
  readonly #decoder: FrameDecoder;
  readonly #t0 = performance.now();
  readonly #waiters = new Set<() => void>();
  #isClosed = false;
  #localPort = 0;
  #sentExtendedHandshake = false;

  constructor(socket: Socket, init: ScriptedPeerInit) {
    this.socket = socket;
    this.init = init;
    this.peerId = init.peerId ?? scriptedPeerId();
    this.#decoder = new FrameDecoder({
      handshake: true,
      ...(init.pieceCount !== undefined ? { pieceCount: init.pieceCount } : {}),
    });
    socket.setNoDelay(true);
    // Kept: a destroyed socket forgets its address.
    this.#localPort = socket.localPort ?? 0;
    socket.once('connect', () => {
      this.#localPort = socket.localPort ?? 0;
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // Resets from the node are an expected way to be dropped, not a test failure.
    socket.on('error', () => {});
    this.closed = new Promise<CloseInfo>((resolve) => {
      socket.once('close', (hadError) => {
        this.#isClosed = true;
        resolve({ afterMs: performance.now() - this.#t0, bytesReceived: this.bytesReceived, hadError });
        this.#wake();
      });
    });
  }

  /**
   * Dials `host:port` and resolves once the TCP connection is up (nothing is sent yet).
   * `localAddress` binds our end (e.g. 127.0.0.2: the node blames by IP address, so a hostile
   * peer must not share the honest peers' address).
   */
  static dial(
    host: string,
    port: number,
    init: ScriptedPeerInit,
    localAddress?: string,
  ): Promise<ScriptedPeer> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ host, port, ...(localAddress !== undefined ? { localAddress } : {}) });
      const peer = new ScriptedPeer(socket, init);
      const onError = (e: Error) => reject(e);
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(peer);
      });
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Our local TCP port (the node sees us as `host:localPort`). */
  get localPort(): number {
    return this.#localPort;
  }

  /** The node's handshake, once received. */
  get remoteHandshake(): Handshake | undefined {
    const first = this.messages[0];
    return first?.type === 'handshake' ? first : undefined;
  }

  /** Sends our handshake; `infoHash` overrides the init one (to lie about it). */
  sendHandshake(infoHash: Uint8Array = this.init.infoHash): void {
    this.sendRaw(
      encodeHandshake({
        infoHash,
        peerId: this.peerId,
        reserved: this.init.reserved ?? makeReserved({ fast: true, extended: true }),
      }),
    );
  }

  /** Encodes and sends one message. */
  send(msg: EncodableMessage): void {
    this.sendRaw(encodeMessage(msg));
  }

  /** Sends raw bytes; false when the socket is gone or its buffer is full. */
  sendRaw(bytes: Uint8Array): boolean {
    if (this.#isClosed || this.socket.destroyed) return false;
    return this.socket.write(bytes);
  }

  /**
   * Resolves with the first received message (from index `from`) that matches `pred`; rejects
   * when the socket closes first, the node's bytes fail to decode, or after `timeoutMs`.
   */
  waitFor(pred: (m: WireMessage) => boolean, timeoutMs: number, from = 0): Promise<WireMessage> {
    return new Promise((resolve, reject) => {
      let i = from;
      const check = (): boolean => {
        for (; i < this.messages.length; i++) {
          const m = this.messages[i]!;
          if (pred(m)) {
            done();
            resolve(m);
            return true;
          }
        }
        if (this.decodeError !== undefined) {
          done();
          reject(this.decodeError);
          return true;
        }
        if (this.#isClosed) {
          done();
          reject(new Error(`connection closed before the awaited message (got ${this.describe()})`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a message (got ${this.describe()})`));
      }, timeoutMs);
      const waiter = () => {
        check();
      };
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      if (!check()) this.#waiters.add(waiter);
    });
  }

  /**
   * A barrier: resolves once the node has processed everything sent before it. Sends (once) a
   * BEP 10 extended handshake offering `ut_metadata`, then a BEP 9 request for metadata piece 0,
   * and waits for the node's answer — the node handles a connection's messages in order, and
   * this exchange changes no protocol state (choking, interest, requests).
   */
  async roundTrip(timeoutMs: number): Promise<void> {
    const hs = await this.waitFor(
      (m) => m.type === 'extended' && m.extId === EXTENDED_HANDSHAKE_ID,
      timeoutMs,
    );
    if (hs.type !== 'extended') throw new Error('unreachable');
    const theirs = decodeExtendedHandshake(hs.payload).extensions.get(ExtensionName.UtMetadata);
    if (theirs === undefined || theirs === 0) throw new Error('the node does not offer ut_metadata');
    if (!this.#sentExtendedHandshake) {
      this.#sentExtendedHandshake = true;
      this.send({
        type: 'extended',
        extId: EXTENDED_HANDSHAKE_ID,
        payload: encodeExtendedHandshake({
          extensions: new Map([[ExtensionName.UtMetadata, ROUND_TRIP_EXT_ID]]),
        }),
      });
    }
    const from = this.messages.length;
    this.send({ type: 'extended', extId: theirs, payload: encodeUtMetadata({ type: 'request', piece: 0 }) });
    await this.waitFor((m) => m.type === 'extended' && m.extId === ROUND_TRIP_EXT_ID, timeoutMs, from);
  }

  /** Resolves with the node's handshake. */
  async handshake(timeoutMs: number): Promise<Handshake> {
    const m = await this.waitFor((x) => x.type === 'handshake', timeoutMs);
    if (m.type !== 'handshake') throw new Error('unreachable');
    return m;
  }

  /** Resolves when the node closed the connection; rejects after `timeoutMs`. */
  whenClosed(timeoutMs: number): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`connection still open after ${timeoutMs} ms (got ${this.describe()})`)),
        timeoutMs,
      );
    });
    return Promise.race([this.closed, timeout]).finally(() => clearTimeout(timer));
  }

  /** Counts received messages of a type. */
  count(type: WireMessage['type']): number {
    return this.messages.reduce((n, m) => n + (m.type === type ? 1 : 0), 0);
  }

  /** A short summary of what was received, for failure messages. */
  describe(): string {
    const counts = new Map<string, number>();
    for (const m of this.messages) counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
    const list = [...counts].map(([t, n]) => `${t}×${n}`).join(', ');
    return `${this.bytesReceived} bytes: ${list || 'no messages'}${this.decodeError ? `; decode error ${this.decodeError.message}` : ''}`;
  }

  /** Destroys the socket (idempotent). */
  close(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    if (this.decodeError !== undefined) return;
    try {
      // The decoder keeps views of the chunk; Node hands out a fresh buffer per 'data' event.
      for (const m of this.#decoder.push(chunk)) {
        this.messages.push(m);
        this.onMessage?.(m);
      }
    } catch (e) {
      this.decodeError = e instanceof Error ? e : new Error(String(e));
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/**
 * A listening scripted peer: every connection the node makes to it becomes a
 * {@link ScriptedPeer} handed to `onPeer`, which scripts it.
 */
export class ScriptedServer {
  readonly server: Server;
  readonly peers: ScriptedPeer[] = [];
  readonly #onPeer: (peer: ScriptedPeer) => void;
  readonly #init: ScriptedPeerInit;
  readonly #waiters = new Set<() => void>();

  private constructor(init: ScriptedPeerInit, onPeer: (peer: ScriptedPeer) => void) {
    this.#init = init;
    this.#onPeer = onPeer;
    this.server = createServer((socket) => {
      const peer = new ScriptedPeer(socket, init);
      this.peers.push(peer);
      for (const w of [...this.#waiters]) w();
      this.#onPeer(peer);
    });
  }

  /** Listens on `host` (port 0) and resolves once bound. */
  static async listen(
    host: string,
    init: ScriptedPeerInit,
    onPeer: (peer: ScriptedPeer) => void,
  ): Promise<ScriptedServer> {
    const s = new ScriptedServer(init, onPeer);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(0, host, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    return s;
  }

  get info(): ScriptedPeerInit {
    return this.#init;
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** Resolves with the `n`-th accepted connection (1-based); rejects after `timeoutMs`. */
  nthPeer(n: number, timeoutMs: number): Promise<ScriptedPeer> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const p = this.peers[n - 1];
        if (p === undefined) return false;
        done();
        resolve(p);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no connection #${n} within ${timeoutMs} ms (${this.peers.length} so far)`));
      }, timeoutMs);
      const waiter = () => {
        check();
      };
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      if (!check()) this.#waiters.add(waiter);
    });
  }

  /** Stops listening and destroys every accepted connection. */
  async close(): Promise<void> {
    for (const p of this.peers) p.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Settles `p` or rejects after `ms` with `what` in the message: every wait in these tests is
 * bounded.
 */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
