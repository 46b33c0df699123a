#!/usr/bin/env node
// One WebTorrent 3 peer on 127.0.0.1, driven by Shoal's interop tests (test/helpers/clients.ts).
//
// Usage: node wt_peer.mjs --torrent T --save DIR --port N [--seed] [--connect PORT ...] [--secure N]
//        [--webrtc]
//
// - TCP only by default: DHT, LSD, trackers, UPnP/NAT-PMP, uTP, web seeds and WebRTC are off.
//   `--webrtc` turns the torrent's trackers on, with WebRTC through webrtc-polyfill (libdatachannel)
//   and ICE bound to 127.0.0.1: the torrent's ws:// tracker finds the WebRTC peers. Protocol
//   encryption is `--secure N` (WebTorrent's `secure`: 0 off — the default here —, 1 MSE with a
//   plaintext fallback, which is WebTorrent's own default, 2 RC4 only).
// - WebTorrent is a v1-only client: it hashes the info dictionary with SHA-1 and verifies pieces
//   with SHA-1, and treats BEP 47 padding files as ordinary files.
// - `--seed`: the data under DIR is checked first; prints {"t":"ready"} once it is complete, or
//   {"t":"error"} and exits 3 when it is not. A leecher prints {"t":"finished"} once every piece
//   passed its hash check.
// - stdin takes commands, one a line: `connect PORT`, `quit`. End of stdin means quit, so the peer
//   never outlives the process that drives it.
//
// Every stdout line is one JSON object with a "t" (type) and "ts" (ms since start).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WRTC from 'webrtc-polyfill';
import WebTorrent from 'webtorrent';

const t0 = performance.now();
function out(t, fields = {}) {
  process.stdout.write(`${JSON.stringify({ t, ts: Math.round(performance.now() - t0), ...fields })}\n`);
}

const { values: args } = parseArgs({
  options: {
    torrent: { type: 'string' },
    save: { type: 'string' },
    port: { type: 'string' },
    seed: { type: 'boolean', default: false },
    connect: { type: 'string', multiple: true, default: [] },
    secure: { type: 'string', default: '0' },
    webrtc: { type: 'boolean', default: false },
  },
});
if (!args.torrent || !args.save || !args.port) {
  out('error', { msg: 'usage: wt_peer.mjs --torrent T --save DIR --port N [--seed] [--connect PORT]' });
  process.exit(2);
}

const client = new WebTorrent({
  torrentPort: Number(args.port),
  dht: false,
  lsd: false,
  // Without bindAddress libdatachannel gathers no loopback candidate.
  tracker: args.webrtc ? { wrtc: WRTC, rtcConfig: { iceServers: [], bindAddress: '127.0.0.1' } } : false,
  natUpnp: false,
  natPmp: false,
  utp: false,
  webSeeds: false,
  secure: Number(args.secure),
});
let closing = false;
function quit(code) {
  if (closing) return;
  closing = true;
  client.destroy(() => process.exit(code));
}
client.on('error', (e) => {
  out('error', { msg: String(e?.message ?? e) });
  quit(3);
});
client.on('listening', () => out('listening', { port: client.torrentPort }));

const torrent = client.add(readFileSync(args.torrent), { path: args.save });
torrent.on('error', (e) => {
  out('error', { msg: String(e?.message ?? e) });
  quit(3);
});
torrent.on('wire', (_wire, addr) => out('peer_connect', { endpoint: addr }));
torrent.on('ready', () => {
  out('added', { infoHash: torrent.infoHash, pieces: torrent.pieces.length, bytes: torrent.length });
  if (args.seed) {
    if (torrent.progress === 1) out('ready');
    else {
      out('error', { msg: `seed data incomplete (${(torrent.progress * 100).toFixed(1)}%)` });
      quit(3);
    }
  }
  for (const p of args.connect) torrent.addPeer(`127.0.0.1:${p}`);
});
torrent.on('done', () => {
  if (!args.seed) out('finished', { downloaded: torrent.downloaded, uploaded: torrent.uploaded });
});
const status = setInterval(() => {
  out('status', {
    progress: torrent.progress,
    peers: torrent.numPeers,
    downloaded: torrent.downloaded,
    uploaded: torrent.uploaded,
  });
}, 1000);
status.unref();

let pending = '';
process.stdin.on('data', (chunk) => {
  pending += chunk.toString('utf8');
  for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
    const line = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    const [cmd, arg] = line.split(/\s+/);
    if (cmd === 'connect' && arg) torrent.addPeer(`127.0.0.1:${arg}`);
    else if (cmd === 'quit') quit(0);
  }
});
process.stdin.on('end', () => quit(0));
