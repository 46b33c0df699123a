import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngineSwarm } from './swarm-harness.js';

const KiB = 1024;

function leechersDone(swarm: EngineSwarm, names: readonly string[]): () => boolean {
  return () => names.every((n) => swarm.node(n).doneAt !== undefined);
}

describe('in-memory swarm of engines', () => {
  test('1 seeder + 5 leechers all complete; a corrupt peer is banned and every piece verifies', () => {
    const swarm = new EngineSwarm({ payloadBytes: 2 * 1024 * KiB + 5000, pieceLength: 64 * KiB, seed: 7 });
    swarm.add({ name: 'seed', role: 'seed', uploadBytesPerSec: 2048 * KiB });
    swarm.add({ name: 'evil', role: 'seed', corrupt: true, uploadBytesPerSec: 2048 * KiB });
    const leechers = ['l1', 'l2', 'l3', 'l4', 'l5'];
    for (const name of leechers) swarm.add({ name, role: 'leech', uploadBytesPerSec: 512 * KiB });
    swarm.connectAll();
    const ok = swarm.runUntil(leechersDone(swarm, leechers), 600_000);
    assert.ok(
      ok,
      `leechers unfinished at t=${swarm.now}: ${leechers.filter((n) => swarm.node(n).doneAt === undefined)}`,
    );
    for (const name of leechers) {
      assert.ok(swarm.hasPayload(name), `${name} has the exact payload`);
      assert.equal(swarm.node(name).engine.isComplete, true);
    }
    const banners = leechers.filter((n) => swarm.node(n).bans.includes('evil'));
    assert.ok(banners.length > 0, 'the corrupt peer was banned');
    for (const name of leechers) {
      assert.ok(!swarm.node(name).bans.includes('seed'), `${name} did not ban the honest seed`);
      for (const other of leechers)
        assert.ok(!swarm.node(name).bans.includes(other), `${name} banned ${other}`);
      // whoever did not ban evil closed it as redundant once finished, or never got data from it
      const failed = swarm
        .node(name)
        .events.filter((e) => e.type === 'event' && e.event.type === 'piece:failed');
      if (!swarm.node(name).bans.includes('evil')) assert.ok(failed.length < 3);
    }
    assert.ok(swarm.node('evil').servedBytes > 0, 'the corrupt peer did get to serve');
    // the leechers traded among themselves: the seed did not serve every copy
    const leecherUpload = leechers.reduce((s, n) => s + swarm.node(n).servedBytes, 0);
    assert.ok(leecherUpload > 0, 'leechers uploaded to each other');
  });

  test('without the fast extension, and with a free rider, the swarm still completes', () => {
    const swarm = new EngineSwarm({ payloadBytes: 1024 * KiB, pieceLength: 32 * KiB, seed: 3 });
    swarm.add({ name: 'seed', role: 'seed', fast: false, uploadBytesPerSec: 1024 * KiB });
    const leechers = ['a', 'b', 'c', 'rider'];
    for (const name of leechers) {
      swarm.add({
        name,
        role: 'leech',
        fast: name !== 'b',
        freeRider: name === 'rider',
        uploadBytesPerSec: 256 * KiB,
      });
    }
    swarm.connectAll();
    assert.ok(swarm.runUntil(leechersDone(swarm, leechers), 600_000), `stuck at t=${swarm.now}`);
    for (const name of leechers) assert.ok(swarm.hasPayload(name), name);
    assert.equal(swarm.node('rider').servedBytes, 0);
  });
});
