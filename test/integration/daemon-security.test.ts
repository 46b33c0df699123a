/**
 * Hostile and malformed requests to a real daemon (issue 7): malformed JSON, wrong types, unknown
 * fields, huge uploads, bad torrents, magnets with bad hashes, paths with `..` or outside the
 * allowed folders, foreign Origins, wrong Hosts, cross-site fetches, bad ranges. Each gets a 4xx
 * with a clear `{error: {code, message}}` and changes nothing (the list, the state file and the
 * download folder are compared before and after). Also: the token when one is required, the
 * caps on torrent URLs, event listeners and streams, and deleting data past a symbolic link.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AddTorrentResult, Daemon } from '../../src/daemon/index.js';
import {
  MAX_API_JSON_BODY_BYTES,
  MAX_API_TORRENT_BYTES,
  MAX_API_URL_LENGTH,
  MAX_CONCURRENT_STREAMS,
  MAX_SSE_CLIENTS,
  MAX_TORRENT_URL_REDIRECTS,
} from '../../src/shared/limits.js';
import type { CreatedTorrent } from '../../src/storage/index.js';
import {
  api,
  json,
  makePayload,
  type RawResponse,
  rawRequest,
  SseReader,
  startTestDaemon,
  tempDir,
} from './daemon-helpers.js';

/**
 * The daemon's torrent-URL fetch timeout here: short for the hanging upstream, yet long enough
 * that the 16 MiB chunked body always hits the size cap first, even on a loaded machine.
 */
const FETCH_TIMEOUT_MS = 3_000;
const FIXTURES = new URL('../fixtures/torrents/', import.meta.url).pathname;
const hex = (b: Uint8Array | undefined) => Buffer.from(b!).toString('hex');

interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path: string | (() => string);
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array | (() => string | Uint8Array);
  readonly status: number;
  readonly code?: RegExp;
  readonly message: RegExp;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

