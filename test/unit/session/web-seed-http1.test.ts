/** The web seed's HTTP/1.1 response parser (src/session/webseed/http1-parser.ts): framing, bounds, fuzz. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Http1ResponseParser, type ResponseHead } from '../../../src/session/webseed/http1-parser.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import {
  MAX_WEB_SEED_CHUNK_LINE_BYTES,
  MAX_WEB_SEED_HEAD_BYTES,
  MAX_WEB_SEED_HEADERS,
} from '../../../src/shared/limits.js';

interface Parsed {
  heads: ResponseHead[];
  body: Buffer;
  ends: number;
}

/** Feeds `bytes` in pieces cut at `cuts`; returns what the sink saw. */
function parse(bytes: Uint8Array, cuts: readonly number[] = [], close = false): Parsed {
  const parser = new Http1ResponseParser();
  const out: Parsed = { heads: [], body: Buffer.alloc(0), ends: 0 };
  const parts: Buffer[] = [];
  const sink = {
    onHead: (h: ResponseHead) => {
      out.heads.push(h);
      return true;
    },
    onBody: (v: Uint8Array) => parts.push(Buffer.from(v)),
    onEnd: () => out.ends++,
  };
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    parser.push(bytes.subarray(from, at), sink);
    from = at;
  }
  if (close) parser.finish(sink);
  out.body = Buffer.concat(parts);
  return out;
}

function badResponse(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isShoalError(e), `not a ShoalError: ${String(e)}`);
    assert.equal(e.code, ErrorCode.WebSeedBadResponse);
    assert.match(e.message, message);
    return true;
  });
}

const CRLF = '\r\n';

