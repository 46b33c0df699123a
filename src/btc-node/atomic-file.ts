/**
 * Small state files written atomically, like resume data: a temp file in the same folder,
 * fsync, rename over the old one. A crash leaves the previous file or the new one, never a torn
 * one. Reads are bounded.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { BtcError } from '../bitcoin/index.js';
import { ErrorCode } from '../shared/errors.js';

/** Writes `bytes` to `path` atomically. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/** The file's bytes, or undefined when it does not exist; `BtcBadState` when it is over `maxBytes`. */
export async function readFileBounded(path: string, maxBytes: number): Promise<Buffer | undefined> {
  try {
    const s = await stat(path);
    if (s.size > maxBytes)
      throw new BtcError(ErrorCode.BtcBadState, `${path} is ${s.size} bytes, more than ${maxBytes}`);
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
