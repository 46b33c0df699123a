/**
 * SOCKS5 proxy support against real proxies (Debian packages, started here and stopped by PID):
 * microsocks for CONNECT and RFC 1929 authentication (it has no UDP ASSOCIATE: it answers
 * "command not supported"), Dante for UDP ASSOCIATE. Both make their outgoing connections from
 * 127.0.0.3 while every Shoal node and the tracker sit on 127.0.0.1, so the seeder and the
 * tracker can tell a proxied connection (from 127.0.0.3) from a direct one (from 127.0.0.1):
 * a leecher behind the proxy must only ever appear as 127.0.0.3.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { httpAnnounce, httpTrackerGet, TrackerError, UdpTrackerSocket } from '../../src/discovery/index.js';
import { Socks5Transport, Socks5UdpAssociation } from '../../src/net/index.js';
import { Session, type Torrent } from '../../src/session/index.js';
import { ErrorCode, isShoalError } from '../../src/shared/errors.js';
import { createTorrent } from '../../src/storage/index.js';
import { startTracker, type TrackerServer } from '../../src/tracker/index.js';
import { ClientGroup, freePort, logShoalTorrent, shoalDone } from '../helpers/clients.js';
import { treeDigests, writeTree } from '../helpers/payload.js';
import { within } from '../helpers/scripted-peer.js';
import { startDante, startMicrosocks } from '../helpers/socks-proxies.js';

const LOCAL = '127.0.0.1';
/** The proxies' outgoing address. */
const PROXY_OUT = '127.0.0.3';
const FILES = { 'a.bin': 700_000, 'sub/b.bin': 300_000 };
const DONE_MS = 60_000;
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
// Resolved here so the CLI child finds tsx whatever its working directory.
const TSX = import.meta.resolve('tsx');

