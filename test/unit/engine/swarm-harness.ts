/**
 * An in-memory swarm of pure {@link TorrentEngine}s: a tiny message router with a fake clock, no
 * sockets and no timers. Each node plays the runtime for its engine — it routes `send` actions to
 * the other node after a latency, serves `read-block` from the payload (serialised through the
 * node's upload rate), buffers `write-block`s, verifies `piece-complete` pieces with SHA-1 against
 * the expected hashes, and honours `close` / `ban`. Links are FIFO like TCP.
 *
 * Reusable by the swarm-efficiency work: nodes may be corrupt (serve garbage), free riders
 * (never serve) or rate-limited, and join at any time.
 */
import {
  type EngineAction,
  type PeerKey,
  SeededRandom,
  TorrentEngine,
  type TorrentEngineOptions,
  uniformLayout,
} from '../../../src/engine/index.js';
import { bytesEqual, sha1 } from '../../../src/shared/hash.js';
import type { EncodableMessage, WireMessage } from '../../../src/wire/index.js';

export interface SwarmNodeSpec {
  readonly name: string;
  /** A seed starts with every piece. */
  readonly role: 'seed' | 'leech';
  /** Serves corrupted data (every byte inverted). */
  readonly corrupt?: boolean;
  /** Never answers requests (a free rider). */
  readonly freeRider?: boolean;
  /** BEP 6 fast extension. @default true */
  readonly fast?: boolean;
  /** Upload capacity, bytes/s. @default Infinity */
  readonly uploadBytesPerSec?: number;
  readonly options?: TorrentEngineOptions;
}

export interface SwarmOptions {
  readonly payloadBytes: number;
  readonly pieceLength: number;
  readonly seed: number;
  /** One-way latency of every link, ms. @default 10 */
  readonly latencyMs?: number;
  /**
   * Move real bytes and verify pieces with SHA-1 (true), or, for large simulations, send a shared
   * zero buffer and verify a piece by whether a corrupt node contributed to it (false).
   * @default true
   */
  readonly realData?: boolean;
}

type SwarmEvent =
  | { kind: 'msg'; from: string; to: string; msg: WireMessage }
  | { kind: 'tick'; node: string }
  | { kind: 'verify'; node: string; index: number; ok: boolean }
  | { kind: 'sent'; node: string; peer: PeerKey; piece: number; offset: number; length: number }
  | { kind: 'gone'; node: string; peer: PeerKey };

interface Scheduled {
  at: number;
  seq: number;
  ev: SwarmEvent;
}

export class SwarmNode {
  readonly spec: SwarmNodeSpec;
  readonly engine: TorrentEngine;
  /** Verified bytes of the payload (zeros where not verified). */
  readonly data: Uint8Array;
  readonly #buffers = new Map<number, Uint8Array>();
  doneAt: number | undefined;
  readonly bans: PeerKey[] = [];
  readonly closes: { peer: PeerKey; reason: string }[] = [];
  readonly events: EngineAction[] = [];
  uploadBusyUntil = 0;
  tickAt: number | undefined;
  /** Payload bytes this node served. */
  servedBytes = 0;

  constructor(spec: SwarmNodeSpec, engine: TorrentEngine, payloadBytes: number) {
    this.spec = spec;
    this.engine = engine;
    this.data = new Uint8Array(payloadBytes);
  }

  get name(): string {
    return this.spec.name;
  }

  /** @internal */
  buffer(piece: number, size: number): Uint8Array {
    let b = this.#buffers.get(piece);
    if (b === undefined) {
      b = new Uint8Array(size);
      this.#buffers.set(piece, b);
    }
    return b;
  }

  /** @internal */
  dropBuffer(piece: number): void {
    this.#buffers.delete(piece);
  }
}

/** The swarm: nodes, links and the event queue. */
export class EngineSwarm {
  readonly payload: Uint8Array;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly #hashes: Uint8Array[];
  readonly #latency: number;
  readonly #nodes = new Map<string, SwarmNode>();
  /** `from>to` → time of the last delivery scheduled on that link (FIFO). */
  readonly #links = new Map<string, number>();
  readonly #queue: Scheduled[] = [];
  readonly #seed: number;
  readonly #realData: boolean;
  readonly #zeros = new Uint8Array(16 * 1024);
  /** `node:piece` → a corrupt node wrote a block of it (realData false). */
  readonly #tainted = new Set<string>();
  #seq = 0;
  now = 0;
  steps = 0;

