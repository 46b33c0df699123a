/**
 * Path safety for the daemon: every folder an API request names must stay inside the allowed
 * folders (the default download folder and any configured extra ones), and deleting a torrent's
 * data only ever removes that torrent's own files inside its download folder.
 *
 * Checks are made on real paths (symbolic links resolved): a link inside an allowed folder that
 * points outside it does not make its target allowed.
 */
import { lstat, realpath, rmdir, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { joinSafe, type Metainfo, storagePath } from '../metainfo/index.js';
import { ErrorCode } from '../shared/errors.js';
import { MAX_API_PATH_LENGTH } from '../shared/limits.js';
import { ensureWritableDirectory, folderProblem, makeDirectory } from '../storage/index.js';
import { DaemonError } from './errors.js';

/** True when `p` is `root` or below it (both absolute and normalised). */
export function isInside(root: string, p: string): boolean {
  if (p === root) return true;
  const rel = relative(root, p);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

function unsafe(path: string, message: string, status: number): DaemonError {
  return new DaemonError(ErrorCode.DaemonUnsafePath, message, { path, status });
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest. */
export async function realpathLoose(p: string): Promise<string> {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      const real = await realpath(cur);
      return rest.length === 0 ? real : join(real, ...rest.reverse());
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      const parent = dirname(cur);
      if (parent === cur) return p;
      rest.push(cur.slice(parent.length).replace(/^\/+/, ''));
      cur = parent;
    }
  }
}

/**
 * Checks a folder named by a request and returns its real path, creating it if needed.
 * Relative paths are taken relative to `base` (the default download folder). Rejects: NUL bytes,
 * `..` components, over-long paths (400), and anything whose real path is outside every root
 * (403). `roots` must be real paths.
 */
export async function resolveAllowedDir(
  requested: string,
  base: string,
  roots: readonly string[],
): Promise<string> {
  if (requested.length === 0) throw unsafe(requested, 'downloadDir must not be empty', 400);
  if (requested.length > MAX_API_PATH_LENGTH)
    throw unsafe(requested.slice(0, 64), `downloadDir is longer than ${MAX_API_PATH_LENGTH} characters`, 400);
  if (requested.includes('\0')) throw unsafe(requested, 'downloadDir must not contain NUL bytes', 400);
  if (requested.split(/[/\\]/).includes('..'))
    throw unsafe(requested, `downloadDir must not contain '..' components: ${requested}`, 400);
  const abs = isAbsolute(requested) ? resolve(requested) : resolve(base, requested);
  const outside = () =>
    unsafe(
      abs,
      `downloadDir ${abs} is outside the allowed folders (${roots.join(', ')}); start the daemon with --allow-dir to allow more`,
      403,
    );
  const before = await realpathLoose(abs);
  if (!roots.some((r) => isInside(r, before))) throw outside();
  try {
    await makeDirectory(abs);
  } catch (e) {
    throw unsafe(abs, `cannot create downloadDir ${abs}: ${folderProblem(e, abs)}`, 400);
  }
  const real = await realpath(abs);
  if (!roots.some((r) => isInside(r, real))) throw outside();
  return real;
}

/**
 * The folder a request downloads into: `requested` checked by {@link resolveAllowedDir}, or the
 * default `downloadDir`; either must be writable (else `DaemonState`, HTTP 409).
 */
export async function resolveDownloadDir(
  requested: string | undefined,
  downloadDir: string,
  roots: readonly string[],
): Promise<string> {
  const dir = requested === undefined ? downloadDir : await resolveAllowedDir(requested, downloadDir, roots);
  try {
    await ensureWritableDirectory(dir);
  } catch (e) {
    throw new DaemonError(
      ErrorCode.DaemonState,
      `cannot download into ${dir}: ${folderProblem(e, dir)}`,
      { path: dir, status: 409 },
      { cause: e },
    );
  }
  return dir;
}

/** What {@link deleteTorrentData} did. */
export interface DeleteReport {
  /** Files removed. */
  readonly deleted: number;
  /** Paths left in place, with why. */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

/**
 * Deletes the files of a torrent under `downloadDir`, then the folders that held them if they are
 * left empty (never `downloadDir` itself). A path whose real location is not inside the real
 * `downloadDir` (a symbolic link on the way) is left alone and reported; so is a file replaced by
 * a symbolic link.
 */
export async function deleteTorrentData(metainfo: Metainfo, downloadDir: string): Promise<DeleteReport> {
  const root = await realpath(downloadDir).catch(() => undefined);
  if (root === undefined) return { deleted: 0, skipped: [] };
  const skipped: { path: string; reason: string }[] = [];
  const dirs = new Set<string>();
  let deleted = 0;
  for (const f of metainfo.files) {
    if (f.isPadding) continue;
    const rel = storagePath(metainfo, f);
    const path = joinSafe(root, rel);
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(path);
    } catch {
      continue; // never created, or already gone
    }
    if (!st.isFile()) {
      skipped.push({ path, reason: st.isSymbolicLink() ? 'symbolic link' : 'not a regular file' });
      continue;
    }
    const parent = await realpath(dirname(path)).catch(() => undefined);
    if (parent === undefined || !isInside(root, parent)) {
      skipped.push({ path, reason: 'outside the download folder' });
      continue;
    }
    try {
      await unlink(join(parent, rel[rel.length - 1]!));
      deleted++;
    } catch (e) {
      skipped.push({ path, reason: (e as Error).message });
      continue;
    }
    for (let d = dirname(path); d !== root && isInside(root, d); d = dirname(d)) dirs.add(d);
  }
  // The torrent's parts file (bytes of unselected files), and its hidden folder if left empty.
  const id = metainfo.infoHashV1 ?? metainfo.infoHashV2;
  if (id !== undefined) {
    const hidden = join(root, '.shoal');
    const parts = join(hidden, `${Buffer.from(id).toString('hex')}.parts`);
    const st = await lstat(parts).catch(() => undefined);
    if (st?.isFile() === true) await unlink(parts).catch(() => {});
    await rmdir(hidden).catch(() => {}); // not empty: other torrents' parts stay
  }
  // Deepest first, so a folder is tried after its subfolders.
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    const real = await realpath(d).catch(() => undefined);
    if (real === undefined || real === root || !isInside(root, real)) continue;
    await rmdir(real).catch(() => {}); // not empty: the user's own files stay
  }
  return { deleted, skipped };
}
