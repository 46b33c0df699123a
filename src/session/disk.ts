/**
 * Disk decisions a user expects to be told about up front rather than halfway through: whether
 * the download folder has room for what is left to download (checked when a torrent starts),
 * full preallocation (`preallocation: 'full'`: files are written to their full length before any
 * peer is asked, so a full disk shows at once), and moving a torrent's files to another folder.
 */
import { copyFile, mkdir, open, rename, rmdir, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { joinSafe, type Metainfo, storagePath } from '../metainfo/index.js';
import { ErrorCode } from '../shared/errors.js';
import { StorageError } from '../storage/errors.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';
import type { SessionContext } from './context.js';
import { usableFolder } from './file-stream.js';

/** How files are allocated: `sparse` (space used as data arrives) or `full` (at once). */
export type Preallocation = 'sparse' | 'full';

/** Free bytes for an unprivileged writer on `dir`'s file system. */
export type FreeSpace = (dir: string) => Promise<number>;

/** The real free space of `dir`'s file system (statfs). */
export const statfsFreeSpace: FreeSpace = async (dir) => {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
};

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Rejects with `SHOAL_ERR_STORAGE_NO_SPACE` when `dir` cannot hold `needed` more bytes. `needed`
 * is what is left to download less what the files already hold (sparse files hold less).
 */
export async function checkFreeSpace(
  dir: string,
  needed: number,
  free: FreeSpace = statfsFreeSpace,
): Promise<void> {
  if (needed <= 0) return;
  const available = await free(dir);
  if (available < needed)
    throw new StorageError(
      ErrorCode.StorageNoSpace,
      `not enough free space in ${dir}: ${mib(needed)} to download, ${mib(available)} free`,
      dir,
      'write',
    );
}

/** Bytes the wanted files still need on disk: their lengths less what they hold now. */
export async function bytesToAllocate(
  storage: TorrentStorage,
  wanted: (file: number) => boolean,
): Promise<number> {
  const stats = await storage.fileStats();
  let n = 0;
  storage.metainfo.files.forEach((f, i) => {
    if (f.isPadding || !wanted(i)) return;
    n += Math.max(0, f.length - (stats[i]?.size ?? 0));
  });
  return n;
}

/** Bytes written per call while preallocating. */
const ZERO_CHUNK_BYTES = 1024 * 1024;

/**
 * Writes every wanted file out to its full length (zeros past what it holds), so the space is
 * taken now: a full disk fails here, with ENOSPC, not when a piece arrives.
 */
export async function preallocateFull(
  storage: TorrentStorage,
  wanted: (file: number) => boolean,
): Promise<void> {
  const zeros = new Uint8Array(ZERO_CHUNK_BYTES);
  for (let i = 0; i < storage.metainfo.files.length; i++) {
    const f = storage.metainfo.files[i]!;
    if (f.isPadding || !wanted(i) || f.length === 0) continue;
    const path = storage.filePath(i);
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(path, 'a+').catch((e: unknown) => {
      throw new StorageError(
        ErrorCode.StorageIo,
        `cannot open ${path}: ${(e as Error).message}`,
        path,
        'open',
        e,
      );
    });
    try {
      let at = (await fh.stat()).size;
      while (at < f.length) {
        const n = Math.min(ZERO_CHUNK_BYTES, f.length - at);
        await fh.write(zeros, 0, n, at);
        at += n;
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new StorageError(
        code === 'ENOSPC' ? ErrorCode.StorageNoSpace : ErrorCode.StorageIo,
        `cannot preallocate ${path}: ${code === 'ENOSPC' ? 'the disk is full' : (e as Error).message}`,
        path,
        'write',
        e,
      );
    } finally {
      await fh.close();
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Moves one file, across file systems too (copy, then remove the original). */
async function moveFile(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  try {
    await rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await copyFile(from, to);
    await unlink(from);
  }
}

/**
 * Moves a torrent's files (and its parts file) from `from`'s folder to `to`'s. Handles of the
 * old paths are closed first (`closeFile`). Folders the move left empty are removed, up to the
 * old download folder (never above it).
 */
export async function moveTorrentFiles(
  from: TorrentStorage,
  to: TorrentStorage,
  closeFile: (path: string) => Promise<void>,
): Promise<void> {
  const pairs: [string, string][] = [];
  from.metainfo.files.forEach((f, i) => {
    if (!f.isPadding) pairs.push([from.filePath(i), to.filePath(i)]);
  });
  pairs.push([from.partsPath, to.partsPath]);
  for (const [a, b] of pairs) {
    if (a === b) continue;
    await closeFile(a);
    if (await exists(a)) await moveFile(a, b);
  }
  // Empty folders left behind, deepest first, never above the old download folder.
  const dirs = new Set<string>();
  for (const [a] of pairs) {
    for (
      let d = dirname(a);
      relative(from.downloadDir, d) !== '' && !relative(from.downloadDir, d).startsWith('..');
      d = dirname(d)
    )
      dirs.add(d);
  }
  for (const d of [...dirs].sort((x, y) => y.split(sep).length - x.split(sep).length))
    await rmdir(d).catch(() => {});
  await rmdir(join(from.downloadDir, '.shoal')).catch(() => {});
}

/**
 * What a torrent's folder needs before any peer sends data: writable, with room for what is left
 * (and, with `full` preallocation, the files written out to their length).
 */
export async function prepareFolder(
  storage: TorrentStorage,
  wanted: (file: number) => boolean,
  free: FreeSpace,
  preallocation: Preallocation,
): Promise<void> {
  const dir = storage.downloadDir;
  await usableFolder(dir);
  await checkFreeSpace(dir, await bytesToAllocate(storage, wanted), free);
  if (preallocation === 'full') await preallocateFull(storage, wanted);
}

/** Moves a torrent's files to `dir` and returns the storage there (the piece layers carried over). */
export async function relocate(
  ctx: Pick<SessionContext, 'openStorage' | 'closeFile'>,
  from: TorrentStorage,
  dir: string,
  layers: ReadonlyMap<string, Uint8Array>,
): Promise<TorrentStorage> {
  const to = ctx.openStorage(from.metainfo, dir);
  await usableFolder(to.downloadDir);
  await moveTorrentFiles(from, to, (p) => ctx.closeFile(p));
  for (const [hex, layer] of layers) to.setPieceLayer(hex, layer);
  return to;
}

/**
 * A torrent downloaded in the incomplete folder: its files go to their own folder (`downloadDir`)
 * now; a failure is a warning, the data stays where it is.
 */
export function leaveIncompleteFolder(
  t: {
    readonly name: string;
    readonly downloadDir: string;
    moveStorage(dir: string): Promise<void>;
  },
  downloadDir: string | undefined,
  warn: (message: string) => void,
): void {
  if (downloadDir === undefined || resolve(downloadDir) === t.downloadDir) return;
  t.moveStorage(downloadDir).catch((e: unknown) =>
    warn(`cannot move ${t.name} out of the incomplete folder: ${(e as Error).message}`),
  );
}

/** True when a file of `m` exists under `dir` (its data was put or left there). */
export async function anyFileExists(m: Metainfo, dir: string): Promise<boolean> {
  for (const f of m.files) {
    if (f.isPadding) continue;
    try {
      await stat(joinSafe(dir, storagePath(m, f)));
      return true;
    } catch {}
  }
  return false;
}