describe('web seed HTTP/1.1 parser', () => {
  test('a Content-Length body, whatever the chunking of the bytes', () => {
    const text = `HTTP/1.1 206 Partial Content${CRLF}Content-Range: bytes 0-9/100${CRLF}Content-Length: 10${CRLF}${CRLF}0123456789`;
    const bytes = Buffer.from(text, 'latin1');
    for (let a = 0; a <= bytes.length; a++) {
      const r = parse(bytes, [a]);
      assert.equal(r.heads.length, 1);
      assert.equal(r.heads[0]!.status, 206);
      assert.equal(r.heads[0]!.headers['content-range'], 'bytes 0-9/100');
      assert.equal(r.heads[0]!.keepAlive, true);
      assert.equal(r.body.toString(), '0123456789');
      assert.equal(r.ends, 1);
    }
  });

  test('chunked with extensions and trailers; 1xx heads skipped', () => {
    const text = `HTTP/1.1 100 Continue${CRLF}${CRLF}HTTP/1.1 200 OK${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}5;x=y${CRLF}hello${CRLF}6${CRLF} world${CRLF}0${CRLF}X-Trailer: 1${CRLF}${CRLF}`;
    const bytes = Buffer.from(text, 'latin1');
    for (let a = 0; a < bytes.length; a += 3) {
      const r = parse(bytes, [a, Math.min(bytes.length, a + 7)]);
      assert.deepEqual(
        r.heads.map((h) => h.status),
        [200],
      );
      assert.equal(r.body.toString(), 'hello world');
      assert.equal(r.ends, 1);
    }
  });

  test('a body without length ends with the connection; one cut short says how far it got', () => {
    const close = parse(Buffer.from(`HTTP/1.0 200 OK${CRLF}${CRLF}abc`), [], true);
    assert.equal(close.body.toString(), 'abc');
    assert.equal(close.ends, 1);
    assert.equal(close.heads[0]!.keepAlive, false);
    badResponse(
      () => parse(Buffer.from(`HTTP/1.1 200 OK${CRLF}Content-Length: 10${CRLF}${CRLF}abc`), [], true),
      /closed after 3 of 10 bytes/,
    );
    badResponse(() => parse(Buffer.from(''), [], true), /before an answer/);
    badResponse(
      () =>
        parse(
          Buffer.from(`HTTP/1.1 200 OK${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}5${CRLF}ab`),
          [],
          true,
        ),
      /inside a chunked body/,
    );
  });

  test('Connection: close, HTTP/1.0 and conflicting lengths', () => {
    const h = (extra: string, v = '1.1') =>
      parse(Buffer.from(`HTTP/${v} 200 OK${CRLF}Content-Length: 0${CRLF}${extra}${CRLF}`)).heads[0]!;
    assert.equal(h('Connection: close\r\n').keepAlive, false);
    assert.equal(h('', '1.0').keepAlive, false);
    assert.equal(h('Connection: keep-alive\r\n', '1.0').keepAlive, true);
    badResponse(
      () =>
        parse(Buffer.from(`HTTP/1.1 200 OK${CRLF}Content-Length: 5${CRLF}Content-Length: 6${CRLF}${CRLF}`)),
      /Content-Length/,
    );
    badResponse(
      () => parse(Buffer.from(`HTTP/1.1 200 OK${CRLF}Transfer-Encoding: gzip${CRLF}${CRLF}`)),
      /Transfer-Encoding/,
    );
    badResponse(() => parse(Buffer.from(`SPDY/3 200 OK${CRLF}${CRLF}`)), /status line/);
  });

  test(`a head of MAX_WEB_SEED_HEAD_BYTES (${MAX_WEB_SEED_HEAD_BYTES}) is read; one byte more is refused`, () => {
    const head = (total: number) => {
      const start = `HTTP/1.1 200 OK${CRLF}Content-Length: 0${CRLF}X-Pad: `;
      const end = `${CRLF}${CRLF}`;
      return Buffer.from(start + 'a'.repeat(total - start.length - end.length) + end);
    };
    assert.equal(parse(head(MAX_WEB_SEED_HEAD_BYTES)).ends, 1);
    badResponse(() => parse(head(MAX_WEB_SEED_HEAD_BYTES + 1)), /head is longer/);
  });

  test(`MAX_WEB_SEED_HEADERS (${MAX_WEB_SEED_HEADERS}) header fields are read; one more is refused`, () => {
    const head = (n: number) =>
      Buffer.from(
        `HTTP/1.1 200 OK${CRLF}Content-Length: 0${CRLF}${Array.from({ length: n - 1 }, (_, i) => `X-${i}: ${i}${CRLF}`).join('')}${CRLF}`,
      );
    assert.equal(parse(head(MAX_WEB_SEED_HEADERS)).heads.length, 1);
    badResponse(() => parse(head(MAX_WEB_SEED_HEADERS + 1)), /header fields/);
  });

  test(`a chunk line of MAX_WEB_SEED_CHUNK_LINE_BYTES (${MAX_WEB_SEED_CHUNK_LINE_BYTES}) is read; one byte more is refused`, () => {
    const body = (lineBytes: number) =>
      Buffer.from(
        `HTTP/1.1 200 OK${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}3;${'e'.repeat(lineBytes - 2)}${CRLF}abc${CRLF}0${CRLF}${CRLF}`,
      );
    assert.equal(parse(body(MAX_WEB_SEED_CHUNK_LINE_BYTES)).body.toString(), 'abc');
    badResponse(() => parse(body(MAX_WEB_SEED_CHUNK_LINE_BYTES + 1)), /chunk line is too long/);
  });

  test('fuzz: any bytes give a ShoalError or a parse, nothing else', () => {
    let seed = 0x2545f491;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const valid = Buffer.from(
      `HTTP/1.1 200 OK${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}5${CRLF}hello${CRLF}0${CRLF}${CRLF}`,
    );
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(valid);
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++)
        bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      try {
        parse(bytes, [Math.floor(rand() * bytes.length)], rand() < 0.5);
      } catch (e) {
        assert.ok(isShoalError(e), `case ${i}: ${String(e)}`);
      }
    }
  });
});
