/**
 * Whether a download folder can take data, asked before any peer sends some: a folder that
 * cannot be made or written (read-only media, no permission, a file in the way) fails the torrent
 * at once with the real cause, not with the first block's write halfway through.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, ShoalError } from '../shared/errors.js';

/** What an errno means for a user, in words. */
function plain(code: string | undefined): string {
  switch (code) {
    case 'EROFS':
      return 'it is on a read-only file system';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a file is in the way of its path';
    case 'ENOSPC':
      return 'the disk is full';
    case 'ENOENT':
      return 'its path does not exist';
    default:
      return code ?? 'unknown error';
  }
}

/** Makes `dir` (and its parents) and proves a file can be written in it; else a `StorageIo` error. */
export async function ensureWritableDir(dir: string): Promise<void> {
  const probe = join(dir, `.shoal-write-test-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ShoalError(
      ErrorCode.StorageIo,
      `cannot write to the download folder ${dir}: ${plain(code)}${code !== undefined ? ` (${code})` : ''}`,
      { path: dir, op: 'write' },
      { cause: e },
    );
  }
  await rm(probe, { force: true });
}
