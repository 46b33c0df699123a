/**
 * An HTTP/1.1 response parser (RFC 9112), sans-I/O: bytes in, head and body events out, for the
 * web seed client. It reads what a GET may get back — a status line and headers (at most
 * MAX_WEB_SEED_HEAD_BYTES and MAX_WEB_SEED_HEADERS), skipping `1xx` heads, then the body framed
 * by `Transfer-Encoding: chunked`, `Content-Length` or the connection's end (§6.3) — and nothing
 * more: no pipelining, no upgrades.
 *
 * Body bytes are handed over as views of the chunk being parsed (valid only during the call),
 * so a range of many megabytes costs no allocation. {@link push} stops right after a head when
 * the sink asks it to (the caller decides what to do with the body before it is consumed) and
 * right after the end of a message; it returns where it stopped. Malformed input is a
 * `ShoalError` (`WebSeedBadResponse`), never anything else.
 */
import { ErrorCode, ShoalError } from '../../shared/errors.js';
import {
  MAX_WEB_SEED_CHUNK_LINE_BYTES,
  MAX_WEB_SEED_HEAD_BYTES,
  MAX_WEB_SEED_HEADERS,
} from '../../shared/limits.js';

/** A response's status line and headers. */
export interface ResponseHead {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: number;
  readonly status: number;
  readonly reason: string;
  /** Header values by lowercase name; repeated fields joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body's length when it is known from `Content-Length` (or 0 for a bodiless status). */
  readonly contentLength: number | undefined;
  /** The connection may carry another request once this response has ended. */
  readonly keepAlive: boolean;
}

/** What the parser tells its caller. */
export interface ResponseSink {
  /** A final (non-1xx) head is complete; false stops {@link Http1ResponseParser.push} right after it. */
  onHead(head: ResponseHead): boolean;
  /** Body bytes: a view valid only during the call. */
  onBody(view: Uint8Array): void;
  /** The message is complete. */
  onEnd(): void;
}

type State =
  | 'head'
  | 'length'
  | 'close'
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-data-end'
  | 'trailers'
  | 'done';

const CR = 13;
const LF = 10;

function bad(message: string): ShoalError {
  return new ShoalError(ErrorCode.WebSeedBadResponse, `bad HTTP response: ${message}`, {});
}

/** The parser of one connection's responses, one after another; see the module notes. */
export class Http1ResponseParser {
  #state: State = 'head';
  /** Head (or chunk line, trailer) bytes seen so far. */
  #line: number[] = [];
  #headBytes = 0;
  #left = 0;
  #head: ResponseHead | undefined;
  #bodyBytes = 0;

  /** Where the current message is. */
  get state(): State {
    return this.#state;
  }

  /** Body bytes of the current message so far. */
  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  /** The current message's head, once parsed. */
  get head(): ResponseHead | undefined {
    return this.#head;
  }

  /** Ready for the next response on the same connection (after one ended). */
  reset(): void {
    this.#state = 'head';
    this.#line = [];
    this.#headBytes = 0;
    this.#left = 0;
    this.#head = undefined;
    this.#bodyBytes = 0;
  }

