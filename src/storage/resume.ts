/**
 * Fast resume: a small record per torrent that says which pieces are verified on disk, so a
 * restart does not re-hash or re-download them.
 *
 * Record (bencoded dictionary):
 *   format       "shoal-resume"
 *   version      1
 *   info-hash    20 bytes (v1) and/or info-hash2: 32 bytes (v2)
 *   pieces       bitfield, high bit first (BEP 3 layout)
 *   files        list of [size, mtime-ms] per file, in torrent order
 *   uploaded / downloaded   totals in bytes
 *
 * Writes are atomic: a temp file in the same folder, fsync, rename over the old record. A
 * `kill -9` leaves either the previous record or the new one, never a torn file. The
 * {@link ResumeWriter} coalesces saves so that at most one write is in flight, and starts them
 * at least RESUME_SAVE_INTERVAL_MS apart; pieces verified during a write or that interval are
 * saved by the next one, which bounds what a crash can lose to the pieces in flight and those
 * verified in the last interval.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { asBytes, asDict, asInt, asList, decode, encode } from '../codec/index.js';
import { bytesEqual } from '../shared/hash.js';
import { MAX_RESUME_BYTES, RESUME_SAVE_INTERVAL_MS } from '../shared/limits.js';
import { StorageError } from './errors.js';

export interface ResumeRecord {
  readonly infoHashV1?: Uint8Array;
  readonly infoHashV2?: Uint8Array;
  /** Verified pieces, BEP 3 bitfield layout. */
  readonly pieces: Uint8Array;
  /** Size and modification time (ms) of each file when the record was written. */
  readonly files: readonly { readonly size: number; readonly mtimeMs: number }[];
  readonly uploaded: number;
  readonly downloaded: number;
  /** v2 piece layers fetched from peers (hex root → layer), so a restart need not fetch them. */
  readonly pieceLayers?: ReadonlyMap<string, Uint8Array>;
}

const FORMAT = 'shoal-resume';
const VERSION = 1;

export function encodeResume(r: ResumeRecord): Uint8Array {
  return encode({
    format: FORMAT,
    version: VERSION,
    'info-hash': r.infoHashV1,
    'info-hash2': r.infoHashV2,
    pieces: r.pieces,
    files: r.files.map((f) => [f.size, Math.floor(f.mtimeMs)]),
    uploaded: r.uploaded,
    downloaded: r.downloaded,
    'piece layers':
      r.pieceLayers === undefined || r.pieceLayers.size === 0
        ? undefined
        : new Map([...r.pieceLayers].map(([hex, layer]) => [Buffer.from(hex, 'hex'), layer] as const)),
  });
}

/**
 * Parses a resume record and checks it belongs to the torrent. Returns `undefined` (never
 * throws) for anything unusable, so a bad record only costs a recheck.
 */
export function decodeResume(
  bytes: Uint8Array,
  expect: {
    infoHashV1?: Uint8Array | undefined;
    infoHashV2?: Uint8Array | undefined;
    pieceCount: number;
    fileCount: number;
  },
): ResumeRecord | undefined {
  if (bytes.length > MAX_RESUME_BYTES) return undefined;
  let d: ReturnType<typeof asDict>;
  try {
    d = asDict(decode(bytes, { mode: 'lenient' }));
  } catch {
    return undefined;
  }
  if (d === undefined || asInt(d.get('version')) !== VERSION) return undefined;
  const v1 = asBytes(d.get('info-hash'));
  const v2 = asBytes(d.get('info-hash2'));
  if (expect.infoHashV1 !== undefined && (v1 === undefined || !bytesEqual(v1, expect.infoHashV1)))
    return undefined;
  if (expect.infoHashV2 !== undefined && (v2 === undefined || !bytesEqual(v2, expect.infoHashV2)))
    return undefined;
  const pieces = asBytes(d.get('pieces'));
  if (pieces === undefined || pieces.length !== Math.ceil(expect.pieceCount / 8)) return undefined;
  const list = asList(d.get('files'));
  if (list === undefined || list.length !== expect.fileCount) return undefined;
  const files: { size: number; mtimeMs: number }[] = [];
  for (const item of list) {
    const pair = asList(item);
    const size = asInt(pair?.[0]);
    const mtimeMs = asInt(pair?.[1]);
    if (size === undefined || mtimeMs === undefined || size < 0) return undefined;
    files.push({ size, mtimeMs });
  }
  const layers = new Map<string, Uint8Array>();
  const dict = asDict(d.get('piece layers'));
  for (const e of dict?.entries ?? []) {
    const layer = asBytes(e.value);
    if (e.key.length === 32 && layer !== undefined && layer.length % 32 === 0) {
      layers.set(Buffer.from(e.key).toString('hex'), new Uint8Array(layer));
    }
  }
  return {
    ...(layers.size > 0 ? { pieceLayers: layers } : {}),
    ...(v1 !== undefined ? { infoHashV1: new Uint8Array(v1) } : {}),
    ...(v2 !== undefined ? { infoHashV2: new Uint8Array(v2) } : {}),
    pieces: new Uint8Array(pieces),
    files,
    uploaded: Math.max(0, asInt(d.get('uploaded')) ?? 0),
    downloaded: Math.max(0, asInt(d.get('downloaded')) ?? 0),
  };
}

