/**
 * A scripted Bitcoin peer for the light node's tests: a TCP listener on a loopback address
 * (127.0.0.x, so bans by address hit only it) that the node dials. It speaks the P2P protocol
 * through Shoal's own pure encoders and frame decoder, answers the node from a fixture chain
 * (`btc-chain.ts`) like an honest full node serving BIP 157 filters, and lets a test replace any
 * answer ({@link ScriptedBtcPeerOptions.override}) or write raw bytes — a hostile peer.
 *
 * Every socket is closed in {@link ScriptedBtcPeer.close}; waits are bounded and event-driven.
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  BITCOIN_REGTEST,
  BtcFrameDecoder,
  type BtcMessage,
  CFCHECKPT_INTERVAL,
  encodeMessage,
  InvType,
  PROTOCOL_VERSION,
  ServiceFlags,
} from '../../src/bitcoin/index.js';
import { bytesEqual } from '../../src/shared/hash.js';
import type { ChainBlock } from './btc-chain.js';

const MAGIC = BITCOIN_REGTEST.magic;
const ZERO = new Uint8Array(32);

/** One connection from the node. */
export class ScriptedConn {
  readonly socket: Socket;
  readonly received: BtcMessage[] = [];
  readonly #decoder = new BtcFrameDecoder({ magic: MAGIC });
  readonly #waiters = new Set<() => void>();
  closed = false;
  readonly closedPromise: Promise<void>;

  constructor(socket: Socket, onMessage: (c: ScriptedConn, m: BtcMessage) => void) {
    this.socket = socket;
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        for (const w of this.#waiters) w();
        resolve();
      });
    });
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      let msgs: BtcMessage[];
      try {
        msgs = this.#decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const m of msgs) {
        this.received.push(m);
        onMessage(this, m);
      }
      for (const w of this.#waiters) w();
    });
  }

  send(m: BtcMessage): void {
    if (!this.closed) this.socket.write(encodeMessage(MAGIC, m));
  }

  raw(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes);
  }

  /** Resolves once a received message satisfies `pick` (or rejects after `ms`, or on close). */
  async waitFor(pick: (m: BtcMessage) => boolean, ms = 20_000): Promise<BtcMessage> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.received.find(pick);
      if (m !== undefined) return m;
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.#waiters.add(done);
      }).finally(() => this.#waiters.clear());
    }
  }
}

export interface ScriptedBtcPeerOptions {
  /** Loopback address to listen on (127.0.0.x). */
  readonly host: string;
  /** The chain served. */
  readonly chain: readonly ChainBlock[];
  /** Service bits of our `version`. @default network, witness, compact filters */
  readonly services?: bigint;
  /**
   * Replaces the honest answer to a message after the handshake: return the messages (or raw
   * byte strings) to send instead, or undefined to answer honestly.
   */
  readonly override?: (m: BtcMessage, c: ScriptedConn) => (BtcMessage | Uint8Array)[] | undefined;
  /** Runs once the handshake completed. */
  readonly onReady?: (c: ScriptedConn) => void;
}

/** See the module notes. */
export class ScriptedBtcPeer {
  readonly options: ScriptedBtcPeerOptions;
  readonly conns: ScriptedConn[] = [];
  #server: Server | undefined;
  port = 0;

  constructor(options: ScriptedBtcPeerOptions) {
    this.options = options;
  }

  get endpoint(): string {
    return `${this.options.host}:${this.port}`;
  }

  async listen(): Promise<void> {
    const server = createServer((socket) => {
      this.conns.push(new ScriptedConn(socket, (c, m) => this.#onMessage(c, m)));
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.options.host, () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
  }

  /** Resolves with the first connection, once it exists. */
  async connection(ms = 20_000): Promise<ScriptedConn> {
    const deadline = Date.now() + ms;
    while (this.conns.length === 0) {
      if (Date.now() > deadline) throw new Error(`no connection to ${this.endpoint}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.conns[0]!;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }

  #onMessage(c: ScriptedConn, m: BtcMessage): void {
    const { chain } = this.options;
    if (m.type === 'version') {
      c.send({
        type: 'version',
        version: PROTOCOL_VERSION,
        services:
          this.options.services ?? ServiceFlags.Network | ServiceFlags.Witness | ServiceFlags.CompactFilters,
        timestamp: BigInt(Math.floor(Date.now() / 1000)),
        receiver: { services: 0n, ip: new Uint8Array(16), port: 0 },
        sender: { services: 0n, ip: new Uint8Array(16), port: 0 },
        nonce: 0x1234n + BigInt(this.port),
        userAgent: '/scripted:1.0/',
        startHeight: chain.length - 1,
        relay: true,
      });
      c.send({ type: 'wtxidrelay' });
      c.send({ type: 'sendaddrv2' });
      c.send({ type: 'verack' });
      return;
    }
    if (m.type === 'verack') {
      this.options.onReady?.(c);
      return;
    }
    const replaced = this.options.override?.(m, c);
    if (replaced !== undefined) {
      for (const r of replaced)
        if (r instanceof Uint8Array) c.raw(r);
        else c.send(r);
      return;
    }
    for (const r of honestAnswer(chain, m)) c.send(r);
  }
}

/** What an honest full node serving filters answers. */
export function honestAnswer(chain: readonly ChainBlock[], m: BtcMessage): BtcMessage[] {
  const heightOf = (hash: Uint8Array) => chain.findIndex((b) => bytesEqual(b.hash, hash));
  switch (m.type) {
    case 'ping':
      return [{ type: 'pong', nonce: m.nonce }];
    case 'getheaders': {
      let from = 0;
      for (const l of m.locator) {
        const h = heightOf(l);
        if (h >= 0) {
          from = h;
          break;
        }
      }
      return [{ type: 'headers', headers: chain.slice(from + 1, from + 2001).map((b) => b.header) }];
    }
    case 'getcfcheckpt': {
      const stop = heightOf(m.stopHash);
      const out: Uint8Array[] = [];
      for (let h = CFCHECKPT_INTERVAL; h <= stop; h += CFCHECKPT_INTERVAL) out.push(chain[h]!.filterHeader);
      return [{ type: 'cfcheckpt', filterType: 0, stopHash: m.stopHash, filterHeaders: out }];
    }
    case 'getcfheaders': {
      const stop = heightOf(m.stopHash);
      return [
        {
          type: 'cfheaders',
          filterType: 0,
          stopHash: m.stopHash,
          previousFilterHeader: m.startHeight === 0 ? ZERO : chain[m.startHeight - 1]!.filterHeader,
          filterHashes: chain.slice(m.startHeight, stop + 1).map((b) => b.filterHash),
        },
      ];
    }
    case 'getcfilters': {
      const stop = heightOf(m.stopHash);
      return chain.slice(m.startHeight, stop + 1).map((b) => ({
        type: 'cfilter' as const,
        filterType: 0,
        blockHash: b.hash,
        filter: b.filter,
      }));
    }
    case 'getdata': {
      const out: BtcMessage[] = [];
      for (const item of m.items) {
        const h = heightOf(item.hash);
        if (
          h >= 0 &&
          (item.type === InvType.WitnessBlock ||
            item.type === InvType.Block ||
            item.type === InvType.CompactBlock)
        )
          out.push({ type: 'block', block: chain[h]!.block });
        else out.push({ type: 'notfound', items: [item] });
      }
      return out;
    }
    default:
      return [];
  }
}
