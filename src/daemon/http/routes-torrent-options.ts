/**
 * The per-torrent routes beyond adding and controlling: its own limits, bandwidth priority and
 * seed limits (`PATCH /api/v1/torrents/:id`), its place in the queue, its data's folder (`move`)
 * and its peer log.
 */
import type { QueueMove } from '../queue-order.js';
import type { TorrentManager } from '../torrent-manager.js';
import type { TorrentOptionsChange } from '../torrent-options.js';
import { torrentDetails, torrentSummary } from '../torrent-view.js';
import type { ApiRoutes } from './route.js';
import * as S from './schemas.js';

const TAGS = ['torrents'];

/** Registers the options, queue and peer-log routes. */
export function registerTorrentOptionRoutes(api: ApiRoutes, manager: TorrentManager): void {
  api.add(
    {
      method: 'PATCH',
      url: '/api/v1/torrents/:id',
      operationId: 'setTorrentOptions',
      summary: "Set a torrent's own limits and seed limits",
      description: [
        'Its own download and upload limits (bytes/s, 0 = only the global limits), its bandwidth',
        'priority under the global limits (`high` goes first, `low` last), and its seed limits: it',
        'pauses when its upload ratio reaches `seedRatioLimit` or after `seedIdleLimitMinutes`',
        "without uploading (0 = never; null = follow the daemon's settings). Fields left out keep",
        'their value; kept across restarts. Answers with the torrent in full (see `options`).',
      ].join(' '),
      tags: TAGS,
      params: S.IdParams,
      body: S.TorrentOptionsBody,
      responses: { 200: { description: 'the torrent after the change', schema: S.TorrentDetails } },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      return torrentDetails(await manager.setOptions(id, req.body as TorrentOptionsChange));
    },
  );

  api.add(
    {
      method: 'POST',
      url: '/api/v1/torrents/:id/queue',
      operationId: 'moveTorrentInQueue',
      summary: 'Move a torrent in the queue',
      description: [
        '`{"move": "up"|"down"|"top"|"bottom"}` or `{"position": n}` (0 first). With',
        '`maxActiveDownloads` / `maxActiveSeeds`, the first torrents of the queue run and the others',
        'wait (state `queued`); moving one up can start it and hold another back. Kept across restarts.',
      ].join(' '),
      tags: TAGS,
      params: S.IdParams,
      body: S.QueueBody,
      responses: { 200: { description: 'the torrent after the move', schema: S.TorrentEnvelope } },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const b = req.body as { move?: QueueMove; position?: number };
      const entry = await manager.moveInQueue(id, b.move ?? b.position ?? 0);
      return { torrent: torrentSummary(entry) };
    },
  );

  api.add(
    {
      method: 'POST',
      url: '/api/v1/torrents/:id/move',
      operationId: 'moveTorrentData',
      summary: "Move a torrent's data to another folder",
      description: [
        '`{"downloadDir": "…"}`: a folder inside the allowed folders (relative paths are below the',
        "default download folder). The torrent's files (and its parts file) are renamed there, or",
        'copied across file systems, while it is halted (state `moving`); then it goes on from the',
        'new folder, which is kept across restarts. 409 if the torrent is not running.',
      ].join(' '),
      tags: TAGS,
      params: S.IdParams,
      body: S.MoveBody,
      responses: { 200: { description: 'the torrent after the move', schema: S.TorrentEnvelope } },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const entry = await manager.moveStorage(id, (req.body as { downloadDir: string }).downloadDir);
      return { torrent: torrentSummary(entry) };
    },
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/torrents/:id/peer-log',
      operationId: 'getTorrentPeerLog',
      summary: "A torrent's peer events",
      description: [
        'Recent events of its peers, oldest first: connects (client, transport, encryption),',
        'disconnects and refusals with their reasons, hash failures (with the peers that sent the',
        'piece) and bans with their evidence. Bounded (the oldest go first); empty while the torrent',
        'is not in the session (a magnet fetching its metadata).',
      ].join(' '),
      tags: TAGS,
      params: S.IdParams,
      responses: { 200: { description: 'the events', schema: S.PeerLog } },
    },
    async (req) => ({ entries: manager.peerLog((req.params as { id: string }).id) }),
  );
}
