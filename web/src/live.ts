/**
 * Live updates from `GET /api/v1/events` (Server-Sent Events): the `snapshot` event (`{stats,
 * torrents}`, about once a second) and the `torrent:*`, `peer:banned`, `settings:changed` and
 * `watch:*` and `network:changed` events. EventSource
 * reconnects by itself after a network error; when the daemon answers with an error status (it
 * restarted, or too many listeners) the stream is closed and reopened here after a pause.
 */
import type { SnapshotEvent } from '../../src/daemon/api-types.js';
import type { Connection } from './store.js';

/** Events other than `snapshot` that the daemon forwards. */
export const LIVE_EVENTS = [
  'torrent:added',
  'torrent:removed',
  'torrent:finished',
  'torrent:paused',
  'torrent:resumed',
  'torrent:checking',
  'torrent:metadata',
  'torrent:updated',
  'torrent:error',
  'peer:banned',
  'settings:changed',
  'watch:added',
  'watch:invalid',
  'network:changed',
] as const;

export type LiveEventName = (typeof LIVE_EVENTS)[number];

export interface LiveHandlers {
  onSnapshot(s: SnapshotEvent): void;
  onEvent(name: LiveEventName, data: Record<string, unknown>): void;
  onConnection(c: Connection): void;
}

const REOPEN_MS = 5000;

/** Opens the event stream; returns a function that closes it for good. */
export function connectLive(handlers: LiveHandlers): () => void {
  let source: EventSource | undefined;
  let reopen: number | undefined;
  let stopped = false;

  const parse = (e: Event): Record<string, unknown> | undefined => {
    try {
      return JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };

  const open = (): void => {
    handlers.onConnection('connecting');
    const es = new EventSource('/api/v1/events');
    source = es;
    es.onopen = () => handlers.onConnection('live');
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        handlers.onConnection('offline');
        es.close();
        if (!stopped) reopen = window.setTimeout(open, REOPEN_MS);
      } else {
        handlers.onConnection('connecting');
      }
    };
    es.addEventListener('snapshot', (e) => {
      const data = parse(e);
      if (data !== undefined) handlers.onSnapshot(data as unknown as SnapshotEvent);
    });
    for (const name of LIVE_EVENTS) {
      es.addEventListener(name, (e) => {
        const data = parse(e);
        if (data !== undefined) handlers.onEvent(name, data);
      });
    }
  };

  open();
  return () => {
    stopped = true;
    window.clearTimeout(reopen);
    source?.close();
  };
}
