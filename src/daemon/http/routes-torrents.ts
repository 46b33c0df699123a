/** The `/api/v1/torrents` routes: add, list, details, pause, resume, verify, remove, priorities, peers. */
import { ErrorCode } from '../../shared/errors.js';
import { MAX_API_TORRENT_BYTES } from '../../shared/limits.js';
import { apiError } from '../errors.js';
import type { TorrentEntry } from '../torrent-entry.js';
import type { AddOptions, TorrentManager } from '../torrent-manager.js';
import {
  fileInfos,
  peerInfos,
  piecesInfo,
  torrentDetails,
  torrentSummary,
  trackerInfos,
} from '../torrent-view.js';
import { jsonChunks } from './json-chunks.js';
import type { ApiRoutes } from './route.js';
import * as S from './schemas.js';

const isTrue = (v: string | undefined): boolean => v === 'true' || v === '1';

interface AddBody {
  readonly torrent?: string;
  readonly magnet?: string;
  readonly url?: string;
  readonly downloadDir?: string;
  readonly paused?: boolean;
  readonly filePriorities?: number[];
  readonly peers?: { host: string; port: number }[];
}

const TAGS = ['torrents'];

/** Registers the torrent routes. */
export function registerTorrentRoutes(api: ApiRoutes, manager: TorrentManager): void {
  api.add(
    {
      method: 'GET',
      url: '/api/v1/torrents',
      operationId: 'listTorrents',
      summary: 'List torrents',
      description: 'Every torrent the daemon keeps, in the order they were added.',
      tags: TAGS,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { state: { ...S.TorrentState, description: 'only torrents in this state' } },
      },
      responses: { 200: { description: 'the torrents', schema: S.TorrentList } },
    },
    async (req, reply) => {
      const { state } = req.query as { state?: string };
      const list = manager.list();
      const rows = (state === undefined ? list : list.filter((e) => e.state === state)).map((e) =>
        torrentSummary(e),
      );
      const chunks = jsonChunks('{"torrents":[', rows, ']}');
      reply.type('application/json; charset=utf-8');
      return reply.send(Buffer.concat(chunks.map((c) => Buffer.from(c))));
    },
  );

  api.add(
    {
      method: 'POST',
      url: '/api/v1/torrents',
      operationId: 'addTorrent',
      summary: 'Add a torrent',
      description: [
        'Send the .torrent file as the raw body (`Content-Type: application/x-bittorrent`, options in',
        'the query string), or JSON with exactly one of `torrent` (base64 .torrent), `magnet` or `url`',
        '(an http(s) .torrent URL the daemon fetches, within a size cap and a timeout).',
        'Answers 201 with the new torrent, or 200 when it was already there (nothing changes).',
        `A .torrent may not exceed ${MAX_API_TORRENT_BYTES} bytes. A magnet's metadata is fetched from`,
        'peers in the background (state `metadata`).',
      ].join(' '),
      tags: TAGS,
      querystring: S.AddTorrentQuery,
      bodyContent: {
        'application/json': S.AddTorrentJson,
        'application/x-bittorrent': { description: 'the .torrent file (raw bytes)' },
        'application/octet-stream': { description: 'the .torrent file (raw bytes)' },
      },
      responses: {
        200: { description: 'already there', schema: S.AddResult },
        201: { description: 'added', schema: S.AddResult },
        415: { description: 'neither JSON nor a .torrent body', schema: S.ErrorBody },
        501: { description: 'magnet links not supported by this build', schema: S.ErrorBody },
        502: { description: 'the torrent URL could not be fetched', schema: S.ErrorBody },
      },
    },
    async (req, reply) => {
      const q = req.query as { downloadDir?: string; paused?: string };
      const body = req.body as Buffer | AddBody | undefined;
      let result: Awaited<ReturnType<TorrentManager['addTorrentFile']>>;
      if (Buffer.isBuffer(body)) {
        const options: AddOptions = {
          ...(q.downloadDir !== undefined ? { downloadDir: q.downloadDir } : {}),
          paused: isTrue(q.paused),
        };
        result = await manager.addTorrentFile(new Uint8Array(body), options);
      } else if (body !== undefined && body !== null && typeof body === 'object') {
        const dir = body.downloadDir ?? q.downloadDir;
        const options: AddOptions = {
          ...(dir !== undefined ? { downloadDir: dir } : {}),
          paused: body.paused ?? isTrue(q.paused),
          ...(body.filePriorities !== undefined ? { filePriorities: body.filePriorities } : {}),
          ...(body.peers !== undefined ? { peers: body.peers } : {}),
        };
        if (body.torrent !== undefined) {
          if (body.torrent.length > Math.ceil(MAX_API_TORRENT_BYTES / 3) * 4 + 4)
            throw apiError(
              ErrorCode.ApiPayloadTooLarge,
              `a .torrent may not exceed ${MAX_API_TORRENT_BYTES} bytes`,
            );
          result = await manager.addTorrentFile(new Uint8Array(Buffer.from(body.torrent, 'base64')), options);
        } else if (body.magnet !== undefined) {
          result = await manager.addMagnet(body.magnet, options);
        } else {
          result = await manager.addUrl(body.url!, options);
        }
      } else {
        throw apiError(
          ErrorCode.ApiBadRequest,
          'send the .torrent as the body (Content-Type: application/x-bittorrent), or JSON with torrent, magnet or url',
        );
      }
      reply.code(result.created ? 201 : 200);
      return { created: result.created, torrent: torrentSummary(result.entry) };
    },
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/torrents/:id',
      operationId: 'getTorrent',
      summary: 'One torrent in full',
      description: 'Its list row plus files (progress, priority), peers, trackers and the piece bitfield.',
      tags: TAGS,
      params: S.IdParams,
      responses: { 200: { description: 'the torrent', schema: S.TorrentDetails } },
    },
    async (req) => torrentDetails(manager.require((req.params as { id: string }).id)),
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/torrents/:id/files',
      operationId: 'getTorrentFiles',
      summary: "A torrent's files",
      tags: TAGS,
      params: S.IdParams,
      responses: { 200: { description: 'files with progress and priority', schema: S.FileList } },
    },
    async (req) => ({ files: fileInfos(manager.require((req.params as { id: string }).id)) }),
  );

  api.add(
    {
      method: 'PATCH',
      url: '/api/v1/torrents/:id/files',
      operationId: 'setFilePriorities',
      summary: 'Set file priorities',
      description:
        '`{"priorities": [...]}` sets every file (one entry per file, torrent order); `{"files": [n, …], "priority": p}` sets some. Files are named by their number in the file list (`index`: padding files are not counted). 0 skips a file, 1 is normal, 2 high.',
      tags: TAGS,
      params: S.IdParams,
      body: S.PrioritiesBody,
      responses: {
        200: { description: 'the files after the change', schema: S.FileList },
        409: { description: 'the torrent has no metadata yet', schema: S.ErrorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const b = req.body as { priorities?: number[]; files?: number[]; priority?: number };
      const entry = await manager.setFilePriorities(id, {
        ...(b.priorities !== undefined ? { all: b.priorities } : {}),
        ...(b.files !== undefined ? { files: b.files } : {}),
        ...(b.priority !== undefined ? { priority: b.priority } : {}),
      });
      return { files: fileInfos(entry) };
    },
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/torrents/:id/peers',
      operationId: 'getTorrentPeers',
      summary: "A torrent's connected peers",
      tags: TAGS,
      params: S.IdParams,
      responses: { 200: { description: 'peers with client, rates and flags', schema: S.PeerList } },
    },
    async (req) => ({ peers: peerInfos(manager.require((req.params as { id: string }).id)) }),
  );

  api.add(
    {
      method: 'POST',
      url: '/api/v1/torrents/:id/peers',
      operationId: 'addTorrentPeer',
      summary: 'Add a peer address to try',
      tags: TAGS,
      params: S.IdParams,
      body: S.AddPeerBody,
      responses: { 204: { description: 'the address will be tried' } },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const { host, port } = req.body as { host: string; port: number };
      await manager.addPeer(id, host, port);
      return reply.code(204).send();
    },
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/torrents/:id/trackers',
      operationId: 'getTorrentTrackers',
      summary: "A torrent's trackers",
      tags: TAGS,
      params: S.IdParams,
      responses: { 200: { description: 'trackers in tier order', schema: S.TrackerList } },
    },
    async (req) => ({ trackers: trackerInfos(manager.require((req.params as { id: string }).id)) }),
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/torrents/:id/pieces',
      operationId: 'getTorrentPieces',
      summary: "A torrent's verified pieces",
      tags: TAGS,
      params: S.IdParams,
      responses: { 200: { description: 'the bitfield, base64', schema: S.PiecesInfo } },
    },
    async (req) => piecesInfo(manager.require((req.params as { id: string }).id)),
  );

  const action = (
    name: 'pause' | 'resume' | 'verify',
    summary: string,
    description: string,
    run: (id: string) => Promise<TorrentEntry>,
  ) =>
    api.add(
      {
        method: 'POST',
        url: `/api/v1/torrents/:id/${name}`,
        operationId: `${name}Torrent`,
        summary,
        description,
        tags: TAGS,
        params: S.IdParams,
        responses: {
          200: { description: 'the torrent after the change', schema: S.TorrentEnvelope },
          409: { description: 'not possible in the current state', schema: S.ErrorBody },
        },
      },
      async (req) => ({ torrent: torrentSummary(await run((req.params as { id: string }).id)) }),
    );
  action(
    'pause',
    'Pause a torrent',
    'Closes its connections and keeps its data; it stays paused across restarts.',
    (id) => manager.pause(id),
  );
  action(
    'resume',
    'Resume a torrent',
    'Starts a paused torrent again (it may wait, `queued`, behind the queue limits), or restarts one stopped by an error.',
    (id) => manager.resume(id),
  );
  action(
    'verify',
    'Verify a torrent',
    'Re-hashes every piece on disk (state `checking` until done); a paused torrent stays paused.',
    (id) => manager.verify(id),
  );

  api.add(
    {
      method: 'DELETE',
      url: '/api/v1/torrents/:id',
      operationId: 'removeTorrent',
      summary: 'Remove a torrent',
      description:
        "With `deleteData=true` its files are deleted too, only inside the torrent's download folder; folders left empty go as well.",
      tags: TAGS,
      params: S.IdParams,
      querystring: S.DeleteQuery,
      responses: { 200: { description: 'removed', schema: S.RemoveResult } },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const { deleteData } = req.query as { deleteData?: string };
      const entry = manager.require(id);
      const report = await manager.remove(id, isTrue(deleteData));
      return { id: entry.id, deletedFiles: report.deleted, skippedFiles: report.skipped };
    },
  );
}
