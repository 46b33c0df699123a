/**
 * Streaming (issue 7): byte-range `fetch`es over a file while its torrent downloads from a
 * rate-limited seeder return the right bytes for ranges at the start, middle and end. The range at
 * the end arrives long before the download could have reached it in order — its pieces jumped the
 * queue — and every response waited for its pieces instead of failing.
 *
 * The file starts skipped (priority 0): asking to stream it sets it to normal priority. The
 * seeder is named only after the first request, while that request waits for its pieces.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AddTorrentResult, Daemon, TorrentDetails } from '../../src/daemon/index.js';
import type { Session } from '../../src/session/index.js';
import type { CreatedTorrent } from '../../src/storage/index.js';
import { api, json, makePayload, startSeeder, startTestDaemon, tempDir } from './daemon-helpers.js';

const MiB = 1024 * 1024;
const SIZE = 8 * MiB + 12_345;
const PIECE = 64 * 1024;
/**
 * The seeder's upload limit: the whole file takes about 32 s at this rate. Each range costs about
 * REQUEST_QUEUE_TIME_MS (3 s) of requests already on the wire before its pieces can be asked for,
 * so the three ranges take a third of the download at most.
 */
const UPLOAD_LIMIT = 256 * 1024;

describe('daemon streaming', { timeout: 120_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let daemon: Daemon;
  let seeder: Session;
  let movie: CreatedTorrent;
  let source: Buffer;
  let id: string;
  let seederPort: number;

  before(async () => {
    tmp = await tempDir();
    const seed = join(tmp.dir, 'seed');
    await mkdir(seed);
    movie = await makePayload(seed, 'movie.mp4', { 'movie.mp4': SIZE }, { pieceLength: PIECE, seed: 42 });
    source = await readFile(join(seed, 'movie.mp4'));
    const s = await startSeeder(seed, movie.bytes, { uploadRateLimit: UPLOAD_LIMIT });
    seeder = s.session;
    seederPort = s.port;
    daemon = await startTestDaemon(join(tmp.dir, 'state'), join(tmp.dir, 'dl'));
    const r = await api<AddTorrentResult>(daemon, '/api/v1/torrents', {
      ...json({
        torrent: Buffer.from(movie.bytes).toString('base64'),
        filePriorities: [0],
      }),
      expect: 201,
    });
    id = r.torrent.id;
  });

  after(async () => {
    await daemon?.close();
    await seeder?.close();
    await tmp?.cleanup();
  });

  const haveCount = () => daemon.session.getTorrent(id)?.stats().haveCount ?? -1;
  const pieceCount = Math.ceil(SIZE / PIECE);

  async function range(spec: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
    const res = await fetch(`${daemon.url}/stream/${id}/0`, {
      headers: { range: spec },
      signal: AbortSignal.timeout(60_000),
    });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  }

  test('HEAD tells the length, type and range support before any data', async () => {
    const res = await fetch(`${daemon.url}/stream/${id}/0`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(SIZE));
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
  });

  test('ranges at the end, the start and the middle return the right bytes while downloading', async () => {
    assert.equal(haveCount(), 0, 'nothing downloaded yet (the file was skipped)');
    // The end first: in piece order it would come last. The request waits; the seeder is
    // named only then (a skipped torrent would drop it as redundant: both look like seeds).
    const pending = range(`bytes=${SIZE - 100_000}-`);
    await api(daemon, `/api/v1/torrents/${id}/peers`, {
      ...json({ host: '127.0.0.1', port: seederPort }),
      expect: 204,
    });
    const end = await pending;
    const haveAtEnd = haveCount();
    assert.equal(end.status, 206);
    assert.equal(end.headers.get('content-range'), `bytes ${SIZE - 100_000}-${SIZE - 1}/${SIZE}`);
    assert.equal(end.headers.get('content-length'), '100000');
    assert.ok(end.body.equals(source.subarray(SIZE - 100_000)), 'end range bytes');
    assert.ok(
      haveAtEnd < pieceCount,
      `the end was served before the download finished (${haveAtEnd}/${pieceCount} pieces)`,
    );
    const files = await api<TorrentDetails>(daemon, `/api/v1/torrents/${id}`);
    assert.equal(files.files[0]!.priority, 1, 'streaming a skipped file sets it to normal');

    const start = await range('bytes=0-99999');
    assert.equal(start.status, 206);
    assert.ok(start.body.equals(source.subarray(0, 100_000)), 'start range bytes');

    const mid = Math.floor(SIZE / 2) - 50_000;
    const middle = await range(`bytes=${mid}-${mid + 131_071}`);
    assert.equal(middle.status, 206);
    assert.equal(middle.headers.get('content-range'), `bytes ${mid}-${mid + 131_071}/${SIZE}`);
    assert.ok(middle.body.equals(source.subarray(mid, mid + 131_072)), 'middle range bytes');
    assert.ok(haveCount() < pieceCount, 'still downloading after the three ranges');

    const suffix = await range('bytes=-5000');
    assert.ok(suffix.body.equals(source.subarray(SIZE - 5000)), 'suffix range bytes');
  });

  test('a plain GET waits for every piece and returns the whole file', async () => {
    const res = await fetch(`${daemon.url}/stream/${id}/0`, { signal: AbortSignal.timeout(90_000) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(SIZE));
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body.length, SIZE);
    assert.ok(body.equals(source), 'whole file bytes');
    assert.equal(haveCount(), pieceCount);
  });
});