  constructor(o: SwarmOptions) {
    this.#realData = o.realData ?? true;
    this.payload = this.#realData
      ? new SeededRandom(o.seed).bytes(o.payloadBytes)
      : new Uint8Array(o.payloadBytes);
    this.pieceLength = o.pieceLength;
    this.pieceCount = Math.ceil(o.payloadBytes / o.pieceLength);
    this.#hashes = [];
    if (this.#realData) for (let i = 0; i < this.pieceCount; i++) this.#hashes.push(sha1(this.#piece(i)));
    this.#latency = o.latencyMs ?? 10;
    this.#seed = o.seed;
  }

  node(name: string): SwarmNode {
    const n = this.#nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  nodes(): SwarmNode[] {
    return [...this.#nodes.values()];
  }

  /** Adds a node (not connected yet). */
  add(spec: SwarmNodeSpec): SwarmNode {
    const index = this.#nodes.size;
    const engine = new TorrentEngine({
      infoHash: sha1(new TextEncoder().encode(`swarm-${this.#seed}`)),
      layout: { ...uniformLayout(this.payload.length, this.pieceLength), pieceLength: this.pieceLength },
      random: new SeededRandom(this.#seed * 1000 + index + 1),
      now: this.now,
      ...(spec.options === undefined ? {} : { options: spec.options }),
    });
    const node = new SwarmNode(spec, engine, this.#realData ? this.payload.length : 0);
    this.#nodes.set(spec.name, node);
    if (spec.role === 'seed') {
      if (this.#realData) node.data.set(this.payload);
      this.#run(
        node,
        engine.setHave(
          Array.from({ length: this.pieceCount }, (_, i) => i),
          this.now,
        ),
      );
    }
    this.#schedTick(node);
    return node;
  }

  /** Connects two nodes (both ends get `addPeer`). */
  connect(a: string, b: string): void {
    const na = this.node(a);
    const nb = this.node(b);
    if (this.#links.has(`${a}>${b}`)) return;
    this.#links.set(`${a}>${b}`, this.now);
    this.#links.set(`${b}>${a}`, this.now);
    const fast = (na.spec.fast ?? true) && (nb.spec.fast ?? true);
    const ip = (n: number) => new Uint8Array([10, 0, n, 1]);
    const ia = [...this.#nodes.keys()].indexOf(a);
    const ib = [...this.#nodes.keys()].indexOf(b);
    this.#run(
      na,
      na.engine.addPeer(b, { supportsFast: fast, supportsExtensions: false, ip: ip(ib) }, this.now),
    );
    this.#run(
      nb,
      nb.engine.addPeer(a, { supportsFast: fast, supportsExtensions: false, ip: ip(ia) }, this.now),
    );
  }

  /** Connects every pair of nodes. */
  connectAll(): void {
    const names = [...this.#nodes.keys()];
    for (let i = 0; i < names.length; i++)
      for (let j = i + 1; j < names.length; j++) this.connect(names[i]!, names[j]!);
  }

  /** Runs events until `done()` holds, the queue empties, or `maxMs` of simulated time pass. */
  runUntil(done: () => boolean, maxMs: number, maxSteps = 2_000_000): boolean {
    const end = this.now + maxMs;
    while (!done()) {
      const next = this.#pop();
      if (next === undefined || next.at > end || this.steps++ > maxSteps) return false;
      this.now = Math.max(this.now, next.at);
      this.#dispatch(next.ev);
    }
    return true;
  }

  /** True when `name` verified every piece and (with real data) its data equals the payload. */
  hasPayload(name: string): boolean {
    const n = this.node(name);
    return n.engine.isComplete && (!this.#realData || bytesEqual(n.data, this.payload));
  }

  #piece(i: number): Uint8Array {
    return this.payload.subarray(
      i * this.pieceLength,
      Math.min(this.payload.length, (i + 1) * this.pieceLength),
    );
  }

  #dispatch(ev: SwarmEvent): void {
    const node = this.#nodes.get(ev.kind === 'msg' ? ev.to : ev.node);
    if (node === undefined) return;
    const e = node.engine;
    switch (ev.kind) {
      case 'msg':
        if (!this.#links.has(`${ev.from}>${ev.to}`)) return;
        this.#run(node, e.onMessage(ev.from, ev.msg, this.now));
        break;
      case 'tick':
        if (node.tickAt !== this.now) return;
        node.tickAt = undefined;
        this.#run(node, e.tick(this.now));
        break;
      case 'verify':
        this.#run(node, e.onPieceVerified(ev.index, ev.ok, this.now));
        break;
      case 'sent':
        this.#run(
          node,
          e.onBlockSent(ev.peer, { piece: ev.piece, offset: ev.offset, length: ev.length }, this.now),
        );
        break;
      case 'gone':
        this.#run(node, e.removePeer(ev.peer, this.now));
        break;
    }
  }

  /** Carries out a node's actions, as the session runtime would. */
  #run(node: SwarmNode, actions: EngineAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.#deliver(node.name, a.peer, a.msg, this.now);
          break;
        case 'read-block': {
          if (node.spec.freeRider === true) break;
          const start = a.piece * this.pieceLength + a.offset;
          let block = this.#zeros.subarray(0, a.length);
          if (this.#realData) {
            block = this.payload.slice(start, start + a.length);
            if (node.spec.corrupt === true)
              for (let i = 0; i < block.length; i++) block[i] = block[i]! ^ 0xff;
          }
          const rate = node.spec.uploadBytesPerSec ?? Number.POSITIVE_INFINITY;
          const begin = Math.max(this.now, node.uploadBusyUntil);
          const finish = begin + (a.length * 1000) / rate;
          node.uploadBusyUntil = finish;
          node.servedBytes += a.length;
          this.#deliver(node.name, a.peer, { type: 'piece', index: a.piece, begin: a.offset, block }, finish);
          this.#push(finish, {
            kind: 'sent',
            node: node.name,
            peer: a.peer,
            piece: a.piece,
            offset: a.offset,
            length: a.length,
          });
          break;
        }
        case 'write-block': {
          if (!this.#realData) {
            if (this.node(a.peer).spec.corrupt === true) this.#tainted.add(`${node.name}:${a.piece}`);
            break;
          }
          const size = Math.min(this.pieceLength, this.payload.length - a.piece * this.pieceLength);
          node.buffer(a.piece, size).set(a.data, a.offset);
          break;
        }
        case 'piece-complete': {
          if (!this.#realData) {
            const ok = !this.#tainted.delete(`${node.name}:${a.index}`);
            this.#push(this.now, { kind: 'verify', node: node.name, index: a.index, ok });
            break;
          }
          const size = Math.min(this.pieceLength, this.payload.length - a.index * this.pieceLength);
          const buf = node.buffer(a.index, size);
          const ok = bytesEqual(sha1(buf), this.#hashes[a.index]!);
          if (ok) node.data.set(buf, a.index * this.pieceLength);
          node.dropBuffer(a.index);
          this.#push(this.now, { kind: 'verify', node: node.name, index: a.index, ok });
          break;
        }
        case 'close':
        case 'ban': {
          // Harness nodes are named by key; a ban names the blame id, which defaults to the key.
          const peer = a.type === 'ban' ? a.address : a.peer;
          if (a.type === 'ban') node.bans.push(peer);
          else node.closes.push({ peer, reason: a.reason });
          this.#links.delete(`${node.name}>${peer}`);
          this.#links.delete(`${peer}>${node.name}`);
          this.#push(this.now + this.#latency, { kind: 'gone', node: peer, peer: node.name });
          break;
        }
        case 'done':
          node.doneAt ??= this.now;
          break;
        case 'event':
          node.events.push(a);
          break;
      }
    }
    this.#schedTick(node);
  }

  #deliver(from: string, to: string, msg: EncodableMessage, at: number): void {
    const link = `${from}>${to}`;
    const last = this.#links.get(link);
    if (last === undefined) return;
    const when = Math.max(at + this.#latency, last);
    this.#links.set(link, when);
    this.#push(when, { kind: 'msg', from, to, msg: msg as WireMessage });
  }

  #schedTick(node: SwarmNode): void {
    const d = node.engine.nextDeadline();
    if (d === undefined) return;
    const at = Math.max(d, this.now);
    if (node.tickAt !== undefined && node.tickAt <= at) return;
    node.tickAt = at;
    this.#push(at, { kind: 'tick', node: node.name });
  }

  // A binary min-heap on (at, seq).
  #push(at: number, ev: SwarmEvent): void {
    const q = this.#queue;
    q.push({ at, seq: this.#seq++, ev });
    let i = q.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(q[i]!, q[parent]!)) break;
      [q[i], q[parent]] = [q[parent]!, q[i]!];
      i = parent;
    }
  }

  #pop(): Scheduled | undefined {
    const q = this.#queue;
    const top = q[0];
    const last = q.pop();
    if (top === undefined || last === undefined || q.length === 0) return top;
    q[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < q.length && before(q[l]!, q[m]!)) m = l;
      if (r < q.length && before(q[r]!, q[m]!)) m = r;
      if (m === i) break;
      [q[i], q[m]] = [q[m]!, q[i]!];
      i = m;
    }
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
