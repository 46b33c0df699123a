/**
 * A UDP relay for impairment tests (this kernel has no netem): every datagram between one client
 * and a target on 127.0.0.1 is held for a random time in [minDelayMs, maxDelayMs] (so datagrams
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
}

export class UdpRelay {
  readonly counts = { forwarded: 0, duplicated: 0 };
  readonly #socket: Socket = createSocket('udp4');
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #random: SeededRandom;
  #clientPort = -1;

  constructor(readonly options: RelayOptions) {
    this.#random = new SeededRandom(options.seed);
  }

  /** Binds on 127.0.0.1; resolves with the port to dial instead of the target's. */
  async start(): Promise<number> {
    const o = this.options;
    this.#socket.on('message', (msg, from) => {
      const toTarget = from.port !== o.targetPort;
      if (toTarget) this.#clientPort = from.port;
      else if (this.#clientPort < 0) return;
      const copies = this.#random.float() < o.duplicate ? 2 : 1;
      if (copies === 2) this.counts.duplicated++;
      for (let i = 0; i < copies; i++) {
        const wait = o.minDelayMs + this.#random.float() * (o.maxDelayMs - o.minDelayMs);
        const t = setTimeout(() => {
          this.#timers.delete(t);
          this.counts.forwarded++;
          this.#socket.send(msg, toTarget ? o.targetPort : this.#clientPort, '127.0.0.1');
        }, wait);
        this.#timers.add(t);
      }
    });
    await new Promise<void>((r) => this.#socket.bind(0, '127.0.0.1', r));
    return this.#socket.address().port;
  }

  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#socket.close();
  }
}