  /**
   * Parses `chunk` from `from`; returns the offset where it stopped: `chunk.length`, or just
   * after a head the sink wanted to stop at, or just after the end of a message (the bytes
   * beyond belong to no request of ours).
   */
  push(chunk: Uint8Array, sink: ResponseSink, from = 0): number {
    let at = from;
    while (at < chunk.length) {
      switch (this.#state) {
        case 'head': {
          const r = this.#pushHead(chunk, at);
          at = r;
          if (this.#state === 'head') continue; // needs more bytes, or a 1xx was skipped
          const go = sink.onHead(this.#head!);
          if (this.#state === 'done') sink.onEnd();
          if (!go || this.#state === 'done') return at;
          continue;
        }
        case 'length': {
          const n = Math.min(this.#left, chunk.length - at);
          this.#left -= n;
          this.#bodyBytes += n;
          sink.onBody(chunk.subarray(at, at + n));
          at += n;
          if (this.#left === 0) {
            this.#state = 'done';
            sink.onEnd();
            return at;
          }
          continue;
        }
        case 'close':
          this.#bodyBytes += chunk.length - at;
          sink.onBody(chunk.subarray(at));
          return chunk.length;
        case 'chunk-size':
        case 'trailers': {
          const end = this.#readLine(chunk, at);
          if (end < 0) return chunk.length;
          at = end;
          const line = String.fromCharCode(...this.#line);
          this.#line = [];
          if (this.#state === 'trailers') {
            // Trailers are a second head: bounded like one.
            this.#headBytes += line.length + 2;
            if (this.#headBytes > MAX_WEB_SEED_HEAD_BYTES)
              throw bad(`the trailers are longer than ${MAX_WEB_SEED_HEAD_BYTES} bytes`);
            if (line === '') {
              this.#state = 'done';
              sink.onEnd();
              return at;
            }
            continue;
          }
          const m = /^([0-9a-fA-F]{1,13})[ \t]*(;.*)?$/.exec(line);
          if (m === null) throw bad(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
          this.#left = Number.parseInt(m[1]!, 16);
          this.#headBytes = 0;
          this.#state = this.#left === 0 ? 'trailers' : 'chunk-data';
          continue;
        }
        case 'chunk-data': {
          const n = Math.min(this.#left, chunk.length - at);
          this.#left -= n;
          this.#bodyBytes += n;
          sink.onBody(chunk.subarray(at, at + n));
          at += n;
          if (this.#left === 0) this.#state = 'chunk-data-end';
          continue;
        }
        case 'chunk-data-end': {
          const end = this.#readLine(chunk, at);
          if (end < 0) return chunk.length;
          at = end;
          if (this.#line.length !== 0) throw bad('chunk data longer than its size');
          this.#state = 'chunk-size';
          continue;
        }
        case 'done':
          return at;
      }
    }
    return at;
  }

  /**
   * The connection ended: a body delimited by the close is complete (`onEnd`); any other message
   * in progress is cut short (a `ShoalError` saying how far it got).
   */
  finish(sink: ResponseSink): void {
    if (this.#state === 'close') {
      this.#state = 'done';
      sink.onEnd();
      return;
    }
    if (this.#state === 'done') return;
    if (this.#state === 'head')
      throw bad(
        this.#headBytes === 0
          ? 'the connection closed before an answer'
          : 'the connection closed inside the head',
      );
    const total = this.#head?.contentLength;
    throw bad(
      total !== undefined
        ? `the connection closed after ${this.#bodyBytes} of ${total} bytes`
        : `the connection closed inside a chunked body after ${this.#bodyBytes} bytes`,
    );
  }

  /** Reads up to LF into #line (CR dropped); returns the offset after the LF, or -1 (need more). */
  #readLine(chunk: Uint8Array, at: number): number {
    for (let i = at; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === LF) return i + 1;
      if (b !== CR) {
        if (this.#line.length >= MAX_WEB_SEED_CHUNK_LINE_BYTES) throw bad('a chunk line is too long');
        this.#line.push(b);
      }
    }
    return -1;
  }

  /** Head bytes until the empty line; returns the offset after what it used. */
  #pushHead(chunk: Uint8Array, at: number): number {
    for (let i = at; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (++this.#headBytes > MAX_WEB_SEED_HEAD_BYTES)
        throw bad(`the head is longer than ${MAX_WEB_SEED_HEAD_BYTES} bytes`);
      this.#line.push(b);
      const n = this.#line.length;
      // The head ends with an empty line: CRLF CRLF (or, leniently, LF LF).
      if (b === LF && (this.#line[n - 2] === LF || (this.#line[n - 2] === CR && this.#line[n - 3] === LF))) {
        const text = Buffer.from(this.#line).toString('latin1');
        this.#line = [];
        this.#headBytes = 0;
        this.#startBody(parseHead(text));
        return i + 1;
      }
    }
    return chunk.length;
  }

  #startBody(head: ResponseHead): void {
    // 1xx answers are interim: the real one follows (RFC 9110 §15.2).
    if (head.status < 200) return;
    this.#head = head;
    this.#bodyBytes = 0;
    if (head.status === 204 || head.status === 304) {
      this.#state = 'done';
      return;
    }
    const te = head.headers['transfer-encoding'];
    if (te !== undefined) {
      const codings = te
        .toLowerCase()
        .split(',')
        .map((c) => c.trim());
      if (codings.at(-1) !== 'chunked') throw bad(`unsupported Transfer-Encoding ${te}`);
      if (codings.length > 1) throw bad(`unsupported Transfer-Encoding ${te}`);
      this.#state = 'chunk-size';
      return;
    }
    if (head.contentLength !== undefined) {
      this.#left = head.contentLength;
      this.#state = head.contentLength === 0 ? 'done' : 'length';
      return;
    }
    this.#state = 'close';
  }
}

/** Parses a head's text (status line and header fields). */
function parseHead(text: string): ResponseHead {
  const lines = text.split(/\r?\n/);
  const status = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (status === null) throw bad(`bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
  const headers: Record<string, string> = {};
  let count = 0;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    if (++count > MAX_WEB_SEED_HEADERS) throw bad(`more than ${MAX_WEB_SEED_HEADERS} header fields`);
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw bad(`bad header line ${JSON.stringify(line.slice(0, 60))}`);
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  const minor = Number(status[1]);
  const code = Number(status[2]);
  let contentLength: number | undefined;
  const cl = headers['content-length'];
  if (cl !== undefined && headers['transfer-encoding'] === undefined) {
    const values = [...new Set(cl.split(',').map((v) => v.trim()))];
    if (values.length !== 1 || !/^\d{1,15}$/.test(values[0]!)) throw bad(`bad Content-Length ${cl}`);
    contentLength = Number(values[0]);
  }
  const connection = (headers.connection ?? '').toLowerCase();
  const keepAlive =
    (minor === 1 ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection)) &&
    (contentLength !== undefined ||
      headers['transfer-encoding'] !== undefined ||
      code === 204 ||
      code === 304);
  return { minor, status: code, reason: status[3] ?? '', headers, contentLength, keepAlive };
}
