/**
 * A UDP relay for impairment tests (this kernel has no netem): every datagram between one client
 * and a target (on 127.0.0.1 unless `targetHost` says otherwise) is held for a random time in [minDelayMs, maxDelayMs] (so datagrams
 * overtake each other: reordering) and sent twice with probability `duplicate`. The client is
 * whoever sent first from an address other than the target's.
 */
import { createSocket, type Socket } from 'node:dgram';
import { SeededRandom } from '../../src/testing/sim-network.js';

export interface RelayOptions {
  readonly targetPort: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Probability that a datagram is sent twice (each copy with its own delay). */
  readonly duplicate: number;
  readonly seed: number;
  /** Address of the target. @default '127.0.0.1' */
  readonly targetHost?: string;
  /** Address to bind. @default '127.0.0.1' */
  readonly bindHost?: string;
  /** Port to bind (0: any). @default 0 */
  readonly bindPort?: number;
}

export class UdpRelay {
  readonly counts = { forwarded: 0, duplicated: 0 };
  readonly #socket: Socket = createSocket('udp4');
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #random: SeededRandom;
  #clientPort = -1;
  #clientHost = '';

  constructor(readonly options: RelayOptions) {
    this.#random = new SeededRandom(options.seed);
  }

  /** Binds (on 127.0.0.1 by default); resolves with the port to dial instead of the target's. */
  async start(): Promise<number> {
    const o = this.options;
    const targetHost = o.targetHost ?? '127.0.0.1';
    this.#socket.on('message', (msg, from) => {
      const toTarget = from.port !== o.targetPort || from.address !== targetHost;
      if (toTarget) {
        this.#clientPort = from.port;
        this.#clientHost = from.address;
      } else if (this.#clientPort < 0) return;
      const copies = this.#random.float() < o.duplicate ? 2 : 1;
      if (copies === 2) this.counts.duplicated++;
      for (let i = 0; i < copies; i++) {
        const wait = o.minDelayMs + this.#random.float() * (o.maxDelayMs - o.minDelayMs);
        const t = setTimeout(() => {
          this.#timers.delete(t);
          this.counts.forwarded++;
          if (toTarget) this.#socket.send(msg, o.targetPort, targetHost);
          else this.#socket.send(msg, this.#clientPort, this.#clientHost);
        }, wait);
        this.#timers.add(t);
      }
    });
    await new Promise<void>((r) => this.#socket.bind(o.bindPort ?? 0, o.bindHost ?? '127.0.0.1', r));
    return this.#socket.address().port;
  }

  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#socket.close();
  }
}
