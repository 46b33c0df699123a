/**
 * A follower folder after a crash at each step of a switch (src/session/feeds/follow.ts): the
 * `current` link is the truth. Built by hand (two versions' folders, metadata, feed.json and the
 * link) and opened by a follower on a session without a DHT (nothing is fetched):
 * - crash after the link switch, before the state was written: the pending version becomes
 *   current, the old folder is deleted, the new version is seeded;
 * - crash before the switch: the old version stays current, the pending one is kept to resume;
 * - leftovers of abandoned versions are deleted; a missing link is made again;
 * - a folder of another feed, or a `current` that is not the follower's link, is refused.
 * Also the folder helpers: hard links by `pieces root` (moved files too), the atomic switch.
 */
import assert from 'node:assert/strict';
import { cp, lstat, mkdir, mkdtemp, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDhtKeyPair } from '../../src/discovery/index.js';
import { parseTorrent } from '../../src/metainfo/index.js';
import { encodeFeedState } from '../../src/session/feeds/feed-state.js';
import {
  feedLayout,
  linkUnchangedFiles,
  readCurrentLink,
  switchCurrent,
  versionDir,
  versionInfoPath,
} from '../../src/session/feeds/version-dir.js';
import { FeedFollower, type FeedState, Session } from '../../src/session/index.js';
import { ErrorCode, isShoalError } from '../../src/shared/errors.js';
import { toHex } from '../../src/shared/hash.js';
import { createTorrent, HashPool } from '../../src/storage/index.js';
import { pseudoRandomBytes, writeTree } from '../helpers/payload.js';

const isCode = (code: string) => (e: unknown) => isShoalError(e) && e.code === code;