/**
 * Writes `data` to `path` atomically (temp file, then rename over the old one): a process that
 * dies at any moment leaves the old file or the new one. With `durable` (the default) the temp
 * file is fsynced first, so a power cut cannot leave an empty file either; frequent saves that
 * only need to survive a crash of the process skip it, because on ext4 an fsync can wait for the
 * journal to flush every other file's dirty data (the download itself).
 */
export async function writeFileAtomic(path: string, data: Uint8Array, durable = true): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(data);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (cause) {
    await unlink(tmp).catch(() => {});
    throw StorageError.from(cause, path, 'resume');
  }
}

/** Reads a resume file; `undefined` when missing or too large. */
export async function readResumeFile(path: string): Promise<Uint8Array | undefined> {
  try {
    const b = await readFile(path);
    return b.length > MAX_RESUME_BYTES ? undefined : new Uint8Array(b.buffer, b.byteOffset, b.length);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw StorageError.from(e, path, 'resume');
  }
}

/**
 * Coalesces resume saves: `schedule()` requests a save of the current state (taken from the
 * `snapshot` callback when the write starts); at most one write runs at a time, writes start at
 * least `intervalMs` apart, and requests made during a write or that wait lead to exactly one
 * more write.
 */
export class ResumeWriter {
  readonly #path: string;
  readonly #snapshot: () => Promise<ResumeRecord> | ResumeRecord;
  readonly #intervalMs: number;
  #running: Promise<void> | undefined;
  #dirty = false;
  #lastStart = Number.NEGATIVE_INFINITY;
  /** A save was asked for `now`: the next one does not wait for the interval. */
  #urgent = false;
  /** Ends the wait for the interval early (set while the loop waits). */
  #endWait: (() => void) | undefined;
  #lastError: StorageError | undefined;

  constructor(
    path: string,
    snapshot: () => Promise<ResumeRecord> | ResumeRecord,
    intervalMs = RESUME_SAVE_INTERVAL_MS,
  ) {
    this.#path = path;
    this.#snapshot = snapshot;
    this.#intervalMs = intervalMs;
  }

  get lastError(): StorageError | undefined {
    return this.#lastError;
  }

  /**
   * Asks for a save; returns a promise settled when the state at call time is on disk. With
   * `now` (someone waits for it: a pause, the end of a check) it does not wait for the interval
   * since the last save.
   */
  schedule(now = false): Promise<void> {
    this.#dirty = true;
    if (now) {
      this.#urgent = true;
      this.#endWait?.();
    }
    if (this.#running === undefined) this.#running = this.#loop();
    return this.#running;
  }

  /** Waits for any save in progress (and the one it may trigger). */
  async flush(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Writes the current state now, fsynced (for a clean shutdown). */
  async saveDurably(): Promise<void> {
    await this.flush();
    try {
      await writeFileAtomic(this.#path, encodeResume(await this.#snapshot()), true);
      this.#lastError = undefined;
    } catch (e) {
      this.#lastError = e instanceof StorageError ? e : StorageError.from(e, this.#path, 'resume');
    }
  }

  async #loop(): Promise<void> {
    try {
      while (this.#dirty) {
        const wait = this.#lastStart + this.#intervalMs - performance.now();
        if (wait > 0 && !this.#urgent) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => this.#endWait?.(), wait);
            this.#endWait = () => {
              clearTimeout(timer);
              this.#endWait = undefined;
              resolve();
            };
          });
        }
        this.#urgent = false;
        this.#lastStart = performance.now();
        this.#dirty = false;
        try {
          // Routine saves need only survive a process crash; close() saves durably.
          await writeFileAtomic(this.#path, encodeResume(await this.#snapshot()), false);
          this.#lastError = undefined;
        } catch (e) {
          this.#lastError = e instanceof StorageError ? e : StorageError.from(e, this.#path, 'resume');
        }
      }
    } finally {
      this.#running = undefined;
    }
  }
}