/** Runs the `shoal` CLI; resolves with its exit code and output. */
function shoal(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, MAIN, ...args],
      { timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const announceReq = (infoHash: Uint8Array, n: number) => ({
  infoHash,
  peerId: new Uint8Array(20).fill(n),
  port: 40_000 + n,
  uploaded: 0,
  downloaded: 0,
  left: 1,
  event: 'started' as const,
});

describe('SOCKS5 proxy (microsocks, Dante)', { timeout: 180_000 }, () => {
  const group = new ClientGroup();
  const sessions: Session[] = [];
  let tracker: TrackerServer;
  let seeder: Session;
  let root = '';
  /** One torrent per tracker kind (different payloads: different info-hashes). */
  const torrents: Record<'http' | 'udp', { bytes: Uint8Array; infoHash: Uint8Array; seeded: Torrent }> =
    {} as never;
  const rels = Object.keys(FILES);

  before(async () => {
    root = await group.root();
    tracker = await startTracker({ host: LOCAL, intervalS: 60 });
    seeder = await Session.create({ host: LOCAL, downloadDir: join(root, 'seed'), hashThreads: 1 });
    sessions.push(seeder);
    for (const [kind, seed] of [
      ['http', 3],
      ['udp', 4],
    ] as const) {
      await writeTree(join(root, 'seed', kind), FILES, seed);
      const url = kind === 'http' ? tracker.httpAnnounceUrl! : tracker.udpAnnounceUrl!;
      const t = await createTorrent(join(root, 'seed', kind), { version: 'v1', trackers: [[url]] });
      const seeded = await seeder.addTorrent(t.bytes);
      assert.equal(seeded.state, 'seeding');
      logShoalTorrent(seeded, group.log(`seeder ${kind}`));
      torrents[kind] = { bytes: t.bytes, infoHash: seeded.wireInfoHash, seeded };
    }
  });

  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await tracker?.close();
    await group.stop();
  });

  /** A leecher on 127.0.0.1 whose outgoing connections go through `proxy`. */
  async function leecher(
    name: string,
    proxyPort: number,
    auth: { username?: string; password?: string } = {},
  ) {
    const s = await Session.create({
      host: LOCAL,
      downloadDir: join(root, name),
      hashThreads: 1,
      // Asked for, and turned off by the proxy (`onlyProxy` is the default).
      dht: true,
      lsd: true,
      proxy: { type: 'socks5', host: LOCAL, port: proxyPort, ...auth },
    });
    sessions.push(s);
    return s;
  }

  /** Addresses of the seeder's `connected` peer log entries for a torrent. */
  function seederSaw(kind: 'http' | 'udp'): string[] {
    return torrents[kind].seeded
      .peerLog()
      .filter((e) => e.type === 'connected')
      .map((e) => e.address);
  }

  test('behind microsocks: download through the proxy, HTTP tracker through it, no direct connection', () =>
    group.explain(async () => {
      const ms = await startMicrosocks(group, { external: PROXY_OUT });
      const s = await leecher('leech-http', ms.port);
      assert.equal(s.options.dht, undefined, 'the DHT would bypass the proxy');
      assert.equal(s.options.lsd, undefined, 'LSD would bypass the proxy');
      const t = await s.addTorrent(torrents.http.bytes);
      logShoalTorrent(t, group.log('leecher http'));
      await shoalDone(t, DONE_MS);
      assert.deepEqual(
        await treeDigests(join(root, 'leech-http', 'http'), rels),
        await treeDigests(join(root, 'seed', 'http'), rels),
      );
      // The seeder learned the leecher from the tracker, through the proxy, and saw it only there.
      const seen = seederSaw('http');
      assert.ok(seen.length > 0);
      for (const a of seen) assert.ok(a.startsWith(`${PROXY_OUT}:`), `direct connection from ${a}`);
      const ours = t.peerLog().filter((e) => e.type === 'connected');
      assert.ok(ours.length > 0);
      for (const e of ours) assert.equal(e.transport, 'socks5');
      // microsocks made exactly these connections for us: the tracker and the seeder.
      const made = ms.process.lines.filter((l) => l.includes('connected to'));
      assert.ok(
        made.some((l) => l.endsWith(`connected to ${LOCAL}:${tracker.httpPort}`)),
        made.join('\n'),
      );
      assert.ok(
        made.some((l) => l.endsWith(`connected to ${LOCAL}:${seeder.port}`)),
        made.join('\n'),
      );
      // The tracker has the leecher at the proxy's address, with the port it announced.
      const direct = await httpAnnounce(tracker.httpAnnounceUrl!, announceReq(torrents.http.infoHash, 1));
      assert.ok(
        direct.peers.some((p) => p.host === PROXY_OUT && p.port === s.port),
        JSON.stringify(direct.peers),
      );
    }));

  test('behind Dante: the UDP tracker is asked through UDP ASSOCIATE, peers through CONNECT', () =>
    group.explain(async () => {
      const dante = await startDante(group, { external: PROXY_OUT });
      const s = await leecher('leech-udp', dante.port);
      const t = await s.addTorrent(torrents.udp.bytes);
      logShoalTorrent(t, group.log('leecher udp'));
      await shoalDone(t, DONE_MS);
      assert.deepEqual(
        await treeDigests(join(root, 'leech-udp', 'udp'), rels),
        await treeDigests(join(root, 'seed', 'udp'), rels),
      );
      const seen = seederSaw('udp');
      assert.ok(seen.length > 0);
      for (const a of seen) assert.ok(a.startsWith(`${PROXY_OUT}:`), `direct connection from ${a}`);
      // The UDP announce reached the tracker from the proxy's address.
      const udp = new UdpTrackerSocket();
      try {
        const direct = await udp.announce(tracker.udpAnnounceUrl!, announceReq(torrents.udp.infoHash, 2));
        assert.ok(
          direct.peers.some((p) => p.host === PROXY_OUT && p.port === s.port),
          JSON.stringify(direct.peers),
        );
      } finally {
        await udp.close();
      }
      // And one announce straight through a UDP tracker socket with the proxy option.
      const proxied = new UdpTrackerSocket({ proxy: { host: LOCAL, port: dante.port } });
      try {
        const r = await proxied.announce(tracker.udpAnnounceUrl!, announceReq(torrents.udp.infoHash, 3));
        assert.ok(r.peers.some((p) => p.host === LOCAL && p.port === seeder.port));
      } finally {
        await proxied.close();
      }
    }));

  test('microsocks has no UDP ASSOCIATE: the refusal is a typed error in words', () =>
    group.explain(async () => {
      const ms = await startMicrosocks(group, { external: PROXY_OUT });
      await assert.rejects(
        Socks5UdpAssociation.open({ host: LOCAL, port: ms.port }),
        (e) => isShoalError(e, ErrorCode.NetProxy) && /command not supported by the proxy/.test(e.message),
      );
    }));

  test('username/password: accepted when right, a clear error when wrong or missing', () =>
    group.explain(async () => {
      const ms = await startMicrosocks(group, { external: PROXY_OUT, username: 'shoal', password: 's3cret' });
      const echo: Server = createServer((c) => c.pipe(c));
      await new Promise<void>((r) => echo.listen(0, LOCAL, r));
      const echoPort = (echo.address() as { port: number }).port;
      try {
        const good = new Socks5Transport({
          proxy: { host: LOCAL, port: ms.port, username: 'shoal', password: 's3cret' },
        });
        const stream = await good.dial(LOCAL, echoPort, { timeoutMs: 5_000 });
        assert.equal(stream.transport, 'socks5');
        assert.equal(stream.remoteAddress, LOCAL);
        assert.equal(stream.remotePort, echoPort);
        const echoed = await within(
          new Promise<string>((resolve) => {
            stream.bind({
              data: (c) => resolve(Buffer.from(c).toString()),
              drain: () => {},
              close: () => {},
            });
            stream.write(Buffer.from('through the proxy'));
          }),
          5_000,
          'echo through the proxy',
        );
        assert.equal(echoed, 'through the proxy');
        stream.destroy();
        // An HTTP tracker through the authenticated proxy.
        const r = await httpAnnounce(tracker.httpAnnounceUrl!, announceReq(torrents.http.infoHash, 4), {
          proxy: { host: LOCAL, port: ms.port, username: 'shoal', password: 's3cret' },
        });
        assert.ok(r.peers.some((p) => p.host === LOCAL && p.port === seeder.port));

        const wrong = new Socks5Transport({
          proxy: { host: LOCAL, port: ms.port, username: 'shoal', password: 'wrong' },
        });
        await assert.rejects(
          wrong.dial(LOCAL, echoPort, { timeoutMs: 5_000 }),
          (e) => isShoalError(e, ErrorCode.NetProxy) && /authentication failed/.test(e.message),
        );
        const none = new Socks5Transport({ proxy: { host: LOCAL, port: ms.port } });
        await assert.rejects(
          none.dial(LOCAL, echoPort, { timeoutMs: 5_000 }),
          (e) => isShoalError(e, ErrorCode.NetProxy) && /requires authentication/.test(e.message),
        );
        // A session with the wrong password says so in the peer log, and never dials directly.
        const s = await leecher('leech-auth', ms.port, { username: 'shoal', password: 'wrong' });
        const t = await s.addTorrent(torrents.http.bytes, { downloadDir: join(root, 'leech-auth') });
        const refused = within(
          new Promise<string>((resolve) => {
            t.on('peer', (e) => {
              if (e.type === 'refused' && e.reason !== undefined) resolve(e.reason);
            });
          }),
          10_000,
          'the refusal',
        );
        t.addPeer(LOCAL, seeder.port);
        assert.match(await refused, /authentication failed/);
        assert.equal(s.connectionCount, 0);
      } finally {
        await new Promise<void>((r) => echo.close(() => r()));
      }
    }));

  test('HTTPS trackers: TLS is spoken through the tunnel (a self-signed certificate is refused)', () =>
    group.explain(async () => {
      const ms = await startMicrosocks(group, { external: PROXY_OUT });
      const dir = await group.dir('tls');
      const made = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { timeout: 30_000 },
      );
      assert.equal(made.status, 0, String(made.stderr));
      const server = https.createServer(
        { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) },
        (_req, res) => res.end(),
      );
      const connectedFrom = new Promise<string | undefined>((resolve) =>
        server.once('connection', (socket: Socket) => resolve(socket.remoteAddress)),
      );
      // The client hung up inside the TLS handshake (it checked the certificate).
      const tlsAborted = new Promise<void>((resolve) => server.once('tlsClientError', () => resolve()));
      await new Promise<void>((r) => server.listen(0, LOCAL, r));
      try {
        const port = (server.address() as { port: number }).port;
        await assert.rejects(
          httpTrackerGet(`https://localhost:${port}/announce`, { proxy: { host: LOCAL, port: ms.port } }),
          (e) => e instanceof TrackerError && /self[- ]signed certificate/.test(e.message),
        );
        // The TLS client the tracker saw came from the proxy.
        assert.equal(await within(connectedFrom, 10_000, 'the connection'), PROXY_OUT);
        await within(tlsAborted, 10_000, 'the aborted TLS handshake');
      } finally {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    }));

  test('the CLI: download --proxy --blocklist goes through the proxy; an unreadable list is a clear error', () =>
    group.explain(async () => {
      const ms = await startMicrosocks(group, { external: PROXY_OUT });
      const torrentFile = join(root, 'http.torrent');
      await writeFile(torrentFile, torrents.http.bytes);
      const list = join(root, 'list.p2p');
      await writeFile(list, 'Elsewhere:198.51.100.0-198.51.100.255\n');
      const out = join(root, 'leech-cli');
      const r = await shoal([
        'download',
        torrentFile,
        '-o',
        out,
        '--proxy',
        `socks5://${LOCAL}:${ms.port}`,
        '--blocklist',
        list,
        '--peer',
        `${LOCAL}:${seeder.port}`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /with --proxy the DHT and local service discovery are off/);
      assert.deepEqual(
        await treeDigests(join(out, 'http'), rels),
        await treeDigests(join(root, 'seed', 'http'), rels),
      );
      const made = ms.process.lines.filter((l) => l.includes('connected to'));
      assert.ok(
        made.some((l) => l.endsWith(`connected to ${LOCAL}:${seeder.port}`)),
        made.join('\n'),
      );
      for (const a of seederSaw('http'))
        assert.ok(a.startsWith(`${PROXY_OUT}:`), `direct connection from ${a}`);

      const bad = await shoal([
        'download',
        torrentFile,
        '-o',
        join(root, 'leech-cli-bad'),
        '--no-dht',
        '--no-lsd',
        '--blocklist',
        join(root, 'missing.p2p'),
      ]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /cannot read blocklist .*missing\.p2p.*SHOAL_ERR_NET_BLOCKLIST/);
    }));

  test('a proxy that is down: typed errors for peers and trackers, and no direct fallback', async () => {
    const port = await freePort(); // nothing listens here
    const transport = new Socks5Transport({ proxy: { host: LOCAL, port } });
    await assert.rejects(
      transport.dial(LOCAL, seeder.port, { timeoutMs: 5_000 }),
      (e) =>
        isShoalError(e, ErrorCode.NetProxy) && /cannot reach SOCKS5 proxy 127\.0\.0\.1:\d+/.test(e.message),
    );
    await assert.rejects(
      httpAnnounce(tracker.httpAnnounceUrl!, announceReq(torrents.http.infoHash, 5), {
        proxy: { host: LOCAL, port },
      }),
      (e) => e instanceof TrackerError && /cannot reach SOCKS5 proxy/.test(e.message),
    );
    const udp = new UdpTrackerSocket({ proxy: { host: LOCAL, port } });
    try {
      await assert.rejects(
        udp.announce(tracker.udpAnnounceUrl!, announceReq(torrents.udp.infoHash, 6), { timeoutMs: 5_000 }),
        (e) =>
          e instanceof TrackerError &&
          /cannot open a SOCKS5 UDP association: cannot reach SOCKS5 proxy/.test(e.message),
      );
    } finally {
      await udp.close();
    }
    const s = await leecher('leech-down', port);
    const t = await s.addTorrent(torrents.http.bytes);
    const refused = within(
      new Promise<string>((resolve) => {
        t.on('peer', (e) => {
          if (e.type === 'refused' && e.reason !== undefined) resolve(e.reason);
        });
      }),
      10_000,
      'the refusal',
    );
    const warned = within(
      new Promise<string>((resolve) => t.on('warning', (w) => resolve(w.message))),
      10_000,
      'the tracker warning',
    );
    t.addPeer(LOCAL, seeder.port);
    assert.match(await refused, /cannot reach SOCKS5 proxy/);
    assert.match(await warned, /tracker failed: .*cannot reach SOCKS5 proxy/);
    assert.equal(s.connectionCount, 0);
    // Every connection the seeder ever saw came through a proxy (the others' leechers reconnect
    // through theirs now and then): a direct dial from this one would show as 127.0.0.1.
    for (const a of seederSaw('http'))
      assert.ok(a.startsWith(`${PROXY_OUT}:`), `direct connection from ${a}`);
  });
});
