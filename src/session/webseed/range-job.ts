/**
 * One request job of a web seed: a run of consecutive blocks the engine asked for, fetched over
 * one connection as one HTTP range per file it touches (BEP 19), or as one BEP 17 piece request,
 * and handed back as the bytes arrive.
 *
 * The body is streamed, never buffered whole: the whole blocks of a piece that arrive in one
 * chunk are handed over together as a view of it; a block split across chunks is assembled in
 * the job's one 16 KiB buffer. The
 * response is paused while the torrent's reading is paused (disk or hashing back-pressure) or
 * the rate limits say so. Every answer is checked strictly (http-rules.ts): a wrong status,
 * `Content-Range` or `Content-Length`, or a body that ends early or runs long fails the job with
 * a `WebSeedError`; the blocks it did not deliver are the web seed's to give back.
 */
import type { BlockRef } from '../../engine/index.js';
import type { Metainfo } from '../../metainfo/index.js';
import { ErrorCode } from '../../shared/errors.js';
import { BLOCK_BYTES, MAX_WEB_SEED_ERROR_BODY_BYTES } from '../../shared/limits.js';
import { WebSeedError } from './errors.js';
import {
  bep17PieceUrl,
  bep19FileUrl,
  isTransientStatus,
  parseRetryAfter,
  rangeAnswerProblem,
  type WebSeedProtocol,
} from './http-rules.js';
import type { HttpOrigin, OriginResponse } from './origin.js';
import { type FileRange, fileRanges, type PieceSpace } from './range-plan.js';

const ZEROS = new Uint8Array(BLOCK_BYTES);

/** What a job needs from its web seed. */
export interface RangeJobHost {
  readonly origin: HttpOrigin;
  readonly protocol: WebSeedProtocol;
  /** The web seed's URL as given. */
  readonly url: string;
  readonly metainfo: Metainfo;
  readonly space: PieceSpace & { pieceSize(index: number): number };
  /** The info-hash BEP 17 requests name. */
  readonly infoHash: Uint8Array;
  /**
   * Consecutive blocks of one piece, back to back in `data` (valid only during the call). False
   * when the job must stop (its web seed was detached or dropped meanwhile).
   */
  deliver(blocks: readonly BlockRef[], data: Uint8Array): boolean;
  /** Bytes arrived: ms to stop reading for (rate limits). */
  throttle(bytes: number): number;
  /** The torrent's reading is paused (back-pressure). */
  isPaused(): boolean;
}

/** Thrown inside a job whose web seed went away; never reaches users. */
const DETACHED = new Error('web seed detached');

/** One job; see the module notes. */
export class RangeJob {
  readonly blocks: readonly BlockRef[];
  /** Offset of the first block in the piece space, and the end of the last. */
  readonly start: number;
  readonly end: number;
  readonly #host: RangeJobHost;
  readonly #pieceLength: number;
  readonly #abort = new AbortController();
  readonly #skip = new Set<number>();
  #next = 0;
  #filled = 0;
  #buffer: Uint8Array | undefined;
  #res: OriginResponse | undefined;
  #lastDataAt = performance.now();
  #throttleTimer: NodeJS.Timeout | undefined;
  /** The response was paused (back-pressure or rate limit). */
  #paused = false;
  #delivered = 0;

  constructor(host: RangeJobHost, blocks: readonly BlockRef[], pieceLength: number) {
    this.#host = host;
    this.blocks = blocks;
    this.#pieceLength = pieceLength;
    const first = blocks[0]!;
    const last = blocks.at(-1)!;
    this.start = first.piece * pieceLength + first.offset;
    this.end = last.piece * pieceLength + last.offset + last.length;
  }

  /** Bytes not delivered yet. */
  get remainingBytes(): number {
    return this.end - this.start - this.#delivered;
  }