describe('daemon: bad input and hostile requests', { timeout: 120_000 }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let daemon: Daemon;
  let t: CreatedTorrent;
  /** A torrent never added (so its add requests reach the checks after "already there"). */
  let t2: CreatedTorrent;
  let id: string;
  let dl: string;
  let stateDir: string;
  let outside: string;
  let upstream: Server;
  let upstreamUrl: string;
  const hanging = new Set<ServerResponse>();

  before(async () => {
    tmp = await tempDir();
    const src = join(tmp.dir, 'src');
    await mkdir(src);
    t = await makePayload(src, 'payload', { 'one.bin': 40_000, 'two.bin': 30_000 }, { pieceLength: 16384 });
    t2 = await makePayload(src, 'other', { 'a.bin': 1000, 'b.bin': 2000, 'c.bin': 3000 }, { seed: 3 });
    id = hex(t.infoHashV1);
    dl = join(tmp.dir, 'dl');
    stateDir = join(tmp.dir, 'state');
    outside = join(tmp.dir, 'outside');
    await mkdir(outside);
    await mkdir(dl, { recursive: true });
    await symlink(outside, join(dl, 'link-out'));
    upstream = createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-length': String(MAX_API_TORRENT_BYTES + 1) });
        res.end(Buffer.alloc(MAX_API_TORRENT_BYTES + 1));
      } else if (req.url === '/big-chunked') {
        res.writeHead(200);
        res.end(Buffer.alloc(MAX_API_TORRENT_BYTES + 1));
      } else if (req.url === '/hang') {
        hanging.add(res);
      } else if (req.url === '/loop') {
        res.writeHead(302, { location: '/loop' }).end();
      } else res.writeHead(404).end('nope');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    daemon = await startTestDaemon(stateDir, dl, { fetchTimeoutMs: FETCH_TIMEOUT_MS });
    // One torrent with no peers: it stays `downloading` with nothing verified.
    await api(daemon, '/api/v1/torrents', {
      ...json({ torrent: Buffer.from(t.bytes).toString('base64') }),
      expect: 201,
    });
  });

  after(async () => {
    for (const r of hanging) r.destroy();
    await new Promise<void>((r) => upstream?.close(() => r()));
    await daemon?.close();
    await tmp?.cleanup();
  });

  const cases = (): Case[] => [
    {
      name: 'malformed JSON',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: '{"magnet": ',
      status: 400,
      message: /malformed JSON/,
    },
    {
      name: 'magnet of the wrong type',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: '{"magnet": 5}',
      status: 400,
      message: /body\.magnet must be string/,
    },
    {
      name: 'paused of the wrong type',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ torrent: 'AAAA', paused: 'yes' }),
      status: 400,
      message: /paused must be boolean/,
    },
    {
      name: 'unknown property',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ torrent: 'AAAA', evil: 1 }),
      status: 400,
      message: /unknown property "evil"/,
    },
    {
      name: 'two sources',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ torrent: 'AAAA', magnet: `magnet:?xt=urn:btih:${id}` }),
      status: 400,
      message: /exactly one of torrent, magnet or url/,
    },
    {
      name: 'no source',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: '{}',
      status: 400,
      message: /exactly one of torrent, magnet or url/,
    },
    {
      name: 'a JSON array',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: '[]',
      status: 400,
      message: /exactly one of torrent, magnet or url/,
    },
    {
      name: 'no body at all',
      method: 'POST',
      path: '/api/v1/torrents',
      status: 400,
      message: /send the \.torrent/,
    },
    {
      name: 'text/plain body',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
      status: 415,
      message: /application\/json/,
    },
    {
      name: 'form body (CSRF shape)',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'magnet=x',
      status: 415,
      message: /Unsupported Media Type|application\/json/,
    },
    {
      name: 'base64 of something that is not a torrent',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ torrent: Buffer.from('hello').toString('base64') }),
      status: 400,
      code: /^SHOAL_ERR_(BENCODE|METAINFO)_/,
      message: /./,
    },
    {
      name: 'torrent field not base64',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ torrent: 'not base64!' }),
      status: 400,
      message: /body\.torrent must match pattern/,
    },
    {
      name: 'raw bytes that are not a torrent',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: { 'content-type': 'application/x-bittorrent' },
      body: 'd3:foo3:bare',
      status: 400,
      code: /^SHOAL_ERR_METAINFO_/,
      message: /info/,
    },
    {
      name: 'raw bytes that are not bencode',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: { 'content-type': 'application/x-bittorrent' },
      body: 'd3:fooe',
      status: 400,
      code: /^SHOAL_ERR_BENCODE_/,
      message: /unexpected byte/,
    },
    {
      name: 'empty raw body',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: { 'content-type': 'application/x-bittorrent' },
      body: '',
      status: 400,
      message: /empty|send the \.torrent/,
    },
    ...[
      'path-traversal-dotdot',
      'absolute-path',
      'name-dotdot',
      'v2-file-tree-dotdot',
      'nul-byte-in-path',
    ].map(
      (f): Case => ({
        name: `malicious torrent ${f}`,
        method: 'POST',
        path: '/api/v1/torrents',
        headers: { 'content-type': 'application/x-bittorrent' },
        body: () => new Uint8Array(readFileSync(join(FIXTURES, 'malicious', `${f}.torrent`))),
        status: 400,
        code: /^SHOAL_ERR_(METAINFO|BENCODE)_/,
        message: /./,
      }),
    ),
    ...[
      ['btih too short', 'magnet:?xt=urn:btih:123'],
      ['btih not hex', `magnet:?xt=urn:btih:${'g'.repeat(40)}`],
      ['btih bad base32', `magnet:?xt=urn:btih:${'1'.repeat(32)}`],
      ['btmh too short', `magnet:?xt=urn:btmh:1220${'ab'.repeat(31)}`],
      ['btmh wrong multihash', `magnet:?xt=urn:btmh:1114${'ab'.repeat(32)}`],
      ['no xt', 'magnet:?dn=nothing'],
      ['not a magnet', 'https://example.com/x'],
    ].map(
      ([n, magnet]): Case => ({
        name: `magnet: ${n}`,
        method: 'POST',
        path: '/api/v1/torrents',
        headers: JSON_HEADERS,
        body: JSON.stringify({ magnet }),
        status: 400,
        code: /SHOAL_ERR_MAGNET_INVALID/,
        message: /./,
      }),
    ),
    {
      name: 'URL longer than MAX_API_URL_LENGTH',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ url: `http://127.0.0.1/${'a'.repeat(MAX_API_URL_LENGTH)}` }),
      status: 400,
      message: new RegExp(`body\\.url must NOT have more than ${MAX_API_URL_LENGTH} characters`),
    },
    {
      name: 'file: URL',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ url: 'file:///etc/passwd' }),
      status: 400,
      message: /body\.url must match pattern/,
    },
    {
      name: 'URL with credentials',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ url: 'http://u:p@127.0.0.1:1/x' }),
      status: 400,
      message: /credentials/,
    },
    {
      name: 'downloadDir with ..',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ torrent: b64(t2.bytes), downloadDir: '../escape' }),
      status: 400,
      code: /SHOAL_ERR_DAEMON_UNSAFE_PATH/,
      message: /'\.\.'/,
    },
    {
      name: 'downloadDir with .. inside',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ torrent: b64(t2.bytes), downloadDir: `${'x'}/../../escape` }),
      status: 400,
      message: /'\.\.'/,
    },
    {
      name: 'downloadDir outside the allowed folders',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: () => JSON.stringify({ torrent: b64(t2.bytes), downloadDir: outside }),
      status: 403,
      code: /SHOAL_ERR_DAEMON_UNSAFE_PATH/,
      message: /outside the allowed folders/,
    },
    {
      name: 'downloadDir through a symbolic link out',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ torrent: b64(t2.bytes), downloadDir: 'link-out/sub' }),
      status: 403,
      message: /outside the allowed folders/,
    },
    {
      name: 'downloadDir with NUL',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ torrent: b64(t2.bytes), downloadDir: 'a\u0000b' }),
      status: 400,
      message: /NUL/,
    },
    {
      name: 'downloadDir .. in the query string',
      method: 'POST',
      path: '/api/v1/torrents?downloadDir=..%2Fescape',
      headers: { 'content-type': 'application/x-bittorrent' },
      body: () => t2.bytes,
      status: 400,
      message: /'\.\.'/,
    },
    {
      name: 'filePriorities of the wrong length',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: () => JSON.stringify({ torrent: b64(t2.bytes), filePriorities: [1] }),
      status: 400,
      message: /filePriorities lists 1 files; the torrent has 3/,
    },
    {
      name: 'priorities of the wrong length',
      method: 'PATCH',
      path: () => `/api/v1/torrents/${id}/files`,
      headers: JSON_HEADERS,
      body: JSON.stringify({ priorities: [1, 1, 1] }),
      status: 400,
      message: /lists 3 files; the torrent has 2/,
    },
    {
      name: 'priority file index out of range',
      method: 'PATCH',
      path: () => `/api/v1/torrents/${id}/files`,
      headers: JSON_HEADERS,
      body: JSON.stringify({ files: [99], priority: 1 }),
      status: 400,
      message: /out of range/,
    },
    {
      name: 'priority value out of range',
      method: 'PATCH',
      path: () => `/api/v1/torrents/${id}/files`,
      headers: JSON_HEADERS,
      body: JSON.stringify({ files: [0], priority: 5 }),
      status: 400,
      message: /must be equal to one of the allowed values: 0, 1, 2/,
    },
    {
      name: 'priority missing',
      method: 'PATCH',
      path: () => `/api/v1/torrents/${id}/files`,
      headers: JSON_HEADERS,
      body: JSON.stringify({ files: [0] }),
      status: 400,
      message: /exactly one schema|oneOf|priority/,
    },
    {
      name: 'negative rate limit',
      method: 'PUT',
      path: '/api/v1/settings',
      headers: JSON_HEADERS,
      body: JSON.stringify({ downloadRateLimit: -1 }),
      status: 400,
      message: /must be >= 0/,
    },
    {
      name: 'rate limit as a string',
      method: 'PUT',
      path: '/api/v1/settings',
      headers: JSON_HEADERS,
      body: JSON.stringify({ downloadRateLimit: '5' }),
      status: 400,
      message: /must be integer/,
    },
    {
      name: 'fractional rate limit',
      method: 'PUT',
      path: '/api/v1/settings',
      headers: JSON_HEADERS,
      body: JSON.stringify({ uploadRateLimit: 1.5 }),
      status: 400,
      message: /must be integer/,
    },
    {
      name: 'empty settings',
      method: 'PUT',
      path: '/api/v1/settings',
      headers: JSON_HEADERS,
      body: '{}',
      status: 400,
      message: /fewer than 1 properties/,
    },
    {
      name: 'read-only setting',
      method: 'PUT',
      path: '/api/v1/settings',
      headers: JSON_HEADERS,
      body: JSON.stringify({ downloadDir: '/' }),
      status: 400,
      message: /unknown property "downloadDir"/,
    },
    {
      name: 'malformed id',
      path: '/api/v1/torrents/xyz',
      status: 400,
      message: /params\.id must match pattern/,
    },
    {
      name: 'unknown id',
      path: `/api/v1/torrents/${'0'.repeat(40)}`,
      status: 404,
      code: /SHOAL_ERR_API_NOT_FOUND/,
      message: /no torrent with id/,
    },
    {
      name: 'pause of an unknown id',
      method: 'POST',
      path: `/api/v1/torrents/${'1'.repeat(64)}/pause`,
      status: 404,
      message: /no torrent/,
    },
    {
      name: 'deleteData=yes',
      method: 'DELETE',
      path: () => `/api/v1/torrents/${id}?deleteData=yes`,
      status: 400,
      message: /querystring\.deleteData must be equal to one of the allowed values/,
    },
    {
      name: 'repeated deleteData',
      method: 'DELETE',
      path: () => `/api/v1/torrents/${id}?deleteData=true&deleteData=true`,
      status: 400,
      message: /deleteData must be string/,
    },
    {
      name: 'peer port out of range',
      method: 'POST',
      path: () => `/api/v1/torrents/${id}/peers`,
      headers: JSON_HEADERS,
      body: JSON.stringify({ host: '192.0.2.1', port: 70000 }),
      status: 400,
      message: /must be <= 65535/,
    },
    {
      name: 'peer host with a path',
      method: 'POST',
      path: () => `/api/v1/torrents/${id}/peers`,
      headers: JSON_HEADERS,
      body: JSON.stringify({ host: 'a/b', port: 1 }),
      status: 400,
      message: /host must match pattern/,
    },
    {
      name: 'unknown state filter',
      path: '/api/v1/torrents?state=bogus',
      status: 400,
      message: /state must be equal to one of the allowed values/,
    },
    {
      name: 'range past the end',
      path: () => `/stream/${id}/0`,
      headers: { range: 'bytes=999999-' },
      status: 416,
      code: /RANGE_NOT_SATISFIABLE/,
      message: /not satisfiable/,
    },
    // An inverted or garbage range (`bytes=50-10`, `bytes=abc`) is no bad request: RFC 9110 says
    // to ignore it and send the whole file (test/unit/daemon/range.test.ts,
    // test/integration/daemon-everyday.test.ts).
    {
      name: 'zero suffix range',
      path: () => `/stream/${id}/0`,
      headers: { range: 'bytes=-0' },
      status: 416,
      message: /not satisfiable/,
    },
    {
      name: 'file index out of range',
      path: () => `/stream/${id}/99`,
      status: 404,
      message: /has no file 99/,
    },
    {
      name: 'foreign Origin',
      method: 'POST',
      path: '/api/v1/torrents',
      headers: { ...JSON_HEADERS, origin: 'http://evil.example' },
      body: () => JSON.stringify({ torrent: b64(t2.bytes), downloadDir: 'x' }),
      status: 403,
      code: /SHOAL_ERR_API_FORBIDDEN/,
      message: /origin "http:\/\/evil\.example" are not allowed/,
    },
    {
      name: 'Origin null',
      method: 'DELETE',
      path: () => `/api/v1/torrents/${id}`,
      headers: { origin: 'null' },
      status: 403,
      message: /origin "null"/,
    },
    {
      name: 'foreign Origin reading the list',
      path: '/api/v1/torrents',
      headers: { origin: 'http://localhost:3000' },
      status: 403,
      message: /not allowed/,
    },
    {
      name: 'cross-site fetch without Origin',
      method: 'DELETE',
      path: () => `/api/v1/torrents/${id}`,
      headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' },
      status: 403,
      message: /cross-site/,
    },
    {
      name: 'same-site fetch (another local port)',
      path: '/api/v1/torrents',
      headers: { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors' },
      status: 403,
      message: /same-site/,
    },
    {
      name: 'DNS rebinding: foreign Host',
      method: 'DELETE',
      path: () => `/api/v1/torrents/${id}`,
      headers: { host: 'evil.example:9080' },
      status: 403,
      message: /Host "evil\.example:9080" does not name this daemon/,
    },
    {
      name: 'DNS rebinding: reading the list',
      path: '/api/v1/torrents',
      headers: { host: 'rebind.attacker.test' },
      status: 403,
      message: /DNS rebinding/,
    },
    {
      name: 'DNS rebinding: a stream',
      path: () => `/stream/${id}/0`,
      headers: { host: 'evil.example' },
      status: 403,
      message: /DNS rebinding/,
    },
  ];

  test('each bad request gets a 4xx with a clear message and changes nothing', async () => {
    // What a request could change: which torrents there are and what they are (their live
    // figures — rates, peers met on loopback — move on their own).
    const torrentList = async () =>
      (
        (await api(daemon, '/api/v1/torrents')) as {
          torrents: { id: string; name: string; size: number; wantedBytes: number; downloadDir: string }[];
        }
      ).torrents.map(({ id, name, size, wantedBytes, downloadDir }) => ({
        id,
        name,
        size,
        wantedBytes,
        downloadDir,
      }));
    const before = {
      list: await torrentList(),
      state: await readFile(join(stateDir, 'state.json'), 'utf8'),
      dl: (await readdir(dl)).sort(),
      outside: await readdir(outside),
      torrents: (await readdir(join(stateDir, 'torrents'))).sort(),
    };
    const failures: string[] = [];
    for (const c of cases()) {
      const path = typeof c.path === 'function' ? c.path() : c.path;
      const body = typeof c.body === 'function' ? c.body() : c.body;
      let res: RawResponse;
      try {
        res = await rawRequest(daemon.url, {
          method: c.method ?? 'GET',
          path,
          ...(c.headers !== undefined ? { headers: c.headers } : {}),
          ...(body !== undefined ? { body } : {}),
        });
      } catch (e) {
        failures.push(`${c.name}: ${(e as Error).message}`);
        continue;
      }
      if (res.status !== c.status) {
        failures.push(
          `${c.name}: HTTP ${res.status} (expected ${c.status}): ${res.body.toString().slice(0, 300)}`,
        );
        continue;
      }
      if (c.status < 400) continue;
      const text = res.body.toString();
      let err: { code?: string; message?: string } | undefined;
      try {
        err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      } catch {
        failures.push(`${c.name}: body is not JSON: ${text.slice(0, 200)}`);
        continue;
      }
      if (typeof err?.code !== 'string' || !err.code.startsWith('SHOAL_ERR_'))
        failures.push(`${c.name}: bad code in ${text}`);
      else if (c.code !== undefined && !c.code.test(err.code)) failures.push(`${c.name}: code ${err.code}`);
      if (typeof err?.message !== 'string' || !c.message.test(err.message))
        failures.push(`${c.name}: message ${JSON.stringify(err?.message)} does not match ${c.message}`);
      if (/\bat \S+ \(|node_modules|\.ts:\d+/.test(text)) failures.push(`${c.name}: a stack leaked: ${text}`);
      if (c.status === 416 && res.headers['content-range'] !== 'bytes */40000')
        failures.push(`${c.name}: content-range ${String(res.headers['content-range'])}`);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(await torrentList(), before.list, 'the torrent list changed');
    assert.equal(
      await readFile(join(stateDir, 'state.json'), 'utf8'),
      before.state,
      'the state file changed',
    );
    assert.deepEqual((await readdir(dl)).sort(), before.dl, 'the download folder changed');
    assert.deepEqual(await readdir(outside), before.outside, 'something was written outside');
    assert.deepEqual((await readdir(join(stateDir, 'torrents'))).sort(), before.torrents);
  });

  test('same-origin browser requests and IP or localhost Hosts are accepted', async () => {
    const port = new URL(daemon.url).port;
    for (const headers of [
      { origin: daemon.url, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' },
      { host: `localhost:${port}`, origin: `http://localhost:${port}` },
      { host: `127.0.0.1:${port}` },
      { host: `[::1]:${port}` },
      { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' },
    ]) {
      const res = await rawRequest(daemon.url, { path: '/api/v1/torrents', headers });
      assert.equal(res.status, 200, `${JSON.stringify(headers)}: ${res.body.toString()}`);
    }
  });

  test('uploads over the caps get 413 and are not kept', async () => {
    const raw = await rawRequest(daemon.url, {
      method: 'POST',
      path: '/api/v1/torrents',
      headers: { 'content-type': 'application/x-bittorrent' },
      body: Buffer.alloc(MAX_API_TORRENT_BYTES + 1, 0x64),
    });
    assert.equal(raw.status, 413);
    assert.equal((raw.json() as { error: { code: string } }).error.code, 'SHOAL_ERR_API_PAYLOAD_TOO_LARGE');
    const big = JSON.stringify({ torrent: 'A'.repeat(MAX_API_JSON_BODY_BYTES) });
    const js = await rawRequest(daemon.url, {
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: big,
    });
    assert.equal(js.status, 413);
    // Just under the JSON cap but over the .torrent cap once decoded.
    const b64Big = 'A'.repeat(Math.ceil(MAX_API_TORRENT_BYTES / 3) * 4 + 8);
    const js2 = await rawRequest(daemon.url, {
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ torrent: b64Big }),
    });
    assert.equal(js2.status, 413, js2.body.toString());
    assert.equal(((await api(daemon, '/api/v1/torrents')) as { torrents: unknown[] }).torrents.length, 1);
  });

  test('torrent URLs: size cap, timeout, redirect limit, upstream errors', async () => {
    const expectations: [string, number, RegExp][] = [
      ['/big', 413, /larger than/],
      ['/big-chunked', 413, /larger than/],
      ['/hang', 502, new RegExp(`no complete answer within ${FETCH_TIMEOUT_MS} ms`)],
      ['/loop', 502, new RegExp(`more than ${MAX_TORRENT_URL_REDIRECTS} redirects`)],
      ['/missing', 502, /HTTP 404/],
    ];
    for (const [path, status, message] of expectations) {
      const res = await rawRequest(daemon.url, {
        method: 'POST',
        path: '/api/v1/torrents',
        headers: JSON_HEADERS,
        body: JSON.stringify({ url: `${upstreamUrl}${path}` }),
      });
      assert.equal(res.status, status, `${path}: ${res.body.toString()}`);
      assert.match((res.json() as { error: { message: string } }).error.message, message);
    }
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const freePort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const closed = await rawRequest(daemon.url, {
      method: 'POST',
      path: '/api/v1/torrents',
      headers: JSON_HEADERS,
      body: JSON.stringify({ url: `http://127.0.0.1:${freePort}/x.torrent` }),
    });
    assert.equal(closed.status, 502);
    assert.match((closed.json() as { error: { message: string } }).error.message, /ECONNREFUSED/);
  });

  test(`at most ${MAX_SSE_CLIENTS} event listeners`, async () => {
    const readers: SseReader[] = [];
    try {
      for (let i = 0; i < MAX_SSE_CLIENTS; i++) {
        const r = new SseReader(`${daemon.url}/api/v1/events?snapshots=false`);
        readers.push(r);
        await r.ready;
      }
      const res = await rawRequest(daemon.url, { path: '/api/v1/events' });
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '2');
      assert.match(
        (res.json() as { error: { message: string } }).error.message,
        /at most 32 event listeners/,
      );
    } finally {
      for (const r of readers) r.close();
    }
  });

  test(`at most ${MAX_CONCURRENT_STREAMS} streams; a waiting stream ends when its torrent is paused`, async () => {
    const ac = new AbortController();
    const open: Response[] = [];
    try {
      for (let i = 0; i < MAX_CONCURRENT_STREAMS; i++) {
        // Nothing is verified and no peer is known: each response waits for piece 0.
        const res = await fetch(`${daemon.url}/stream/${id}/0`, {
          headers: { range: 'bytes=0-99' },
          signal: ac.signal,
        });
        assert.equal(res.status, 206);
        assert.equal(res.headers.get('content-range'), 'bytes 0-99/40000');
        open.push(res);
      }
      const more = await rawRequest(daemon.url, { path: `/stream/${id}/0` });
      assert.equal(more.status, 503);
      assert.match((more.json() as { error: { message: string } }).error.message, /at most 16 streams/);
      await api(daemon, `/api/v1/torrents/${id}/pause`, { method: 'POST' });
      const ends = await Promise.allSettled(open.map((r) => r.arrayBuffer()));
      assert.ok(
        ends.every((e) => e.status === 'rejected'),
        'a stream cut by a pause is truncated, never completed with wrong bytes',
      );
      const paused = await rawRequest(daemon.url, { path: `/stream/${id}/0` });
      assert.equal(paused.status, 409);
      assert.match((paused.json() as { error: { message: string } }).error.message, /paused; resume it/);
    } finally {
      ac.abort();
      await api(daemon, `/api/v1/torrents/${id}/resume`, { method: 'POST' });
    }
  });

  test('deleting data never follows a symbolic link out of the download folder', async () => {
    const tmp2 = join(tmp.dir, 'src2');
    await mkdir(tmp2);
    const p = await makePayload(tmp2, 'victim', { 'keep.bin': 20_000, 'gone.bin': 20_000 }, { seed: 5 });
    const r = await api<AddTorrentResult>(daemon, '/api/v1/torrents', {
      ...json({ torrent: b64(p.bytes), paused: true, downloadDir: 'victims' }),
      expect: 201,
    });
    const dir = join(dl, 'victims', 'victim');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'gone.bin'), 'x');
    await writeFile(join(outside, 'precious.bin'), 'precious');
    await symlink(join(outside, 'precious.bin'), join(dir, 'keep.bin'));
    const res = await api<{ deletedFiles: number; skippedFiles: { path: string; reason: string }[] }>(
      daemon,
      `/api/v1/torrents/${r.torrent.id}?deleteData=1`,
      { method: 'DELETE' },
    );
    assert.equal(res.deletedFiles, 1);
    assert.deepEqual(res.skippedFiles, [{ path: join(dir, 'keep.bin'), reason: 'symbolic link' }]);
    assert.equal(await readFile(join(outside, 'precious.bin'), 'utf8'), 'precious');
    await unlink(join(dir, 'keep.bin'));
  });
});

