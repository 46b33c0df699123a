/**
 * A virtual network for uTP endpoints on a {@link FakeClock}: seeded loss, duplication, latency
 * jitter (which reorders), an optional bottleneck link (a rate and a bounded queue, so queuing
 * delay builds up as on a real uplink) and a path MTU that drops oversized probes. Each
 * endpoint's timer is armed from `nextDeadline()` and `flush()` runs after every input, exactly
 * as the UDP runtime does, so the code under simulation is the code that runs for real.
 */
import { type UtpConnection, UtpEndpoint, type UtpEndpointOptions } from '../utp/index.js';
import { FakeClock } from './fake-clock.js';
import { SeededRandom } from './sim-network.js';

/** Properties of the simulated path (the same both ways). */
export interface UtpLinkOptions {
  readonly seed: number;
  /** Probability that a datagram is lost. @default 0 */
  readonly lossRate?: number;
  /** Probability that a datagram is delivered twice. @default 0 */
  readonly duplicateRate?: number;
  /** One-way propagation delay range, in ms; a spread reorders packets. @default [10, 10] */
  readonly latencyMs?: readonly [number, number];
  /** Bottleneck rate, in bytes per ms (undefined: infinitely fast). */
  readonly rateBytesPerMs?: number;
  /** Most queuing delay the bottleneck holds before it drops, in ms. @default 500 */
  readonly maxQueueMs?: number;
  /** Largest datagram the path carries unfragmented; larger probes are dropped. @default 1472 */
  readonly pathMtuBytes?: number;
}

/** Counters of a {@link UtpSimNetwork}. */
export interface UtpSimStats {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  queueDrops: number;
  probeDrops: number;
  bytes: number;
}

interface Node {
  readonly host: string;
  readonly endpoint: UtpEndpoint;
  timerAt: number | undefined;
  /** Time the host's outgoing bottleneck is busy until, in ms. */
  linkFreeAt: number;
}

/** Two or more uTP endpoints on one simulated network. */
export class UtpSimNetwork {
  readonly clock: FakeClock;
  readonly random: SeededRandom;
  readonly stats: UtpSimStats = {
    sent: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    queueDrops: 0,
    probeDrops: 0,
    bytes: 0,
  };
  readonly #link: UtpLinkOptions;
  readonly #nodes = new Map<string, Node>();
  readonly #scratch = new Uint8Array(70_000);

  constructor(link: UtpLinkOptions, clock = new FakeClock(1_000_000)) {
    this.clock = clock;
    this.#link = link;
    this.random = new SeededRandom(link.seed);
  }

  get now(): number {
    return this.clock.now;
  }

  /** Adds an endpoint at `host` (port 6881); `onAccept` receives its accepted connections. */
  addEndpoint(
    host: string,
    opts: UtpEndpointOptions = {},
    onAccept?: (c: UtpConnection) => void,
  ): UtpEndpoint {
    const rnd = new SeededRandom(this.random.u32());
    let node: Node | undefined;
    const endpoint = new UtpEndpoint(
      {
        random: rnd,
        output: {
          acquire: () => this.#scratch,
          send: (buf, len, to, _port, probe) => this.#transmit(node!, to, buf.slice(0, len), probe),
        },
        ...(onAccept === undefined ? {} : { onAccept: (c: UtpConnection) => onAccept(c) }),
      },
      opts,
    );
    node = { host, endpoint, timerAt: undefined, linkFreeAt: 0 };
    this.#nodes.set(host, node);
    return endpoint;
  }

  /** Flushes `host`'s endpoint and re-arms its timer; call after driving it from outside. */
  settle(host: string): void {
    const n = this.#nodes.get(host);
    if (n !== undefined) this.#after(n);
  }

  #after(n: Node): void {
    n.endpoint.flush(this.clock.now);
    const d = n.endpoint.nextDeadline();
    if (d === undefined || (n.timerAt !== undefined && n.timerAt <= d && n.timerAt >= this.clock.now)) return;
    n.timerAt = d;
    this.clock.schedule(d, () => {
      if (n.timerAt !== d) return;
      n.timerAt = undefined;
      n.endpoint.tick(this.clock.now);
      this.#after(n);
    });
  }

  #transmit(from: Node, to: string, bytes: Uint8Array, probe: boolean): void {
    const l = this.#link;
    this.stats.sent++;
    this.stats.bytes += bytes.length;
    if (probe && bytes.length > (l.pathMtuBytes ?? 1472)) {
      this.stats.probeDrops++;
      return;
    }
    let departAt = this.clock.now;
    if (l.rateBytesPerMs !== undefined) {
      const start = Math.max(this.clock.now, from.linkFreeAt);
      if (start - this.clock.now > (l.maxQueueMs ?? 500)) {
        this.stats.queueDrops++;
        return;
      }
      from.linkFreeAt = start + bytes.length / l.rateBytesPerMs;
      departAt = from.linkFreeAt;
    }
    if ((l.lossRate ?? 0) > 0 && this.random.float() < l.lossRate!) {
      this.stats.lost++;
      return;
    }
    const copies = (l.duplicateRate ?? 0) > 0 && this.random.float() < l.duplicateRate! ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    const [lo, hi] = l.latencyMs ?? [10, 10];
    for (let k = 0; k < copies; k++) {
      const at = departAt + lo + this.random.float() * (hi - lo);
      this.clock.schedule(at, () => {
        const dst = this.#nodes.get(to);
        if (dst === undefined) return;
        this.stats.delivered++;
        dst.endpoint.onDatagram(bytes, from.host, 6881, this.clock.now);
        this.#after(dst);
      });
    }
  }
}
