/** The pure rules of web seeding (src/session/webseed/http-rules.ts, range-plan.ts). */
import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { describe, test } from 'node:test';
import {
  backoffMs,
  bep17PieceUrl,
  bep19FileUrl,
  fileRanges,
  jobShare,
  PendingBlocks,
  parseContentRange,
  parseRetryAfter,
  rangeAnswerProblem,
  resolveOptions,
  webSeedUrlProblem,
} from '../../../src/session/index.js';
import { HttpOrigin } from '../../../src/session/webseed/origin.js';
import {
  BLOCK_BYTES,
  MAX_WEB_SEED_CONNECTIONS,
  MAX_WEB_SEED_ERROR_BODY_BYTES,
  MAX_WEB_SEED_RANGE_BYTES,
  MAX_WEB_SEED_RETRY_MS,
  MAX_WEB_SEED_URL_LENGTH,
  WEB_SEED_RETRY_BASE_MS,
} from '../../../src/shared/limits.js';
import { PieceMap } from '../../../src/storage/piece-map.js';

describe('web seed URLs', () => {
  test('BEP 19: a single file is the URL, or the URL plus the name when it ends in /', () => {
    const m = { isSingleFile: true, name: 'my file #1.iso' };
    assert.equal(bep19FileUrl('http://h/f.iso', m, { path: ['my file #1.iso'] }), 'http://h/f.iso');
    assert.equal(
      bep19FileUrl('http://h/pub/', m, { path: ['my file #1.iso'] }),
      'http://h/pub/my%20file%20%231.iso',
    );
  });

  test('BEP 19: a multi-file torrent is a folder: name and path added, each part percent-encoded', () => {
    const m = { isSingleFile: false, name: 'michael' };
    assert.equal(
      bep19FileUrl('http://mirror.com/pub/', m, { path: ['Readme.txt'] }),
      'http://mirror.com/pub/michael/Readme.txt',
    );
    assert.equal(
      bep19FileUrl('http://mirror.com/pub', m, { path: ['dir', 'ünï?.bin'] }),
      'http://mirror.com/pub/michael/dir/%C3%BCn%C3%AF%3F.bin',
    );
  });

  test('BEP 17: info_hash percent-encoded byte by byte; ranges only for part of a piece', () => {
    const hash = Uint8Array.from({ length: 20 }, (_, i) => i * 13);
    const whole = bep17PieceUrl('http://h/seed.php', hash, 3, 0, 262143, 262144);
    assert.equal(
      whole,
      `http://h/seed.php?info_hash=${[...hash].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('')}&piece=3`,
    );
    assert.match(
      bep17PieceUrl('http://h/s?k=1', hash, 8, 49152, 131071, 262144),
      /^http:\/\/h\/s\?k=1&info_hash=.*&piece=8&ranges=49152-131071$/,
    );
  });

  test(`a web seed URL is http(s), absolute, without credentials, at most ${MAX_WEB_SEED_URL_LENGTH} characters`, () => {
    assert.equal(webSeedUrlProblem('https://example.org/x'), undefined);
    const long = `http://h/${'a'.repeat(MAX_WEB_SEED_URL_LENGTH - 9)}`;
    assert.equal(long.length, MAX_WEB_SEED_URL_LENGTH);
    assert.equal(webSeedUrlProblem(long), undefined);
    assert.match(webSeedUrlProblem(`${long}a`) ?? '', /longer than/);
    assert.match(webSeedUrlProblem('ftp://h/x') ?? '', /ftp: is not http/);
    assert.match(webSeedUrlProblem('/relative') ?? '', /not an absolute URL/);
    assert.match(webSeedUrlProblem('http://u:p@h/') ?? '', /credentials/);
  });
});

