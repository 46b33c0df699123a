/**
 * v2 hostile test (issue 6): in a v2 transfer, a peer that sends bad blocks is identified by the
 * BEP 52 merkle tree — the leaf hashes of the failed piece name the exact blocks, hence the exact
 * sender — and banned at its first bad piece, while the honest peer that served the same
 * torrent is never penalised.
 */
import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Session } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

const sessions: Session[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

for (const version of ['v2', 'hybrid'] as const) {
  test(`${version}: a peer serving corrupt blocks is banned by its leaf hashes alone`, {
    timeout: 60_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), `shoal-v2-blame-${version}-`));
    dirs.push(dir);
    const rels = await writeTree(
      join(dir, 'honest', 'payload'),
      { 'a.bin': 2_000_000, 'b.bin': 600_000 },
      12,
    );
    await writeTree(join(dir, 'corrupt', 'payload'), { 'a.bin': 2_000_000, 'b.bin': 600_000 }, 12);
    const t = await createTorrent(join(dir, 'honest', 'payload'), { version, pieceLength: 65536 });

    const honest = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'honest') });
    sessions.push(honest);
    await honest.addTorrent(t.bytes);
    // The corrupt seeder verifies good data, then its files are overwritten behind its back:
    // it keeps announcing every piece and serves garbage. It listens on ::1, because bans are per IP.
    const corrupt = await Session.create({ host: '::1', downloadDir: join(dir, 'corrupt') });
    sessions.push(corrupt);
    await corrupt.addTorrent(t.bytes);
    for (const name of ['a.bin', 'b.bin']) {
      const fh = await open(join(dir, 'corrupt', 'payload', name), 'r+');
      const { size } = await fh.stat();
      await fh.write(Buffer.alloc(size, 0xee), 0, size, 0);
      await fh.close();
    }

    const leecher = await Session.create({ host: '127.0.0.1', downloadDir: join(dir, 'leech') });
    sessions.push(leecher);
    const torrent = await leecher.addTorrent(t.bytes);
    const warnings: string[] = [];
    const failed: number[] = [];
    const closed: string[] = [];
    torrent.on('warning', (w) => warnings.push(w.message));
    torrent.on('hash-failed', (e) => failed.push(e.index));
    torrent.on('peer', (p) => {
      if (p.type === 'disconnected') closed.push(`${p.address} ${p.reason}`);
    });
    torrent.addPeer('::1', corrupt.port);
    torrent.addPeer('127.0.0.1', honest.port);
    await torrent.next('done');

    assert.deepEqual(
      await treeDigests(join(dir, 'leech', 'payload'), rels),
      await treeDigests(join(dir, 'honest', 'payload'), rels),
    );
    const bans = warnings.filter((w) => w.startsWith('banned'));
    assert.ok(failed.length >= 1, 'the corrupt peer did get a piece in');
    assert.equal(bans.length, 1, `exactly one ban: ${JSON.stringify(warnings)}`);
    // Either the leaf hashes named it, or it was the only sender of a one-block piece.
    assert.match(
      bans[0]!,
      /^banned ::1: (a block failed its BEP 52 leaf hash|sole sender of piece \d+, which failed its hash check)$/,
    );
    assert.ok(
      !closed.some((c) => c.startsWith(`127.0.0.1:${honest.port}`) && !c.endsWith(' redundant')),
      `the honest peer was only dropped once done (redundant): ${JSON.stringify(closed)}`,
    );
  });
}
