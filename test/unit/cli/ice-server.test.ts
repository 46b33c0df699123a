/**
 * `--ice-server` on `shoal download`/`seed`/`daemon` (src/cli/commands/network-flags.ts): STUN
 * and TURN URLs are collected, checked, and reach the Session's `webrtc.iceServers`;
 * `--no-webrtc` still turns WebRTC off.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { addDiscoveryOptions } from '../../../src/cli/commands/download.js';
import { parseIceServer, webRtcOptions } from '../../../src/cli/commands/network-flags.js';
import { resolveOptions } from '../../../src/session/options.js';

test('--ice-server is repeatable and reaches the resolved webrtc.iceServers', () => {
  const cmd = addDiscoveryOptions(new Command().exitOverride());
  cmd.parse(['--ice-server', 'stun:127.0.0.1:3478', '--ice-server', 'turn:u:p@127.0.0.1:3478'], {
    from: 'user',
  });
  const o = cmd.opts<{ webrtc: boolean; iceServer: string[] }>();
  assert.deepEqual(o.iceServer, ['stun:127.0.0.1:3478', 'turn:u:p@127.0.0.1:3478']);
  const resolved = resolveOptions(webRtcOptions(o.webrtc, o.iceServer));
  assert.deepEqual(resolved.webrtc?.iceServers, ['stun:127.0.0.1:3478', 'turn:u:p@127.0.0.1:3478']);
});

test('without --ice-server WebRTC keeps its default; --no-webrtc turns it off', () => {
  assert.deepEqual(webRtcOptions(true, []), {});
  assert.deepEqual(resolveOptions(webRtcOptions(true, [])).webrtc, {});
  assert.equal(resolveOptions(webRtcOptions(false, ['stun:127.0.0.1:3478'])).webrtc, undefined);
});

test('an --ice-server that is not a STUN or TURN URL is refused', () => {
  for (const bad of ['127.0.0.1:3478', 'http://127.0.0.1:3478', 'stun:', 'stun:host port', 'turn://u:p@h:1'])
    assert.throws(() => parseIceServer(bad, []), /expected stun:host:port/, bad);
  assert.deepEqual(parseIceServer('turns:u:p@127.0.0.1:5349', []), ['turns:u:p@127.0.0.1:5349']);
});
