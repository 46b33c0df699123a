/**
 * The BEP 5 operations of a DHT runtime: `get_peers` lookups, announces and pings, run on the
 * runtime's families (src/discovery/dht-runtime.ts checks its state and waits for the bootstrap
 * hand-over, then calls these; BEP 44 gets and puts are in src/discovery/dht-items.ts).
 *
 * DEV DOCS
 * - A lookup or an announce starts one node operation per family, registers its callbacks with
 *   the family (which routes the node's events to them by operation id) and flushes the queued
 *   datagrams. It ends when every family's operation has finished.
 * - Aborting the signal, closing the runtime (the family calls `abort` with `DhtClosed`) or
 *   leaving the loop early cancels the node operations that have not finished.
 */
import type { Address } from '../dht/index.js';
import { DhtError } from '../dht/index.js';
import { ErrorCode } from '../shared/errors.js';
import { Channel } from './dht-channel.js';
import type { DhtFamily } from './dht-family.js';
import type { DhtAnnounceResult, DhtLookupProgress, DhtPingResult } from './dht-types.js';

/**
 * A `get_peers` lookup for `infoHash` on every family in `families`: yields `peers` batches as
 * nodes answer, one `finished` per family, then ends.
 */
export async function* runGetPeers(
  families: readonly DhtFamily[],
  infoHash: Uint8Array,
  signal: AbortSignal | undefined,
): AsyncGenerator<DhtLookupProgress> {
  const ch = new Channel<DhtLookupProgress>();
  const started: { f: DhtFamily; id: number }[] = [];
  let running = 0;
  const onAbort = () => ch.fail(signal?.reason);
  try {
    for (const f of families) {
      const id = f.node.getPeers(infoHash, performance.now());
      running++;
      started.push({ f, id });
      f.register(id, {
        onPeers: (peers) => ch.push({ type: 'peers', family: f.family, peers }),
        onFinished: (e) => {
          ch.push({
            type: 'finished',
            family: f.family,
            peersFound: e.peersFound,
            queries: e.queries,
            responses: e.responses,
          });
          if (--running === 0) ch.end();
        },
        abort: (err) => ch.fail(err),
      });
    }
    for (const { f } of started) f.flush();
    signal?.addEventListener('abort', onAbort, { once: true });
    yield* ch;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const { f, id } of started) {
      if (f.unregister(id)) f.node.cancel(id);
    }
  }
}

/**
 * A `get_peers` lookup, then `announce_peer` to the closest nodes that gave a token, on every
 * family in `families`. Resolves with the nodes announced to and the peers found on the way.
 */
export async function runAnnounce(
  families: readonly DhtFamily[],
  infoHash: Uint8Array,
  port: number,
  impliedPort: boolean,
  signal: AbortSignal | undefined,
): Promise<DhtAnnounceResult> {
  const started: { f: DhtFamily; id: number }[] = [];
  const peers: Address[] = [];
  let announcedTo = 0;
  let queries = 0;
  let onAbort = () => {};
  try {
    return await new Promise<DhtAnnounceResult>((resolve, reject) => {
      let running = 0;
      onAbort = () => reject(signal?.reason);
      for (const f of families) {
        const id = f.node.announce(infoHash, port, performance.now(), { impliedPort });
        running++;
        started.push({ f, id });
        f.register(id, {
          onPeers: (p) => peers.push(...p),
          onFinished: (e) => {
            announcedTo += e.announcedTo;
            queries += e.queries;
            if (--running === 0) resolve({ announcedTo, peers, queries });
          },
          abort: reject,
        });
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      for (const { f } of started) f.flush();
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const { f, id } of started) {
      if (f.unregister(id)) f.node.cancel(id);
    }
  }
}

/** A BEP 5 `ping` of `to` on family `f`; `label` names the node in the timeout error. */
export async function runPing(
  f: DhtFamily,
  to: Address,
  label: string,
  signal: AbortSignal | undefined,
): Promise<DhtPingResult> {
  const pingId = f.node.ping(to, performance.now());
  let onAbort = () => {};
  try {
    return await new Promise<DhtPingResult>((resolve, reject) => {
      onAbort = () => reject(signal?.reason);
      f.register(-pingId, {
        onPing: (e) => {
          if (e.ok && e.id !== undefined)
            resolve({ host: e.to.host, port: e.to.port, id: e.id, rttMs: e.rttMs });
          else reject(new DhtError(ErrorCode.DhtTimeout, `${label} did not answer the ping`));
        },
        abort: reject,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      f.flush();
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    f.unregister(-pingId);
  }
}