describe('range answers', () => {
  const want = { start: 100, length: 50, fileLength: 1000 };
  test('a 206 names exactly the bytes asked, and the file length', () => {
    assert.equal(
      rangeAnswerProblem(206, { 'content-range': 'bytes 100-149/1000', 'content-length': '50' }, want),
      undefined,
    );
    assert.equal(rangeAnswerProblem(206, { 'content-range': 'bytes 100-149/*' }, want), undefined);
    assert.match(rangeAnswerProblem(206, {}, want) ?? '', /without Content-Range/);
    assert.match(
      rangeAnswerProblem(206, { 'content-range': 'bytes 101-150/1000' }, want) ?? '',
      /expected bytes 100-149/,
    );
    assert.match(
      rangeAnswerProblem(206, { 'content-range': 'bytes 100-149/999' }, want) ?? '',
      /the file has 999 bytes/,
    );
    assert.match(
      rangeAnswerProblem(206, { 'content-range': 'bytes 100-149/1000', 'content-length': '49' }, want) ?? '',
      /Content-Length 49, expected 50/,
    );
    assert.match(
      rangeAnswerProblem(206, { 'content-range': 'bytes=100-149/1000' }, want) ?? '',
      /bad Content-Range/,
    );
  });
  test('a 200 is the whole file: fine only when the whole file was asked', () => {
    assert.match(rangeAnswerProblem(200, { 'content-length': '1000' }, want) ?? '', /200 \(the whole file\)/);
    const all = { start: 0, length: 1000, fileLength: 1000 };
    assert.equal(rangeAnswerProblem(200, { 'content-length': '1000' }, all), undefined);
    assert.match(rangeAnswerProblem(200, { 'content-length': '999' }, all) ?? '', /Content-Length 999/);
  });
  test('Content-Range parsing rejects nonsense', () => {
    assert.deepEqual(parseContentRange('bytes 0-0/1'), { first: 0, last: 0, total: 1 });
    assert.equal(parseContentRange('bytes 5-4/10'), undefined);
    assert.equal(parseContentRange('bytes 0-10/10'), undefined);
    assert.equal(parseContentRange('items 0-1/2'), undefined);
  });
});

describe('waiting', () => {
  test('Retry-After: seconds or an HTTP date, cut to MAX_WEB_SEED_RETRY_MS', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('7', now), 7000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:30 GMT', now), 0, 'a date in the past: now');
    assert.equal(parseRetryAfter(String(MAX_WEB_SEED_RETRY_MS / 1000 + 1), now), MAX_WEB_SEED_RETRY_MS);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-5', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
  test(`back-off: WEB_SEED_RETRY_BASE_MS (${WEB_SEED_RETRY_BASE_MS}) doubled, at most MAX_WEB_SEED_RETRY_MS`, () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => backoffMs(n)),
      [1000, 2000, 4000, 8000],
    );
    assert.equal(backoffMs(9), 256_000);
    assert.equal(backoffMs(10), MAX_WEB_SEED_RETRY_MS);
    assert.equal(backoffMs(1000), MAX_WEB_SEED_RETRY_MS);
    assert.equal(backoffMs(2, 50), 100);
  });
});

