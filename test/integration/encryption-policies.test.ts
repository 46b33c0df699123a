/**
 * MSE/PE between Shoal nodes under every pair of policies (issue 19): for each dialler policy
 * and acceptor policy, the connection is made encrypted (RC4), made in plaintext, or refused
 * with a reason in the dialler's peer log — as the policy table of src/wire/mse/policy.ts says.
 * An encrypted pair also moves data, and the bytes are equal.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type Torrent } from '../../src/session/index.js';
import { createTorrent } from '../../src/storage/index.js';
import type { MsePolicy } from '../../src/wire/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';

type Outcome = 'rc4' | 'plaintext' | 'refused';

/** dialler → acceptor → outcome. */
const EXPECTED: Record<MsePolicy, Record<MsePolicy, Outcome>> = {
  disabled: { disabled: 'plaintext', enabled: 'plaintext', prefer: 'plaintext', require: 'refused' },
  enabled: { disabled: 'plaintext', enabled: 'plaintext', prefer: 'plaintext', require: 'rc4' },
  // MSE offering both, answered by an `enabled` acceptor that prefers plaintext payloads.
  prefer: { disabled: 'plaintext', enabled: 'plaintext', prefer: 'rc4', require: 'rc4' },
  require: { disabled: 'refused', enabled: 'rc4', prefer: 'rc4', require: 'rc4' },
};

describe('encryption policies, Shoal to Shoal', () => {
  let dir = '';
  let bytes: Uint8Array;
  let rels: string[];
  const sessions: Session[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-mse-policies-'));
    rels = await writeTree(join(dir, 'seed', 'payload'), { 'a.bin': 600_000 }, 21);
    bytes = (await createTorrent(join(dir, 'seed', 'payload'), { pieceLength: 32768 })).bytes;
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  /** The dialler's first connected or refused entry for the acceptor. */
  function outcome(t: Torrent): Promise<{ outcome: Outcome; reason?: string }> {
    return new Promise((resolve) => {
      const on = (e: Parameters<Parameters<Torrent['on']>[1]>[0]) => {
        const entry = e as { type: string; encrypted?: boolean; reason?: string };
        if (entry.type === 'connected') resolve({ outcome: entry.encrypted === true ? 'rc4' : 'plaintext' });
        else if (entry.type === 'refused') resolve({ outcome: 'refused', reason: entry.reason ?? '' });
        else return;
        t.off('peer', on);
      };
      t.on('peer', on);
    });
  }

  const policies: MsePolicy[] = ['disabled', 'enabled', 'prefer', 'require'];
  for (const dialler of policies) {
    for (const acceptor of policies) {
      const want = EXPECTED[dialler][acceptor];
      test(`${dialler} dials ${acceptor}: ${want}`, { timeout: 30_000 }, async () => {
        const seed = await Session.create({
          host: '127.0.0.1',
          downloadDir: join(dir, 'seed'),
          encryption: acceptor,
        });
        const leech = await Session.create({
          host: '127.0.0.1',
          downloadDir: join(dir, `leech-${dialler}-${acceptor}`),
          encryption: dialler,
        });
        sessions.push(seed, leech);
        await seed.addTorrent(bytes);
        const t = await leech.addTorrent(bytes);
        const got = outcome(t);
        t.addPeer('127.0.0.1', seed.port);
        const r = await got;
        assert.equal(r.outcome, want, `outcome (${r.reason ?? ''})`);
        if (want === 'refused') assert.match(r.reason ?? '', /closed|refused/);
        if (want === 'rc4' && dialler === 'require' && acceptor === 'require') {
          await t.whenDone();
          assert.deepEqual(
            await treeDigests(join(dir, `leech-${dialler}-${acceptor}`, 'payload'), rels),
            await treeDigests(join(dir, 'seed', 'payload'), rels),
          );
        }
        await Promise.all([seed.close(), leech.close()]);
      });
    }
  }
});