describe('daemon: token required', { timeout: 60_000 }, () => {
  test('every API call needs the token; the UI, auth and OpenAPI do not', async () => {
    const tmp = await tempDir();
    const d = await startTestDaemon(join(tmp.dir, 'state'), join(tmp.dir, 'dl'), { requireToken: true });
    try {
      const file = join(tmp.dir, 'state', 'token');
      assert.equal((await readFile(file, 'utf8')).trim(), d.token);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.ok(d.token.length >= 40);
      for (const path of [
        '/api/v1/torrents',
        '/api/v1/settings',
        '/metrics',
        `/stream/${'a'.repeat(40)}/0`,
        '/api/v1/events',
      ]) {
        const res = await rawRequest(d.url, { path });
        assert.equal(res.status, 401, `${path} without a token`);
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="shoal"');
        assert.match((res.json() as { error: { message: string } }).error.message, /requires its token/);
      }
      const wrong = await rawRequest(d.url, {
        path: '/api/v1/torrents',
        headers: { authorization: 'Bearer nope' },
      });
      assert.equal(wrong.status, 401);
      const bearer = await rawRequest(d.url, {
        path: '/api/v1/torrents',
        headers: { authorization: `Bearer ${d.token}` },
      });
      assert.equal(bearer.status, 200);
      const query = await rawRequest(d.url, { path: `/api/v1/torrents?token=${d.token}` });
      assert.equal(query.status, 200);
      for (const path of ['/', '/api/v1/openapi.json', '/api/v1/auth']) {
        assert.equal((await rawRequest(d.url, { path })).status, 200, `${path} is open`);
      }
      assert.deepEqual((await rawRequest(d.url, { path: '/api/v1/auth' })).json(), {
        required: true,
        authenticated: false,
      });
      const bad = await rawRequest(d.url, {
        method: 'POST',
        path: '/api/v1/auth',
        headers: JSON_HEADERS,
        body: '{"token":"x"}',
      });
      assert.equal(bad.status, 401);
      const login = await rawRequest(d.url, {
        method: 'POST',
        path: '/api/v1/auth',
        headers: JSON_HEADERS,
        body: JSON.stringify({ token: d.token }),
      });
      assert.equal(login.status, 204);
      const cookie = String(login.headers['set-cookie']).split(';')[0]!;
      assert.match(String(login.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
      const withCookie = await rawRequest(d.url, { path: '/api/v1/stats', headers: { cookie } });
      assert.equal(withCookie.status, 200);
      assert.deepEqual((await rawRequest(d.url, { path: '/api/v1/auth', headers: { cookie } })).json(), {
        required: true,
        authenticated: true,
      });
      // A URL-encoded path is matched by route, so it cannot dodge the token.
      const sneaky = await rawRequest(d.url, { path: '/%61pi/v1/torrents' });
      assert.ok(sneaky.status === 401 || sneaky.status === 404, `sneaky path: ${sneaky.status}`);
      assert.ok(!sneaky.body.toString().includes('"torrents"'));
    } finally {
      await d.close();
      await tmp.cleanup();
    }
  });

  test('the token survives a restart', async () => {
    const tmp = await tempDir();
    try {
      const a = await startTestDaemon(join(tmp.dir, 'state'), join(tmp.dir, 'dl'));
      const token = a.token;
      await a.close();
      const b = await startTestDaemon(join(tmp.dir, 'state'), join(tmp.dir, 'dl'));
      assert.equal(b.token, token);
      await b.close();
    } finally {
      await tmp.cleanup();
    }
  });
});

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