  /** Fetches every block; rejects with a `WebSeedError` (or the detach marker). */
  async run(): Promise<void> {
    try {
      if (this.#host.protocol === 'bep17') await this.#fetchPiece();
      else {
        for (const r of fileRanges(this.#host.space, this.blocks)) {
          if (r.file < 0) this.#feedZeros(r.length);
          else await this.#fetchFileRange(r);
        }
      }
    } catch (e) {
      // Aborted (detached, or timed out): the reason says why, not what the abort broke.
      throw this.#abort.signal.aborted ? this.#abort.signal.reason : e;
    } finally {
      clearTimeout(this.#throttleTimer);
      this.#res = undefined;
    }
  }

  /** True when `e` only says the job stopped because its web seed went away. */
  static isDetached(e: unknown): boolean {
    return e === DETACHED;
  }

  /** The engine cancelled `b`: if the job holds it, it is not handed over. */
  cancel(b: BlockRef): boolean {
    const at = b.piece * this.#pieceLength + b.offset;
    if (at < this.start || at >= this.end) return false;
    this.#skip.add(at);
    return true;
  }

  /** Blocks not handed over (nor cancelled). */
  undelivered(): BlockRef[] {
    return this.blocks
      .slice(this.#next)
      .filter((b) => !this.#skip.has(b.piece * this.#pieceLength + b.offset));
  }

  /** Stops the job; `run` rejects with `reason` (or the detach marker). */
  abort(reason: Error = DETACHED): void {
    this.#abort.abort(reason);
    this.#res?.destroy(reason);
  }

  /** ms since bytes last arrived, 0 while the job is paused (it is not the origin's fault then). */
  idleMs(now: number): number {
    return this.#isPaused() ? 0 : now - this.#lastDataAt;
  }

  /** Pauses or resumes the response after the torrent's reading state changed. */
  updatePause(): void {
    const res = this.#res;
    if (res === undefined) return;
    if (this.#isPaused()) {
      this.#paused = true;
      res.pause();
    } else if (this.#paused) {
      this.#paused = false;
      this.#lastDataAt = performance.now();
      res.resume();
    }
  }

  #isPaused(): boolean {
    return this.#throttleTimer !== undefined || this.#host.isPaused();
  }

  async #fetchFileRange(r: FileRange): Promise<void> {
    const m = this.#host.metainfo;
    const file = m.files[r.file]!;
    const url = bep19FileUrl(this.#host.url, m, file);
    const last = r.start + r.length - 1;
    const res = await this.#host.origin.get(url, { range: `bytes=${r.start}-${last}` }, this.#abort.signal);
    const { status, url: final } = res;
    if (status !== 200 && status !== 206) await this.#failStatus(res, final, status);
    const problem = rangeAnswerProblem(status, res.headers, {
      start: r.start,
      length: r.length,
      fileLength: file.length,
    });
    if (problem !== undefined) {
      res.destroy();
      throw new WebSeedError(ErrorCode.WebSeedBadResponse, `${final}: ${problem}`, { url: final, status });
    }
    await this.#readBody(res, r.length, final);
  }

  async #fetchPiece(): Promise<void> {
    const first = this.blocks[0]!;
    const length = this.end - this.start;
    const url = bep17PieceUrl(
      this.#host.url,
      this.#host.infoHash,
      first.piece,
      first.offset,
      first.offset + length - 1,
      this.#host.space.pieceSize(first.piece),
    );
    const res = await this.#host.origin.get(url, {}, this.#abort.signal);
    const { status, url: final } = res;
    if (status !== 200) await this.#failStatus(res, final, status);
    const declared = res.headers['content-length'];
    if (declared !== undefined && declared !== String(length)) {
      res.destroy();
      throw new WebSeedError(
        ErrorCode.WebSeedBadResponse,
        `${final}: Content-Length ${declared}, expected ${length}`,
        { url: final, status },
      );
    }
    await this.#readBody(res, length, final);
  }

  /** Reads a little of an error answer (a BEP 17 `503` body is the seconds to wait) and throws. */
  async #failStatus(res: OriginResponse, url: string, status: number): Promise<never> {
    const body = await res.readText(MAX_WEB_SEED_ERROR_BODY_BYTES);
    const now = Date.now();
    const retry =
      parseRetryAfter(res.headers['retry-after'], now) ??
      (this.#host.protocol === 'bep17' && status === 503 ? parseRetryAfter(body, now) : undefined);
    const transient = isTransientStatus(status);
    throw new WebSeedError(
      transient ? ErrorCode.WebSeedBusy : ErrorCode.WebSeedStatus,
      `${url}: HTTP ${status}${retry !== undefined ? ` (retry after ${Math.round(retry / 1000)} s)` : ''}`,
      { url, status, ...(retry !== undefined ? { retryAfterMs: retry } : {}) },
    );
  }

  async #readBody(res: OriginResponse, length: number, url: string): Promise<void> {
    let got = 0;
    const bad = (what: string) =>
      new WebSeedError(ErrorCode.WebSeedBadResponse, `${url}: ${what}`, { url, status: res.status });
    this.#res = res;
    this.#paused = false;
    this.updatePause();
    try {
      await res.read((chunk) => {
        this.#lastDataAt = performance.now();
        got += chunk.length;
        if (got > length) throw bad(`the body runs past the ${length} bytes asked`);
        if (!this.#feed(chunk)) throw DETACHED;
        const ms = this.#host.throttle(chunk.length);
        if (ms > 0) {
          clearTimeout(this.#throttleTimer);
          this.#throttleTimer = setTimeout(() => {
            this.#throttleTimer = undefined;
            this.updatePause();
          }, ms);
          this.#throttleTimer.unref();
          this.updatePause();
        }
      });
    } catch (e) {
      if (e === DETACHED || (e instanceof WebSeedError && e.code === ErrorCode.WebSeedBadResponse)) throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new WebSeedError(
        ErrorCode.WebSeedConnection,
        `${url}: connection lost after ${got} of ${length} bytes (${why})`,
        { url },
        { cause: e },
      );
    } finally {
      this.#res = undefined;
    }
    if (got !== length) throw bad(`the body ended after ${got} of ${length} bytes`);
  }

  #feedZeros(length: number): void {
    for (let left = length; left > 0; left -= BLOCK_BYTES) {
      if (!this.#feed(ZEROS.subarray(0, Math.min(BLOCK_BYTES, left)))) throw DETACHED;
    }
  }

  /**
   * Cuts `chunk` into blocks and hands the complete ones over: the whole blocks it holds as runs
   * (one view per piece, broken where a block was cancelled), a block split across chunks once
   * the job's buffer holds all of it. False: stop.
   */
  #feed(chunk: Uint8Array): boolean {
    let at = 0;
    while (at < chunk.length) {
      const b = this.blocks[this.#next];
      if (b === undefined) return true; // cannot happen: the body is checked against the run's length
      const left = chunk.length - at;
      if (this.#filled === 0 && left >= b.length) {
        // Whole blocks in this chunk: hand them over as views of it, no copy.
        const first = this.#next;
        let end = at + b.length;
        let last = first + 1;
        // The run goes on while the next block is whole in the chunk, of the same piece and not
        // cancelled; a cancelled block goes alone (it is dropped).
        if (!this.#skipped(b)) {
          for (let n = this.blocks[last]; n !== undefined; n = this.blocks[last]) {
            if (n.piece !== b.piece || end + n.length > chunk.length || this.#skipped(n)) break;
            end += n.length;
            last++;
          }
        }
        if (!this.#handOver(first, last, chunk.subarray(at, end))) return false;
        at = end;
        continue;
      }
      this.#buffer ??= new Uint8Array(BLOCK_BYTES);
      const n = Math.min(b.length - this.#filled, left);
      this.#buffer.set(chunk.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      if (this.#filled === b.length) {
        this.#filled = 0;
        if (!this.#handOver(this.#next, this.#next + 1, this.#buffer.subarray(0, b.length))) return false;
      }
    }
    return true;
  }

  #skipped(b: BlockRef): boolean {
    return this.#skip.size > 0 && this.#skip.has(b.piece * this.#pieceLength + b.offset);
  }

  /** Hands over blocks [first, last) of the job, back to back in `data`; false: stop. */
  #handOver(first: number, last: number, data: Uint8Array): boolean {
    this.#next = last;
    this.#delivered += data.length;
    if (this.#skipped(this.blocks[first]!)) return true; // cancelled (a run of one: see #feed)
    return this.#host.deliver(
      first === 0 && last === this.blocks.length ? this.blocks : this.blocks.slice(first, last),
      data,
    );
  }
}
