/**
 * A small real DHT on loopback for tests, benchmarks and demos (like hyperdht's `testnet`):
 * `size` {@link DhtRuntime}s on 127.0.0.1 (or ::1), each joining through the first node and a
 * few random earlier ones, then every node joining again once all are up (`refresh()`), so the
 * early nodes learn of the later ones. Nothing here reaches beyond the loopback interface.
 *
 * Every node shares one source IP, so the per-IP query and put rate limits are lifted; table
 * maintenance runs often so fresh entries are confirmed in milliseconds instead of seconds; and
 * loopback answers in microseconds, so a query unanswered for 1 s has failed.
 */
import type { AddressFamily, Random } from '../dht/index.js';
import type { DhtEndpoint } from './dht-bootstrap.js';
import {
  cryptoRandom,
  DhtRuntime,
  type DhtRuntimeNodeOptions,
  type DhtRuntimeOptions,
} from './dht-runtime.js';

/** Node tunables for many nodes behind one loopback address (see the module docs). */
export const LOOPBACK_DHT_NODE_OPTIONS: DhtRuntimeNodeOptions = Object.freeze({
  ratePerIp: 100_000,
  burstPerIp: 100_000,
  rateGlobal: 100_000,
  burstGlobal: 100_000,
  maintenanceIntervalMs: 250,
  queryTimeoutMs: 1_000,
  queryStallMs: 250,
  items: Object.freeze({
    putRatePerIp: 100_000,
    putBurstPerIp: 100_000,
    putRateGlobal: 100_000,
    putBurstGlobal: 100_000,
  }),
});

/** Options of {@link createDhtTestnet}. */
export interface DhtTestnetOptions {
  /** Nodes to start. @default 10 */
  readonly size?: number;
  /** Which loopback to use: 4 = 127.0.0.1, 6 = ::1 (IPv6 DHT only). @default 4 */
  readonly family?: AddressFamily;
  /** Earlier nodes each new node bootstraps through, besides the first node. @default 2 */
  readonly fanout?: number;
  /** Node tunables, merged over {@link LOOPBACK_DHT_NODE_OPTIONS}. */
  readonly node?: DhtRuntimeNodeOptions;
  /** Randomness (node ids and the choice of bootstrap nodes). @default cryptoRandom */
  readonly random?: Random;
  /** Extra runtime options for every node (e.g. `saveIntervalMs`). */
  readonly runtime?: Omit<DhtRuntimeOptions, 'host' | 'host6' | 'bootstrap' | 'node' | 'random'>;
}

/** A running loopback DHT; `close()` closes every node. */
export interface DhtTestnet {
  readonly nodes: readonly DhtRuntime[];
  /** The first node's address: give it to anything that should join (`bootstrap: testnet.bootstrap`). */
  readonly bootstrap: readonly DhtEndpoint[];
  /** Starts one more node (it joins like the others); `extra` overrides its options. */
  add(extra?: DhtRuntimeOptions): Promise<DhtRuntime>;
  close(): Promise<void>;
}

/** Starts a loopback DHT of `size` nodes, one after another, each waiting for its bootstrap. */
export async function createDhtTestnet(opts: DhtTestnetOptions = {}): Promise<DhtTestnet> {
  const family = opts.family ?? 4;
  const loopback = family === 6 ? '::1' : '127.0.0.1';
  const random = opts.random ?? cryptoRandom;
  const fanout = opts.fanout ?? 2;
  const node = { ...LOOPBACK_DHT_NODE_OPTIONS, ...opts.node };
  const nodes: DhtRuntime[] = [];
  const endpoint = (r: DhtRuntime): DhtEndpoint => ({ host: loopback, port: r.port });

  const add = async (extra: DhtRuntimeOptions = {}): Promise<DhtRuntime> => {
    const via: DhtEndpoint[] = [];
    if (nodes.length > 0) via.push(endpoint(nodes[0]!));
    for (let i = 0; i < fanout && nodes.length > 1; i++) {
      const e = endpoint(nodes[1 + random.int(nodes.length - 1)]!);
      if (!via.some((v) => v.port === e.port)) via.push(e);
    }
    const rt = new DhtRuntime({
      ...opts.runtime,
      host: family === 6 ? '127.0.0.1' : loopback,
      host6: family === 6 ? loopback : false,
      bootstrap: via,
      node,
      random,
      ...extra,
    });
    await rt.start();
    nodes.push(rt);
    await rt.bootstrapped();
    return rt;
  };

  try {
    for (let i = 0; i < (opts.size ?? 10); i++) await add();
    // Early nodes joined a nearly empty network: a second pass lets everyone learn of the
    // nodes that came after them.
    for (const n of nodes) await n.refresh();
  } catch (e) {
    await Promise.all(nodes.map((n) => n.close()));
    throw e;
  }
  return {
    nodes,
    get bootstrap() {
      return nodes.length === 0 ? [] : [endpoint(nodes[0]!)];
    },
    add,
    close: async () => {
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
}
