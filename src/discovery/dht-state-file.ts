/**
 * The DHT state file (BEP 5: "the routing table should be saved between invocations"): one file
 * holding each family's saved routing table, written atomically (temp file, fsync, rename) so a
 * crash at any moment leaves either the old file or the new one, never a torn one.
 *
 * Layout (bencoded dictionary; keys sorted as bencode requires):
 *
 *   d 6:format 9:shoal-dht  4:ipv4 <DhtNode.saveState bytes>  4:ipv6 <…>  1:v i1e e
 *
 * `ipv4` / `ipv6` are present for the families that ran. Their contents are owned by the pure
 * node (`RoutingTable.toBytes`) and checked again when the node loads them.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BencodeDict, BencodeError, decode, encode } from '../codec/index.js';
import { DhtError } from '../dht/index.js';
import { ErrorCode } from '../shared/errors.js';
import { MAX_DHT_STATE_FILE_BYTES } from '../shared/limits.js';
import { writeFileAtomic } from '../storage/index.js';

const FORMAT = new TextEncoder().encode('shoal-dht');
const VERSION = 1;

/** The saved routing tables of both address families. */
export interface DhtSavedState {
  /** `DhtNode.saveState()` of the IPv4 node. */
  readonly ipv4?: Uint8Array;
  /** `DhtNode.saveState()` of the IPv6 node (BEP 32). */
  readonly ipv6?: Uint8Array;
}

/** Encodes the state file's bytes. */
export function encodeDhtState(state: DhtSavedState): Uint8Array {
  return encode({
    format: FORMAT,
    v: VERSION,
    ...(state.ipv4 === undefined ? {} : { ipv4: state.ipv4 }),
    ...(state.ipv6 === undefined ? {} : { ipv6: state.ipv6 }),
  });
}

/** Decodes a state file; throws `DhtBadState` for anything that is not one. */
export function decodeDhtState(bytes: Uint8Array): DhtSavedState {
  const fail = (why: string) => new DhtError(ErrorCode.DhtBadState, `DHT state file: ${why}`);
  if (bytes.length > MAX_DHT_STATE_FILE_BYTES) throw fail(`larger than ${MAX_DHT_STATE_FILE_BYTES} bytes`);
  let d: unknown;
  try {
    d = decode(bytes, { mode: 'strict', maxDepth: 2 });
  } catch (e) {
    if (e instanceof BencodeError) throw fail(e.message);
    throw e;
  }
  if (!(d instanceof BencodeDict)) throw fail('not a dictionary');
  const format = d.get('format');
  if (!(format instanceof Uint8Array) || Buffer.compare(format, FORMAT) !== 0) throw fail('unknown format');
  if (d.get('v') !== VERSION) throw fail('unknown version');
  const out: { ipv4?: Uint8Array; ipv6?: Uint8Array } = {};
  for (const key of ['ipv4', 'ipv6'] as const) {
    const v = d.get(key);
    if (v === undefined) continue;
    if (!(v instanceof Uint8Array)) throw fail(`"${key}" is not a byte string`);
    out[key] = v;
  }
  return out;
}

/**
 * Reads the state file at `path`: undefined when there is none, `DhtBadState` when it is corrupt
 * or too large, other errors (permissions) as thrown by node:fs.
 */
export async function readDhtStateFile(path: string): Promise<DhtSavedState | undefined> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (size > MAX_DHT_STATE_FILE_BYTES) {
    throw new DhtError(
      ErrorCode.DhtBadState,
      `DHT state file: larger than ${MAX_DHT_STATE_FILE_BYTES} bytes`,
    );
  }
  // A plain Uint8Array, not a Buffer view of node's pool: what the nodes keep must not alias it.
  return decodeDhtState(new Uint8Array(await readFile(path)));
}

/**
 * Writes the state file atomically (the storage layer's temp file, fsync, rename), creating its
 * folder first. Rejects with the storage layer's error when the disk refuses.
 */
export async function writeDhtStateFile(path: string, state: DhtSavedState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, encodeDhtState(state));
}

/** What a {@link DhtStateStore} reports. */
export interface DhtStateStoreHooks {
  saved(path: string, nodes: number): void;
  failed(path: string, op: 'load' | 'save', message: string): void;
}

/**
 * A runtime's state file over time: the load at start, saves that run one after another (so an
 * older snapshot never overwrites a newer one), and the periodic save timer. Failures are
 * reported through the hooks and never thrown. Without a path it does nothing.
 */
export class DhtStateStore {
  readonly path: string | undefined;
  readonly #hooks: DhtStateStoreHooks;
  #saving: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(path: string | undefined, hooks: DhtStateStoreHooks) {
    this.path = path;
    this.#hooks = hooks;
  }

  /** The saved state, or undefined when there is none or it cannot be read (reported). */
  async load(): Promise<DhtSavedState | undefined> {
    const path = this.path;
    if (path === undefined) return undefined;
    try {
      return await readDhtStateFile(path);
    } catch (e) {
      this.#hooks.failed(path, 'load', errorMessage(e));
      return undefined;
    }
  }

  /** Writes `state` (of `nodes` nodes) after the saves before it; resolves true once written. */
  save(state: DhtSavedState, nodes: number): Promise<boolean> {
    const path = this.path;
    if (path === undefined) return Promise.resolve(false);
    const run = this.#saving.then(
      () =>
        writeDhtStateFile(path, state).then(
          () => {
            this.#hooks.saved(path, nodes);
            return true;
          },
          (e: unknown) => {
            this.#hooks.failed(path, 'save', errorMessage(e));
            return false;
          },
        ),
      () => false,
    );
    this.#saving = run.then(() => undefined);
    return run;
  }

  /** Calls `tick` every `intervalMs` (0: never) while there is a path, until {@link stop}. */
  every(intervalMs: number, tick: () => void): void {
    if (this.path === undefined || intervalMs <= 0) return;
    clearInterval(this.#timer);
    this.#timer = setInterval(tick, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer; resolves once the saves already asked for are done. */
  stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    return this.#saving;
  }

  /** Resolves once the saves already asked for are done. */
  settled(): Promise<void> {
    return this.#saving;
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
