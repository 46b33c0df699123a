/**
 * WebRTC is on by default, but node-datachannel (a 10 MB native library) is loaded only when a
 * torrent has a `ws://` tracker: a node that never meets a WebRTC peer does not pay its memory.
 * Runs in a child process (test/helpers/webrtc-lazy-child.ts) so that nothing else in the test
 * process has loaded the library before.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';

test('node-datachannel loads with the first ws:// tracker, not with the session', {
  timeout: 60_000,
}, async () => {
  // Made and removed here: the child is killed once it answers, before its own clean-up ran.
  const dir = await mkdtemp(join(tmpdir(), 'shoal-webrtc-lazy-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/webrtc-lazy-child.ts', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`child exited (${code}) without a result`)));
    });
    const r = JSON.parse(line) as { error?: string; enabled: boolean; afterPlain: boolean; afterWs: boolean };
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.enabled, true, 'WebRTC is on by default where node-datachannel is installed');
    assert.equal(r.afterPlain, false, 'not loaded for a torrent with an HTTP tracker only');
    assert.equal(r.afterWs, true, 'loaded once a torrent has a ws:// tracker');
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
});
