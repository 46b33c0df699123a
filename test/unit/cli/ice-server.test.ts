/**
 * `--ice-server` on `shoal download`/`seed`/`daemon` (src/cli/commands/network-flags.ts): STUN
 * and TURN URLs are collected, checked, and reach the Session's `webrtc.iceServers`;
 * `--no-webrtc` still turns WebRTC off. Also `--low-memory`, the other session flag the commands
 * share.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import {
  addDiscoveryOptions,
  check as checkSwarmFlags,
  discoveryOptions,
  type SwarmFlags,
} from '../../../src/cli/commands/download.js';
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

test('--low-memory on download, seed and feed reaches the resolved lowMemory', () => {
  const parse = (args: string[]) => {
    const cmd = addDiscoveryOptions(new Command().exitOverride());
    cmd.parse(args, { from: 'user' });
    const flags = cmd.opts<SwarmFlags>();
    // --port and --peer belong to each command, not to the shared flags.
    const checked = checkSwarmFlags({ ...flags, port: '0', peer: [] });
    return resolveOptions(discoveryOptions(flags, checked, undefined)).lowMemory;
  };
  assert.equal(parse(['--low-memory']), true);
  assert.equal(parse([]), false);
});
