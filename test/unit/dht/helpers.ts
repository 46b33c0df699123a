/** Shared helpers for the DHT unit tests: build datagrams, drive one node by hand. */
import {
  type Address,
  DhtNode,
  type DhtNodeInit,
  decodeKrpc,
  encodeKrpc,
  type KrpcMessage,
  type KrpcQuery,
} from '../../../src/dht/index.js';
import { SeededRandom } from '../../../src/testing/sim-network.js';

export const te = (s: string) => new TextEncoder().encode(s);

export function makeNode(init: DhtNodeInit = {}, seed = 1, now = 0): DhtNode {
  return new DhtNode({ random: new SeededRandom(seed) }, { externalIp: '10.0.0.1', ...init }, now);
}

type QueryArgs = { method: KrpcQuery['method'] } & Record<string, unknown>;

/** A query datagram from a remote node. */
export function query(args: QueryArgs, id: Uint8Array, t = te('qq')): Uint8Array {
  return encodeKrpc({ y: 'q', t, id, ...args } as KrpcQuery);
}

/** Delivers a datagram and returns the decoded replies sent back to `from`. */
export function exchange(node: DhtNode, bytes: Uint8Array, from: Address, now: number): KrpcMessage[] {
  node.handleDatagram(bytes, from, now);
  return node
    .takeActions()
    .filter((a) => a.to.host === from.host && a.to.port === from.port)
    .map((a) => decodeKrpc(a.bytes));
}

/** The decoded datagrams a node queued. */
export function sent(node: DhtNode): { to: Address; msg: KrpcMessage; bytes: Uint8Array }[] {
  return node.takeActions().map((a) => ({ to: a.to, msg: decodeKrpc(a.bytes), bytes: a.bytes }));
}

export function id(n: number): Uint8Array {
  const out = new Uint8Array(20);
  out[0] = n >> 8;
  out[1] = n & 0xff;
  out[19] = 0x77;
  return out;
}
