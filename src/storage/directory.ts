/**
 * Folders: creating them (with their parents) so that a failure is reported once with its real
 * cause, and checking that files can be written in them.
 *
 * Node's `mkdir(path, { recursive: true })` never returns for some paths: in `/proc` (and other
 * kernel file systems) `mkdir('/proc/x')` fails with ENOENT although `/proc` exists, so the
 * recursive walk creates the parent (EEXIST, fine) and tries the child again, forever, at
 * 100 % CPU (`shoal download -o /proc/x` spun). {@link makeDirectory} walks up once and down
 * once, and a child that still cannot be made after its parent exists is an error.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ErrorCode } from '../shared/errors.js';
import { StorageError } from './errors.js';

function errnoOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** Plain words for the errno codes a folder can fail with. */
export function explainErrno(code: string | undefined): string | undefined {
  switch (code) {
    case 'EROFS':
      return 'the file system is read-only';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'ENOSPC':
      return 'the disk is full';
    case 'EDQUOT':
      return 'the disk quota is exhausted';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    case 'ENOENT':
      return 'the file system does not allow creating it there';
    case 'EEXIST':
      return 'a file of that name is in the way';
    default:
      return undefined;
  }
}

function folderError(path: string, what: string, cause: unknown): StorageError {
  const errno = errnoOf(cause);
  const why = explainErrno(errno) ?? (cause instanceof Error ? cause.message : String(cause));
  const e = new StorageError(
    ErrorCode.StorageIo,
    `cannot ${what} ${path}: ${why}${errno !== undefined ? ` (${errno})` : ''}`,
    path,
    'mkdir',
    cause,
  );
  problems.set(e, `${why}${errno !== undefined ? ` (${errno})` : ''}`);
  return e;
}

const problems = new WeakMap<object, string>();

/**
 * What went wrong with folder `dir`, for a message that names `dir` already: only the cause
 * ("the file system is read-only (EROFS)") when the error is about `dir` itself, else the whole
 * message (a parent folder failed).
 */
export function folderProblem(e: unknown, dir: string): string {
  if (e instanceof StorageError && e.details.path === resolve(dir)) {
    const why = problems.get(e);
    if (why !== undefined) return why;
  }
  return e instanceof Error ? e.message : String(e);
}

async function makeOne(dir: string, mode: number | undefined, depth: number): Promise<void> {
  try {
    await mkdir(dir, mode === undefined ? undefined : { mode });
    return;
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'EEXIST') {
      const st = await stat(dir).catch(() => undefined);
      if (st?.isDirectory() === true) return;
      throw folderError(
        dir,
        'create the folder',
        Object.assign(new Error('not a folder'), { code: 'ENOTDIR' }),
      );
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir || depth > 4096) throw folderError(dir, 'create the folder', e);
    await makeOne(parent, mode, depth + 1);
    // The parent exists now: a second ENOENT (as in /proc) is final.
    try {
      await mkdir(dir, mode === undefined ? undefined : { mode });
    } catch (again) {
      if (errnoOf(again) === 'EEXIST' && (await stat(dir).catch(() => undefined))?.isDirectory() === true)
        return;
      throw folderError(dir, 'create the folder', again);
    }
  }
}

/**
 * Creates `dir` and any missing parents (like `mkdir -p`). Rejects once, with a
 * {@link StorageError} (`op: 'mkdir'`) whose message names the path and the cause in plain
 * words (read-only file system, permission denied, …) and whose `details.errno` keeps the code.
 */
export function makeDirectory(dir: string, options: { mode?: number } = {}): Promise<void> {
  return makeOne(resolve(dir), options.mode, 0);
}

/**
 * Creates `dir` if needed and proves that files can be created in it, by creating and deleting
 * an empty hidden file (`access(W_OK)` says yes to root on a read-only mount point's folders
 * and to folders root may not write through ACLs). Rejects like {@link makeDirectory}, with
 * "cannot write in <dir>: the file system is read-only (EROFS)" and the like.
 */
export async function ensureWritableDirectory(dir: string): Promise<void> {
  const abs = resolve(dir);
  await makeDirectory(abs);
  const probe = join(abs, `.shoal-write-test-${randomBytes(6).toString('hex')}`);
  try {
    const fh = await open(probe, 'wx', 0o600);
    await fh.close();
  } catch (e) {
    throw folderError(abs, 'write in', e);
  }
  await unlink(probe).catch(() => {});
}