describe('range planning', () => {
  const PIECE = 4 * BLOCK_BYTES;
  const block = (piece: number, b: number) => ({ piece, offset: b * BLOCK_BYTES, length: BLOCK_BYTES });

  test('the first run of consecutive blocks, across pieces, within the size asked', () => {
    const p = new PendingBlocks(PIECE);
    for (const b of [block(2, 0), block(1, 3), block(1, 2), block(2, 1), block(5, 0), block(2, 3)]) p.add(b);
    assert.equal(p.bytes, 6 * BLOCK_BYTES);
    assert.deepEqual(p.takeRun(Number.POSITIVE_INFINITY), [
      block(1, 2),
      block(1, 3),
      block(2, 0),
      block(2, 1),
    ]);
    assert.deepEqual(p.takeRun(Number.POSITIVE_INFINITY), [block(2, 3)]);
    assert.deepEqual(p.takeRun(1), [block(5, 0)], 'at least one block');
    assert.equal(p.size, 0);
    assert.equal(p.bytes, 0);
  });

  test('a run cut short by the size ends at a piece boundary when it holds one', () => {
    const p = new PendingBlocks(PIECE);
    for (const b of [block(1, 2), block(1, 3)]) p.add(b);
    for (let i = 0; i < 4; i++) p.add(block(2, i));
    for (let i = 0; i < 4; i++) p.add(block(3, i));
    // 7 blocks would end inside piece 3: the run stops where piece 3 starts.
    assert.deepEqual(p.takeRun(7 * BLOCK_BYTES), [
      block(1, 2),
      block(1, 3),
      ...[0, 1, 2, 3].map((i) => block(2, i)),
    ]);
    // Inside one piece there is no boundary to go back to: the size decides.
    assert.deepEqual(p.takeRun(2 * BLOCK_BYTES), [block(3, 0), block(3, 1)]);
    // A run that ends exactly at a piece's end is not cut back.
    p.add(block(4, 0));
    assert.deepEqual(p.takeRun(2 * BLOCK_BYTES), [block(3, 2), block(3, 3)]);
    assert.deepEqual(p.takeRun(BLOCK_BYTES), [block(4, 0)]);
  });

  test('BEP 17 runs stay within one piece', () => {
    const p = new PendingBlocks(PIECE);
    for (const b of [block(1, 2), block(1, 3), block(2, 0)]) p.add(b);
    assert.deepEqual(p.takeRun(Number.POSITIVE_INFINITY, true), [block(1, 2), block(1, 3)]);
  });

  test(`a job is a connection's share of the pipeline, at most MAX_WEB_SEED_RANGE_BYTES`, () => {
    assert.equal(jobShare(8 << 20, 0, 4, MAX_WEB_SEED_RANGE_BYTES), 2 << 20);
    assert.equal(jobShare(1 << 20, 7 << 20, 4, MAX_WEB_SEED_RANGE_BYTES), 2 << 20);
    assert.equal(jobShare(200 << 20, 0, 1, MAX_WEB_SEED_RANGE_BYTES), MAX_WEB_SEED_RANGE_BYTES);
    assert.equal(jobShare(0, 0, 4, MAX_WEB_SEED_RANGE_BYTES), 1);
    const p = new PendingBlocks(PIECE);
    const n = MAX_WEB_SEED_RANGE_BYTES / BLOCK_BYTES + 8;
    for (let i = 0; i < n; i++) p.add(block(Math.floor(i / 4), i % 4));
    assert.equal(
      p.takeRun(jobShare(p.bytes, 0, 1, MAX_WEB_SEED_RANGE_BYTES)).length * BLOCK_BYTES,
      MAX_WEB_SEED_RANGE_BYTES,
    );
    assert.equal(p.size, 8);
  });

  test('a run maps onto file ranges: files crossed, padding as zeros, empty files skipped', () => {
    // Files: a (40 KiB), empty, pad (24 KiB), b (100 KiB).
    const files = [
      { path: ['a'], length: 40 * 1024, offset: 0, isPadding: false, attr: '' },
      { path: ['e'], length: 0, offset: 40 * 1024, isPadding: false, attr: '' },
      { path: ['.pad', '24576'], length: 24 * 1024, offset: 40 * 1024, isPadding: true, attr: 'p' },
      { path: ['b'], length: 100 * 1024, offset: 64 * 1024, isPadding: false, attr: '' },
    ];
    const map = new PieceMap({ pieceLength: PIECE, pieceCount: 3, files, version: 'v1' });
    const run = [block(0, 2), block(0, 3), block(1, 0), block(1, 1)];
    assert.deepEqual(fileRanges(map, run), [
      { file: 0, start: 32 * 1024, length: 8 * 1024 },
      { file: -1, start: 0, length: 24 * 1024 },
      { file: 3, start: 0, length: 32 * 1024 },
    ]);
  });
});

describe('web seed bounds', () => {
  test(`webSeeds.connections: 1 to MAX_WEB_SEED_CONNECTIONS (${MAX_WEB_SEED_CONNECTIONS})`, () => {
    assert.equal(
      resolveOptions({ webSeeds: { connections: MAX_WEB_SEED_CONNECTIONS } }).webSeeds.connections,
      16,
    );
    assert.throws(
      () => resolveOptions({ webSeeds: { connections: MAX_WEB_SEED_CONNECTIONS + 1 } }),
      /must be ≤ 16/,
    );
    assert.throws(() => resolveOptions({ webSeeds: { connections: 0 } }), /integer ≥ 1/);
    assert.deepEqual(resolveOptions().webSeeds, {
      fromTorrent: true,
      connections: 4,
      onlyBelowPeerRate: 0,
      caFile: undefined,
      maxFailures: 5,
      retryBaseMs: 1000,
      idleTimeoutMs: 30_000,
    });
  });

  test(`an error body is read up to MAX_WEB_SEED_ERROR_BODY_BYTES (${MAX_WEB_SEED_ERROR_BODY_BYTES}), then cut`, async () => {
    let sent = 0;
    const server = createServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 503 Busy\r\nContent-Length: 100000000\r\n\r\n');
        const more = () => {
          while (sent < 100_000_000 && socket.write(Buffer.alloc(16384, 0x37))) sent += 16384;
        };
        socket.on('drain', more);
        socket.on('error', () => {});
        more();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = new HttpOrigin({ connections: 1 });
    try {
      const { port } = server.address() as AddressInfo;
      const res = await origin.get(`http://127.0.0.1:${port}/`, {}, new AbortController().signal);
      assert.equal(res.status, 503);
      const text = await res.readText(MAX_WEB_SEED_ERROR_BODY_BYTES);
      assert.equal(text.length, MAX_WEB_SEED_ERROR_BODY_BYTES);
      assert.equal(origin.openConnections, 0, 'the connection of a cut-off body is closed');
      assert.ok(sent < 50_000_000, `the server got to send ${sent} bytes`);
    } finally {
      origin.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
