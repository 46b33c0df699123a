/**
 * Shoal ↔ Shoal over WebRTC data channels, found through Shoal's own WebSocket tracker (the
 * WebTorrent protocol), on 127.0.0.1 only (ICE binds to loopback); and the hybrid node: one
 * torrent with a TCP peer and a WebRTC peer at once, each logged with its transport.
 *
 * Each scenario runs in a child process (test/helpers/webrtc-swarm-child.ts) that prints its
 * result: with node-datachannel 0.33.4 a process that connected peers through the sessions can
 * stay alive after every peer connection closed and `cleanup()` ran (a known open problem of
 * this branch), so the child is killed by PID once it has answered.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { loadWebRtcLibrary } from '../../src/net/webrtc-transport.js';

interface ChildResult {
  readonly error?: string;
  readonly webrtcEnabled: boolean;
  readonly equal: boolean;
  readonly sha256: string[];
  readonly seederTransports: string[];
  readonly leecherTransports: string[];
  readonly relayedOffers: number;
  readonly relayedAnswers: number;
}

/** Runs one scenario; resolves with the child's JSON line, the child killed. */
async function runChild(scenario: string): Promise<ChildResult> {
  // Made and removed here: the child is killed before it could remove it itself.
  const dir = await mkdtemp(join(tmpdir(), 'shoal-webrtc-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/webrtc-swarm-child.ts', scenario, dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise<ChildResult>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve(JSON.parse(line) as ChildResult));
    child.once('exit', (code) => reject(new Error(`child exited (${code}) without a result`)));
    child.once('error', reject);
  }).finally(async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });
}

// A WebRTC connection that fails is tried again at the next WebSocket announce: at most 30 s later
// with the child's tracker. The child gives up after 200 s and reports the peers it sees.
describe('WebRTC swarm through the WebSocket tracker', { timeout: 240_000 }, () => {
  test('node-datachannel is installed here (the suite needs it)', async () => {
    assert.ok((await loadWebRtcLibrary()) !== undefined, 'npm install node-datachannel');
  });

  test('a leecher downloads from a seeder over WebRTC only; sha256 equal', async () => {
    const r = await runChild('rtc');
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.webrtcEnabled, true);
    assert.equal(r.equal, true, 'files equal (sha256)');
    assert.equal(r.sha256.length, 2);
    assert.deepEqual(r.leecherTransports, ['webrtc']);
    assert.ok(r.relayedOffers > 0 && r.relayedAnswers > 0, 'the tracker relayed an offer and its answer');
  });

  test('hybrid: the seeder serves a TCP peer and a WebRTC peer of one torrent', async () => {
    const r = await runChild('hybrid');
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.equal, true, 'both leechers have the files (sha256)');
    assert.deepEqual(r.seederTransports, ['tcp', 'webrtc']);
  });
});
