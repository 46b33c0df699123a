/**
 * Feeds end to end (issue 22): a publisher and a follower on a 24-node loopback DHT
 * (createDhtTestnet, nothing leaves 127.0.0.1).
 *
 * 1. Publish v1 of a 100-file folder; the follower completes it (sha256 of every file equal).
 *    Change 1 file, add 1, remove 1, publish again: the follower reaches v2 with every sha256
 *    equal, the removed file gone, and payload downloaded no more than the changed and added
 *    files (piece-rounded) — the 98 unchanged files are hard-linked, never fetched. The time from
 *    the second publish to the follower's switch is measured (docs/BENCHMARKS.md).
 * 2. Hostile DHT: a lying node whose id is the closest to the feed's target answers every `get`
 *    with a forged item (seq 99, a bad signature) and then with a replay of the old, validly
 *    signed seq-1 item. The forged item never reaches the follower; the replay, with the liar as
 *    the only node a restarted follower can reach, does not roll it back.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { lstat, mkdtemp, readdir, readlink, realpath, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encode } from '../../src/codec/index.js';
import {
  decodeKrpc,
  encodeKrpc,
  type KrpcResponse,
  type MutableItem,
  mutableTarget,
} from '../../src/dht/index.js';
import {
  createDhtKeyPair,
  createDhtTestnet,
  type DhtTestnet,
  LOOPBACK_DHT_NODE_OPTIONS,
} from '../../src/discovery/index.js';
import type { FeedFollower, FeedFollowerEvents, FeedPublication } from '../../src/session/index.js';
import { Session } from '../../src/session/index.js';
import { toHex } from '../../src/shared/hash.js';
import { HashPool } from '../../src/storage/index.js';
import { pseudoRandomBytes, sha256File, writeTree } from '../helpers/payload.js';

const PIECE = 16 * 1024;
const FILES = 100;
const OP_TIMEOUT_MS = 60_000;

/** 100 files of 3 KiB to 100 KiB in a few folders (deterministic). */
function tree(): Record<string, number> {
  const files: Record<string, number> = {};
  for (let i = 0; i < FILES; i++)
    files[`d${i % 7}/file-${String(i).padStart(3, '0')}.bin`] = 3 * 1024 + ((i * 7919) % 97) * 1024;
  return files;
}

async function digests(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(r);
      else out.set(r, await sha256File(join(root, r)));
    }
  };
  await walk('');
  return out;
}

function next<K extends keyof FeedFollowerEvents>(
  f: FeedFollower,
  event: K,
  pred: (e: FeedFollowerEvents[K]) => boolean = () => true,
): Promise<FeedFollowerEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      f.off(event, on);
      reject(new Error(`no ${event} within ${OP_TIMEOUT_MS} ms`));
    }, OP_TIMEOUT_MS);
    const on = (e: FeedFollowerEvents[K]) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      f.off(event, on);
      resolve(e);
    };
    f.on(event, on);
  });
}

const roundUp = (n: number) => Math.ceil(n / PIECE) * PIECE;

/**
 * A DHT node that lies: it answers `ping`/`find_node`/`get_peers`/`put` like a node that knows
 * nobody, and every `get` with `item()` (a forged or replayed item) and a token.
 */
class LyingNode {
  readonly socket: Socket = createSocket('udp4');
  readonly id: Uint8Array;
  gets = 0;
  item: () => { v: Uint8Array; k: Uint8Array; seq: bigint; sig: Uint8Array };

  constructor(id: Uint8Array, item: LyingNode['item']) {
    this.id = id;
    this.item = item;
    this.socket.on('message', (msg, rinfo) => {
      let q: ReturnType<typeof decodeKrpc>;
      try {
        q = decodeKrpc(new Uint8Array(msg));
      } catch {
        return;
      }
      if (q.y !== 'q') return;
      const r: KrpcResponse = { y: 'r', t: q.t, id: this.id };
      let out: KrpcResponse = r;
      if (q.method === 'find_node' || q.method === 'get_peers')
        out = { ...r, nodes: [], token: new Uint8Array(8) };
      if (q.method === 'get') {
        this.gets++;
        out = { ...r, nodes: [], token: new Uint8Array(8).fill(7), item: this.item() };
      }
      this.socket.send(encodeKrpc(out), rinfo.port, rinfo.address);
    });
  }

