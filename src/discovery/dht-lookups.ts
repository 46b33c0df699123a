/**
 * The BEP 5 operations of a DHT runtime: `get_peers` lookups, announces and pings, run on the
 * runtime's families (src/discovery/dht-runtime.ts checks its state and waits for the bootstrap
 * hand-over, then calls these; BEP 44 gets and puts are in src/discovery/dht-items.ts).
 *
 * DEV DOCS
 * - A lookup or an announce starts one node operation per family, registers its callbacks with
 *   the family (which routes the node's events to them by operation id) and flushes the queued
 *   datagrams. It ends when every family's operation has finished. {@link runOnFamilies} does
 *   this for every operation that ends with `lookup:finished` (announces, refreshes, BEP 44
 *   gets and puts); `get_peers` streams its batches through a channel instead.
 * - Aborting the signal, closing the runtime (the family calls `abort` with `DhtClosed`) or
 *   leaving the loop early cancels the node operations that have not finished.
 */
import { type Address, DhtError, type DhtLookupFinishedEvent, type DhtPutReadyEvent } from '../dht/index.js';
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
  const peers: Address[] = [];
  const finished = await runOnFamilies(
    families,
    (f, now) => f.node.announce(infoHash, port, now, { impliedPort }),
    signal,
    { onPeers: (p) => peers.push(...p) },
  );
  let announcedTo = 0;
  let queries = 0;
  for (const e of finished) {
    announcedTo += e.announcedTo;
    queries += e.queries;
  }
  return { announcedTo, peers, queries };
}

/** A put lookup's id on one family, once its search stopped at `put:ready`. */
export interface Ready {
  readonly f: DhtFamily;
  readonly id: number;
  readonly e: DhtPutReadyEvent;
}

/**
 * Starts one lookup per family with `start`, waits until every one finished and returns their
 * `lookup:finished` events. `onPeers` gets the peers a lookup finds as they come; `onReady` runs
 * once every family's put lookup stopped at `put:ready`. Aborting `signal`, closing the runtime
 * or an `onReady` that throws cancels the lookups that have not finished.
 */
export async function runOnFamilies(
  families: readonly DhtFamily[],
  start: (f: DhtFamily, now: number) => number,
  signal: AbortSignal | undefined,
  on: {
    readonly onPeers?: (peers: readonly Address[]) => void;
    readonly onReady?: (ready: readonly Ready[]) => void;
  } = {},
): Promise<DhtLookupFinishedEvent[]> {
  signal?.throwIfAborted();
  const started: { f: DhtFamily; id: number }[] = [];
  const finished: DhtLookupFinishedEvent[] = [];
  const ready: Ready[] = [];
  let onAbort = () => {};
  try {
    return await new Promise<DhtLookupFinishedEvent[]>((resolve, reject) => {
      onAbort = () => reject(signal?.reason);
      for (const f of families) {
        const id = start(f, performance.now());
        started.push({ f, id });
        f.register(id, {
          ...(on.onPeers === undefined ? {} : { onPeers: on.onPeers }),
          onFinished: (e) => {
            finished.push(e);
            if (finished.length === families.length) resolve(finished);
          },
          onPutReady: (e) => {
            ready.push({ f, id, e });
            if (ready.length !== families.length) return;
            try {
              on.onReady?.(ready);
            } catch (err) {
              reject(err);
            }
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