describe('follower folders after a crash', { timeout: 60_000 }, () => {
  let tmp: string;
  const hashPool = new HashPool({ threads: 1 });
  let session: Session;
  const pair = createDhtKeyPair();
  const salt = new Uint8Array(0);
  /** Two versions of "data": v2 changes b.bin and moves c.bin to d/c.bin. */
  const versions: { seq: bigint; src: string; infoBytes: Uint8Array; ih: string }[] = [];

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'shoal-feeds-reconcile-'));
    session = await Session.create({ host: '127.0.0.1', hashPool, listen: false });
    for (const seq of [1n, 2n]) {
      const src = join(tmp, `src${seq}`, 'data');
      await writeTree(src, { 'a.bin': 40_000 }, 1);
      await writeFile(join(src, 'b.bin'), pseudoRandomBytes(30_000, Number(seq) * 10));
      await writeTree(src, { [seq === 1n ? 'c.bin' : 'd/c.bin']: 50_000 }, 5);
      const t = await createTorrent(src, { version: 'hybrid', pieceLength: 16384, hashPool });
      versions.push({ seq, src, infoBytes: t.infoBytes, ih: toHex(t.infoHashV1!) });
    }
  });
  after(async () => {
    await session?.close();
    await hashPool.destroy();
    await rm(tmp, { recursive: true, force: true });
  });

  /** A follower folder holding both versions, `pending` = 2, the link at `linkTo`. */
  async function folder(name: string, current: bigint, linkTo: bigint | undefined): Promise<string> {
    const dir = join(tmp, name);
    const l = feedLayout(dir);
    for (const v of versions) {
      await cp(v.src, join(versionDir(l, v.seq), 'data'), { recursive: true });
      await mkdir(l.metadataDir, { recursive: true });
      await writeFile(versionInfoPath(l, v.seq), v.infoBytes);
    }
    await mkdir(join(l.versionsDir, '9'), { recursive: true }); // an abandoned version
    const state: FeedState = {
      publicKey: pair.publicKey,
      salt,
      highestSeq: 2n,
      item: undefined,
      current,
      pending: 2n,
      versions: versions.map((v) => ({ seq: v.seq, infoHash: v.ih, seenAt: 1, name: 'data' })),
    };
    await writeFile(l.statePath, encodeFeedState(state));
    if (linkTo !== undefined)
      await symlink(join('.shoal', 'versions', String(linkTo), 'data'), l.currentLink);
    return dir;
  }

  const open = (dir: string) =>
    FeedFollower.open(session, { publicKey: pair.publicKey, dir, pollIntervalMs: 3_600_000 });

  test('crash after the switch: the linked version is current, the old one deleted', async () => {
    const dir = await folder('after-switch', 1n, 2n);
    const f = await open(dir);
    try {
      assert.equal(f.current()?.seq, 2n);
      assert.equal(f.pending(), undefined);
      assert.deepEqual((await readdir(feedLayout(dir).versionsDir)).sort(), ['2']);
      assert.equal(f.currentTorrent()?.state, 'seeding');
    } finally {
      await f.close();
    }
  });

  test('crash before the switch: v1 stays current, v2 is kept to resume', async () => {
    const dir = await folder('before-switch', 1n, 1n);
    const f = await open(dir);
    try {
      assert.equal(f.current()?.seq, 1n);
      assert.equal(f.pending()?.seq, 2n);
      assert.deepEqual((await readdir(feedLayout(dir).versionsDir)).sort(), ['1', '2'], 'version 9 deleted');
      assert.equal(await readCurrentLink(feedLayout(dir)), 1n);
      // v2's data is all there: the resumed download completes from disk and switches.
      const switched = await f.next('version:switched', AbortSignal.timeout(30_000));
      assert.equal(switched.seq, 2n);
      assert.equal(await readCurrentLink(feedLayout(dir)), 2n);
      assert.deepEqual(await readdir(feedLayout(dir).versionsDir), ['2']);
    } finally {
      await f.close();
    }
  });

  test('a missing link is made again', async () => {
    const dir = await folder('no-link', 1n, undefined);
    const f = await open(dir);
    try {
      assert.equal(await readlink(join(dir, 'current')), join('.shoal', 'versions', '1', 'data'));
    } finally {
      await f.close();
    }
  });

  test('another feed, or a current that is not the link, is refused', async () => {
    const dir = await folder('other', 1n, 1n);
    await assert.rejects(
      FeedFollower.open(session, { publicKey: createDhtKeyPair().publicKey, dir }),
      isCode(ErrorCode.FeedState),
    );
    const dir2 = await folder('squatted', 1n, undefined);
    await writeFile(join(dir2, 'current'), 'not a link');
    await assert.rejects(open(dir2), isCode(ErrorCode.FeedState));
    await rm(join(dir2, 'current'));
    await symlink('/etc', join(dir2, 'current'));
    await assert.rejects(open(dir2), isCode(ErrorCode.FeedState));
  });

  test('a session without a DHT refuses feed calls with SHOAL_ERR_FEED_NO_DHT', async () => {
    const noDht = isCode(ErrorCode.FeedNoDht);
    await assert.rejects(session.follow({ publicKey: pair.publicKey, dir: join(tmp, 'x') }), noDht);
    await assert.rejects(session.publish({ dir: tmp, keyPair: pair }), noDht);
    await assert.rejects(session.dhtGet({ publicKey: pair.publicKey }), noDht);
    await assert.rejects(session.dhtPut({ value: 1 }), noDht);
  });

  test('unchanged files are hard-linked by pieces root, moved ones too; the switch is one rename', async () => {
    const dir = join(tmp, 'links');
    const l = feedLayout(dir);
    await mkdir(l.stateDir, { recursive: true });
    const [m1, m2] = await Promise.all(
      versions.map(async (v) =>
        parseTorrent((await createTorrent(v.src, { version: 'hybrid', pieceLength: 16384, hashPool })).bytes),
      ),
    );
    await cp(versions[0]!.src, join(versionDir(l, 1n), 'data'), { recursive: true });
    const to = { metainfo: m2!, dir: versionDir(l, 2n) };
    const r = await linkUnchangedFiles([{ metainfo: m1!, dir: versionDir(l, 1n) }], to);
    const byName = (p: string) => m2!.files.findIndex((f) => f.path.join('/') === p);
    assert.deepEqual(
      [...r.reused].sort(),
      [byName('a.bin'), byName('d/c.bin')].sort(),
      'a.bin and the moved c.bin',
    );
    assert.equal(r.reusedBytes, 90_000);
    const ino = async (seq: bigint, rel: string) => (await stat(join(versionDir(l, seq), 'data', rel))).ino;
    assert.equal(await ino(2n, 'd/c.bin'), await ino(1n, 'c.bin'));
    await assert.rejects(lstat(join(versionDir(l, 2n), 'data', 'b.bin')), { code: 'ENOENT' });
    // Again (a restart): what is there stays.
    assert.equal(
      (await linkUnchangedFiles([{ metainfo: m1!, dir: versionDir(l, 1n) }], to)).reused.length,
      2,
    );

    await switchCurrent(l, 1n, 'data');
    assert.equal(await readCurrentLink(l), 1n);
    await switchCurrent(l, 2n, 'data');
    assert.equal(await readCurrentLink(l), 2n);
    assert.deepEqual(
      (await readdir(l.stateDir)).filter((n) => n.endsWith('.tmp')),
      [],
    );
  });
});