  async start(): Promise<{ host: string; port: number }> {
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', r));
    return { host: '127.0.0.1', port: this.socket.address().port };
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

describe('feeds: publish and follow on a 24-node loopback DHT', { timeout: 240_000 }, () => {
  let net: DhtTestnet;
  let tmp: string;
  const hashPool = new HashPool({ threads: 1 });
  const sessions: Session[] = [];
  const liars: LyingNode[] = [];
  const keyPair = createDhtKeyPair();
  const salt = new TextEncoder().encode('dataset');
  let srcRoot: string;
  let followDir: string;
  let v1Item: MutableItem | undefined;
  let pub2Ref: FeedPublication | undefined;

  const session = async (
    extra: { bootstrap?: { host: string; port: number }[]; resumeDir?: string } = {},
  ) => {
    const s = await Session.create({
      host: '127.0.0.1',
      hashPool,
      dht: { bootstrap: extra.bootstrap ?? net.bootstrap, node: LOOPBACK_DHT_NODE_OPTIONS },
      ...(extra.resumeDir !== undefined ? { resumeDir: extra.resumeDir } : {}),
    });
    sessions.push(s);
    return s;
  };

  before(async () => {
    net = await createDhtTestnet({ size: 24 });
    tmp = await mkdtemp(join(tmpdir(), 'shoal-feeds-'));
    srcRoot = join(tmp, 'pub', 'dataset');
    followDir = join(tmp, 'follow');
    await writeTree(srcRoot, tree(), 22);
  });
  after(async () => {
    for (const s of sessions) await s.close();
    for (const l of liars) await l.close();
    await net?.close();
    await hashPool.destroy();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  test('v1 is followed, then v2 arrives fetching only the changed and added files', async (t) => {
    const publisher = await session();
    const pub1 = await publisher.publish({
      dir: srcRoot,
      keyPair,
      salt,
      pieceLength: PIECE,
      reputIntervalMs: 0,
    });
    assert.equal(pub1.seq, 1n);
    assert.ok(pub1.isNewVersion);
    assert.ok(pub1.put.storedTo >= 4, `stored on ${pub1.put.storedTo} nodes`);
    assert.match(pub1.magnet, /^magnet:\?xs=urn:btpk:[0-9a-f]{64}&s=64617461736574$/);
    v1Item = pub1.put.item as MutableItem;

    const follower = await session({ resumeDir: join(followDir, '.shoal', 'resume') });
    const f = await follower.follow({
      publicKey: keyPair.publicKey,
      salt,
      dir: followDir,
      pollIntervalMs: 300,
    });
    const first = await next(f, 'version:switched');
    assert.equal(first.seq, 1n);
    assert.equal(first.fetchedFiles, FILES);
    const want1 = await digests(srcRoot);
    assert.equal(want1.size, FILES);
    assert.deepEqual(await digests(join(followDir, 'current')), want1);
    assert.equal(await readlink(join(followDir, 'current')), join('.shoal', 'versions', '1', 'dataset'));

    // The update: one file changed (and grown), one added, one removed.
    const changed = 'd3/file-010.bin';
    const added = 'd9/new.bin';
    const removed = 'd4/file-004.bin';
    await writeFile(join(srcRoot, changed), pseudoRandomBytes(70_000, 999));
    await writeTree(srcRoot, { [added]: 45_000 }, 1234);
    await unlink(join(srcRoot, removed));
    await pub1.close();
    const inode = async (rel: string) => (await stat(join(followDir, 'current', rel))).ino;
    const unchangedInode = await inode('d0/file-000.bin');

    const switched = next(f, 'version:switched', (e) => e.seq === 2n);
    const t0 = performance.now();
    const pub2 = await publisher.publish({
      dir: srcRoot,
      keyPair,
      salt,
      pieceLength: PIECE,
      reputIntervalMs: 0,
    });
    const tPut = performance.now();
    assert.equal(pub2.seq, 2n);
    const second = await switched;
    const tFollow = performance.now();

    const want2 = await digests(srcRoot);
    assert.equal(want2.size, FILES);
    assert.deepEqual(await digests(join(followDir, 'current')), want2, 'every sha256 equal to v2');
    await assert.rejects(lstat(join(followDir, 'current', removed)), { code: 'ENOENT' });
    assert.equal(
      await inode('d0/file-000.bin'),
      unchangedInode,
      'an unchanged file is the same inode (hard link)',
    );
    assert.deepEqual(await readdir(join(followDir, '.shoal', 'versions')), ['2'], 'v1 folder removed');
    assert.equal(second.reusedFiles, FILES - 2);
    assert.equal(second.fetchedFiles, 2);
    assert.equal(second.removedFiles, 1);

    // Bytes: the new version's torrent received the changed and added files' pieces, nothing else.
    const torrent = f.currentTorrent()!;
    const s = torrent.stats();
    const received = s.downloadedBytes + s.wastedBytes;
    const changedAdded = 70_000 + 45_000;
    assert.ok(received >= changedAdded, `received ${received}`);
    assert.ok(received <= roundUp(70_000) + roundUp(45_000), `received ${received} > the two files' pieces`);
    assert.equal(second.downloadedBytes, s.totalDownloaded);
    const metadataBytes = torrent.metainfo.infoBytes.length;
    t.diagnostic(
      `publish→follow ${(tFollow - t0).toFixed(0)} ms (of which publish ${(tPut - t0).toFixed(0)} ms: hash 101 files, get + put); ` +
        `payload ${received} B for ${changedAdded} B changed+added (${FILES - 2} files reused); info dict ${metadataBytes} B`,
    );
    assert.deepEqual(
      f.versions().map((v) => [v.seq, v.infoHash]),
      [
        [1n, toHex(pub1.infoHash)],
        [2n, toHex(pub2.infoHash)],
      ],
    );
    await f.close();
    pub2Ref = pub2;
    // pub2 keeps seeding for the next tests; the follower's session is closed at the end.
  });

  test('a forged item never reaches the follower, and a replayed old item does not roll it back', async () => {
    assert.ok(v1Item !== undefined, 'needs the first test');
    const target = mutableTarget(keyPair.publicKey, salt);
    const closest = target.slice();
    closest[19]! ^= 1; // the liar's id is the nearest possible to the target: every lookup asks it
    const evil = new Uint8Array(20).fill(0xee);
    const forged = new LyingNode(closest, () => ({
      v: encode({ ih: evil }),
      k: keyPair.publicKey,
      seq: 99n,
      sig: new Uint8Array(64).fill(1),
    }));
    liars.push(forged);
    const forgedAt = await forged.start();

    // A follower that reaches both the liar and the honest nodes.
    const s1 = await session({ bootstrap: [forgedAt, ...net.bootstrap] });
    const found: bigint[] = [];
    const f = await s1.follow({ publicKey: keyPair.publicKey, salt, dir: followDir, pollIntervalMs: 200 });
    f.on('version:found', (e) => found.push(e.seq));
    for (let i = 0; i < 5; i++) await f.check();
    assert.ok(forged.gets > 0, 'the liar was asked');
    assert.equal(f.highestSeq, 2n, 'the forged seq 99 was never taken');
    assert.deepEqual(found, []);
    assert.equal(f.current()?.seq, 2n);
    await f.close();
    await s1.close();

    // A restarted follower whose only DHT contact replays the old (validly signed) seq-1 item.
    const old = v1Item;
    const replay = new LyingNode(closest, () => ({
      v: old.value,
      k: old.publicKey,
      seq: old.seq,
      sig: old.signature,
    }));
    liars.push(replay);
    const replayAt = await replay.start();
    const s2 = await session({ bootstrap: [replayAt] });
    const g = await s2.follow({ publicKey: keyPair.publicKey, salt, dir: followDir, pollIntervalMs: 60_000 });
    const ignored = next(g, 'item:ignored');
    await g.check();
    assert.deepEqual(await ignored, { seq: 1n, reason: 'old-seq' });
    assert.ok(replay.gets > 0);
    assert.equal(g.current()?.seq, 2n, 'still at seq 2');
    assert.equal(g.currentTorrent()?.state, 'seeding', 'the restarted follower seeds its current version');
    assert.equal(
      await realpath(join(followDir, 'current')),
      join(await realpath(followDir), '.shoal', 'versions', '2', 'dataset'),
    );
    await g.close();
  });

  test('publishing an unchanged folder makes no new version; items are put again (publisher and follower)', async () => {
    const pub2 = pub2Ref!;
    const reput = pub2.next('item:reput', AbortSignal.timeout(OP_TIMEOUT_MS));
    assert.ok((await pub2.reput()) > 0);
    assert.equal((await reput).seq, 2n);

    const publisher = sessions[0]!;
    const same = await publisher.publish({
      dir: srcRoot,
      keyPair,
      salt,
      pieceLength: PIECE,
      reputIntervalMs: 0,
    });
    assert.equal(same.isNewVersion, false);
    assert.equal(same.seq, 2n);
    assert.deepEqual(same.infoHash, pub2.infoHash);
    // A publisher's own record of a higher seq wins over the DHT's (items expire after 2 hours).
    const floor = await publisher.publish({
      dir: srcRoot,
      keyPair,
      salt,
      pieceLength: PIECE,
      reputIntervalMs: 0,
      minSeq: 5n,
    });
    assert.equal(floor.seq, 5n);
    assert.equal(floor.isNewVersion, true, 'a new seq, though the same torrent');

    // The follower takes seq 5 (the same torrent: nothing to fetch) and keeps it alive.
    const s = await session();
    const f = await s.follow({
      publicKey: keyPair.publicKey,
      salt,
      dir: followDir,
      pollIntervalMs: 60_000,
      reputIntervalMs: 100,
    });
    // The timer may put the item the folder's state held (seq 2) first; wait for seq 5's.
    const kept = next(f, 'item:reput', (e) => e.seq === 5n);
    await f.check();
    assert.equal(f.highestSeq, 5n);
    assert.equal(f.current()?.seq, 2n, 'the same torrent is not a new version');
    assert.equal(f.pending(), undefined);
    const k = await kept;
    assert.equal(k.seq, 5n);
    assert.ok(k.storedTo > 0, 'the follower put the item again');
    // The key holder puts a value that is not {ih}: left aside, the current version stays.
    await publisher.dhtPut({ keyPair, salt, value: { ih: new Uint8Array(7), note: 'oops' }, seq: 6 });
    const ignored = next(f, 'item:ignored');
    await f.check();
    assert.deepEqual(await ignored, { seq: 6n, reason: 'bad-value' });
    assert.equal(f.current()?.seq, 2n);
    assert.equal(f.highestSeq, 6n);
    await f.close();
    await same.close();
    await floor.close();
  });
});
