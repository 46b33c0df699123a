/** Small builders for the actions the engine's parts emit (internal to src/engine). */
import type { EncodableMessage } from '../wire/index.js';
import type { EngineAction, PeerKey } from './actions.js';
import type { BlockRef } from './piece-layout.js';

/** A `send` action: `msg` to `peer`. */
export function send(peer: PeerKey, msg: EncodableMessage): EngineAction {
  return { type: 'send', peer, msg };
}

/** The BEP 6 reject of request `r`. */
export function reject(r: BlockRef): EncodableMessage {
  return { type: 'reject-request', index: r.piece, begin: r.offset, length: r.length };
}

/** Exhaustiveness check for switches over a union. */
export function assertNever(x: never): never {
  throw new TypeError(`unhandled case ${JSON.stringify(x)}`);
}
