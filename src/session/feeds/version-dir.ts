/**
 * The folders of a follower (`shoal follow -o DIR`):
 *
 *   DIR/current                    -> .shoal/versions/<seq>/<name>   (a relative symbolic link)
 *   DIR/.shoal/feed.json           the follower's state (feed-state.ts)
 *   DIR/.shoal/versions/<seq>/     one folder per version: the current one, and the one being
 *                                  downloaded (staged); `<name>` is the torrent's name
 *   DIR/.shoal/metadata/<seq>.info  each of those versions' info dictionary (BEP 9 metadata)
 *   DIR/.shoal/resume/, dht.state  resume records and the DHT table (when the CLI runs it)
 *
 * Readers use `DIR/current`. It only ever points at a complete, verified version: a new version
 * is downloaded into its own folder, the files it shares with the current version (same v2
 * `pieces root` and length) hard-linked in first (copied where links fail), and once every piece
 * is verified the link is replaced in one `rename(2)` of a new link over the old one. A path
 * opened through `DIR/current` therefore shows one version or the other, never a mix; a reader
 * that walks many files resolves the link once (`realpath`) and reads under that folder. The
 * previous version's folder is deleted right after the switch (files already open stay readable).
 */
import { constants } from 'node:fs';
import {
  copyFile,
  link,
  mkdir,
  open,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  unlink,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { joinSafe, type Metainfo, storagePath } from '../../metainfo/index.js';
import { ErrorCode } from '../../shared/errors.js';
import { toHex } from '../../shared/hash.js';
import { FeedError } from './errors.js';

/** The follower's folders and files under `root` (see the module docs). */
export interface FeedLayout {
  readonly root: string;
  readonly stateDir: string;
  readonly statePath: string;
  readonly versionsDir: string;
  readonly metadataDir: string;
  readonly resumeDir: string;
  readonly dhtStatePath: string;
  /** `root/current`. */
  readonly currentLink: string;
}

/** Name of the link readers use. */
export const FEED_CURRENT_LINK = 'current';
/** Name of the follower's own folder inside its output folder. */
export const FEED_STATE_DIR = '.shoal';

/** The layout of a follower folder (an absolute path). */
export function feedLayout(root: string): FeedLayout {
  const stateDir = join(root, FEED_STATE_DIR);
  return {
    root,
    stateDir,
    statePath: join(stateDir, 'feed.json'),
    versionsDir: join(stateDir, 'versions'),
    metadataDir: join(stateDir, 'metadata'),
    resumeDir: join(stateDir, 'resume'),
    dhtStatePath: join(stateDir, 'dht.state'),
    currentLink: join(root, FEED_CURRENT_LINK),
  };
}

/** The folder of version `seq` (its torrent's download folder). */
export function versionDir(layout: FeedLayout, seq: bigint): string {
  return join(layout.versionsDir, seq.toString());
}

/** The saved info dictionary of version `seq`. */
export function versionInfoPath(layout: FeedLayout, seq: bigint): string {
  return join(layout.metadataDir, `${seq}.info`);
}

/** What `DIR/current` may point at (relative, inside the follower's folder). */
const LINK_TARGET = /^\.shoal\/versions\/(0|[1-9][0-9]{0,18})\/[^/]+$/;

/**
 * The version `DIR/current` points at: undefined when there is no link; throws
 * `SHOAL_ERR_FEED_STATE` when `DIR/current` is something else (a file or folder someone put
 * there, a link elsewhere).
 */
export async function readCurrentLink(layout: FeedLayout): Promise<bigint | undefined> {
  let target: string;
  try {
    target = await readlink(layout.currentLink);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new FeedError(
      ErrorCode.FeedState,
      code === 'EINVAL'
        ? `${layout.currentLink} exists and is not the follower's link; move it away`
        : `cannot read ${layout.currentLink}: ${(e as Error).message}`,
      { path: layout.currentLink },
      { cause: e },
    );
  }
  const m = LINK_TARGET.exec(target);
  if (m === null) {
    throw new FeedError(
      ErrorCode.FeedState,
      `${layout.currentLink} points at ${target}, not at a version of this feed; move it away`,
      { path: layout.currentLink },
    );
  }
  return BigInt(m[1]!);
}

async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Points `DIR/current` at version `seq` (whose top-level entry is `name`) in one atomic step: a
 * new link is made beside it and renamed over it, then the folder is synced.
 */
export async function switchCurrent(layout: FeedLayout, seq: bigint, name: string): Promise<void> {
  const target = join(FEED_STATE_DIR, 'versions', seq.toString(), name);
  const tmp = join(layout.stateDir, `current.${seq}.tmp`);
  await unlink(tmp).catch(() => {});
  await symlink(target, tmp);
  await rename(tmp, layout.currentLink);
  await syncDir(layout.root);
}

/** A complete version files can be reused from. */
export interface ReuseSource {
  readonly metainfo: Metainfo;
  /** Its download folder. */
  readonly dir: string;
}

/** What {@link linkUnchangedFiles} did. */
export interface ReuseResult {
  /** New-version file indices (metainfo numbering) present from an earlier version. */
  readonly reused: readonly number[];
  readonly reusedBytes: number;
  /** Of those, how many had to be copied because a hard link failed. */
  readonly copied: number;
}

/**
 * Puts into `to.dir` every file of `to.metainfo` that a source holds unchanged: same v2 `pieces
 * root` and same length, wherever it sits (a moved or renamed file is found too). It is
 * hard-linked, or copied (a reflink where the file system can) if linking fails. A destination
 * that already exists (a restart) is left as it is. The torrent verifies every such file when it
 * starts, so a damaged source costs only a download, never a wrong byte.
 */
export async function linkUnchangedFiles(
  sources: readonly ReuseSource[],
  to: ReuseSource,
): Promise<ReuseResult> {
  const byRoot = new Map<string, string>();
  for (const s of sources) {
    for (const f of s.metainfo.files) {
      if (f.isPadding || f.piecesRoot === undefined || f.length === 0) continue;
      const key = `${toHex(f.piecesRoot)}:${f.length}`;
      if (!byRoot.has(key)) byRoot.set(key, joinSafe(s.dir, storagePath(s.metainfo, f)));
    }
  }
  const reused: number[] = [];
  let reusedBytes = 0;
  let copied = 0;
  for (const [i, f] of to.metainfo.files.entries()) {
    if (f.isPadding || f.piecesRoot === undefined || f.length === 0) continue;
    const src = byRoot.get(`${toHex(f.piecesRoot)}:${f.length}`);
    if (src === undefined) continue;
    const dest = joinSafe(to.dir, storagePath(to.metainfo, f));
    await mkdir(dirname(dest), { recursive: true });
    try {
      await link(src, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        reused.push(i);
        reusedBytes += f.length;
        continue;
      }
      if (code === 'ENOENT') continue; // the source is gone: download it
      try {
        await copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        copied++;
      } catch {
        continue;
      }
    }
    reused.push(i);
    reusedBytes += f.length;
  }
  return { reused, reusedBytes, copied };
}

/**
 * Deletes every version folder and saved info dictionary except those of `keep` (what a crash or an
 * abandoned download left behind).
 */
export async function removeOtherVersions(layout: FeedLayout, keep: readonly bigint[]): Promise<void> {
  const kept = new Set(keep.map((s) => s.toString()));
  for (const [dir, suffix] of [
    [layout.versionsDir, ''],
    [layout.metadataDir, '.info'],
  ] as const) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      const seq = suffix === '' ? n : n.endsWith(suffix) ? n.slice(0, -suffix.length) : n;
      if (kept.has(seq)) continue;
      await rm(join(dir, n), { recursive: true, force: true });
    }
  }
  for (const n of await readdir(layout.stateDir).catch(() => [] as string[])) {
    if (/^current\.\d+\.tmp$/.test(n)) await rm(join(layout.stateDir, n), { force: true });
  }
}

/** Deletes version `seq`'s folder and info dictionary. */
export async function removeVersion(layout: FeedLayout, seq: bigint): Promise<void> {
  await rm(versionDir(layout, seq), { recursive: true, force: true });
  await rm(versionInfoPath(layout, seq), { force: true });
}
