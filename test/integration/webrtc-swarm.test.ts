/**
 * Shoal ↔ Shoal over WebRTC data channels, found through Shoal's own WebSocket tracker (the
 * WebTorrent protocol), on 127.0.0.1 only (ICE binds to loopback); and the hybrid node: one
 * torrent with a TCP peer and a WebRTC peer at once, each logged with its transport.
 *
 * Each scenario runs in a child process (test/helpers/webrtc-swarm-child.ts) that prints its
 * result and closes its sessions and tracker. The child must then exit by itself, code 0, within
 * CHILD_EXIT_MS: a library user's process that used WebRTC must not stay alive after `close()`
 * (node-datachannel's threads are released by `cleanup()` once the last factory closes). A child
 * that stays is killed by PID and fails the test.
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

/** How long a child may take to exit by itself once it printed its result, in ms. */
const CHILD_EXIT_MS = 20_000;

/** Runs one scenario; resolves with the child's JSON line once the child exited by itself. */
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
  // 'close': the child exited and its stdout is drained, so its line has been read by then.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return new Promise<ChildResult>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    let answered = false;
    lines.once('line', (line) => {
      answered = true;
      const result = JSON.parse(line) as ChildResult;
      let timer: NodeJS.Timeout | undefined;
      Promise.race([
        exited,
        new Promise<'alive'>((r) => {
          timer = setTimeout(() => r('alive'), CHILD_EXIT_MS);
        }),
      ])
        .then((code) => {
          clearTimeout(timer);
          if (code === 'alive')
            reject(new Error(`the child stayed alive ${CHILD_EXIT_MS} ms after closing its sessions`));
          else if (code !== 0) reject(new Error(`the child exited with ${code} after its result`));
          else resolve(result);
        })
        .catch(reject);
    });
    void exited.then((code) => !answered && reject(new Error(`child exited (${code}) without a result`)));
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
