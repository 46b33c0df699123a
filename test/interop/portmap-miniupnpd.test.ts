/**
 * Port mapping against a real router daemon (issue 24): miniupnpd (Debian miniupnpd-nftables)
 * in a "router" namespace NATs a "home" namespace; Shoal in home maps its port with UPnP IGD,
 * NAT-PMP and PCP in turn; python3-libtorrent in the "internet" namespace dials the mapped
 * address and downloads from Shoal (sha256 equal). The mapping is re-made after miniupnpd
 * restarts (with its rules gone, as after a reboot) and disappears when Shoal stops.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTorrent } from '../../src/storage/index.js';
import {
  ClientGroup,
  type ClientProcess,
  type ClientGroup as Group,
  LT_PEER_SCRIPT,
  libtorrentMissing,
  SYSTEM_PYTHON,
} from '../helpers/clients.js';
import { HOME_IP, INTERNET_IP, NatLab, netnsMissing, ROUTER_WAN_IP } from '../helpers/nat-lab.js';
import { sha256File, writeTree } from '../helpers/payload.js';

const missing = netnsMissing() ?? libtorrentMissing();
if (missing !== undefined) throw new Error(missing);

const STEP_MS = 30_000;
const STUN_PORT = 3478;
const HOME_NODE = new URL('./nat/home-node.ts', import.meta.url).pathname;
const STUN_SCRIPT = new URL('./py/stun_echo.py', import.meta.url).pathname;
const TSX = import.meta.resolve('tsx');

interface PortmapLine {
  readonly t: string;
  readonly state?: string;
  readonly method?: string;
  readonly externalIp?: string;
  readonly port?: number;
  readonly mappings?: readonly { protocol: string; internalPort: number; externalPort: number }[];
  /** `external` lines: the session's external-address:changed. */
  readonly address?: string;
  readonly source?: string;
}

/** Waits for a JSON line of `p` passing `f` that comes after the first `skip` lines. */
async function waitJson(
  p: ClientProcess,
  f: (l: PortmapLine) => boolean,
  what: string,
  skip = 0,
): Promise<PortmapLine> {
  let n = 0;
  const line = await p.waitForLine(
    (l) => {
      if (!l.startsWith('{')) return false;
      return n++ >= skip && f(JSON.parse(l) as PortmapLine);
    },
    STEP_MS,
    what,
  );
  return JSON.parse(line) as PortmapLine;
}

describe('port mapping through miniupnpd in network namespaces', { timeout: 300_000 }, () => {
  const lab = new NatLab();
  const group: Group = new ClientGroup();
  let torrentPath: string;
  let seedDir: string;
  let digest: string;

  before(async () => {
    lab.create();
    seedDir = await group.dir('seed');
    await writeTree(join(seedDir, 'payload'), { 'data.bin': 3 * 1024 * 1024 + 4321 }, 24);
    const t = await createTorrent(join(seedDir, 'payload', 'data.bin'), {
      version: 'v1',
      pieceLength: 256 * 1024,
    });
    torrentPath = join(await group.root(), 'nat.torrent');
    await writeFile(torrentPath, t.bytes);
    digest = await sha256File(join(seedDir, 'payload', 'data.bin'));
    const stun = group.spawn('stun', 'ip', [
      'netns',
      'exec',
      lab.internet,
      SYSTEM_PYTHON,
      STUN_SCRIPT,
      INTERNET_IP,
      String(STUN_PORT),
    ]);
    await stun.waitForLine((l) => l.includes('"ready"'), STEP_MS, 'the STUN responder');
  });
  after(async () => {
    await group.stop(); // every process, by PID, before the namespaces go
    lab.destroy();
  });

  let runs = 0;
  async function startMiniupnpd(method: string): Promise<ClientProcess> {
    const n = ++runs;
    const conf = join(await group.root(), `miniupnpd-${n}.conf`);
    await writeFile(
      conf,
      lab.miniupnpdConf({ upnp: method === 'upnp', natpmp: method !== 'upnp', stunPort: STUN_PORT }),
    );
    const pidFile = join(await group.root(), `miniupnpd-${n}.pid`);
    const d = group.spawn(`miniupnpd-${method}-${n}`, 'ip', [
      'netns',
      'exec',
      lab.router,
      'miniupnpd',
      '-f',
      conf,
      '-d',
      '-P',
      pidFile,
    ]);
    await d.waitForLine(
      (l) => (method === 'upnp' ? /HTTP listening on port/.test(l) : /Listening for NAT-PMP\/PCP/.test(l)),
      STEP_MS,
      'miniupnpd to serve',
    );
    return d;
  }

  for (const method of ['upnp', 'natpmp', 'pcp'] as const) {
    test(`${method}: libtorrent outside downloads from Shoal behind the NAT; remapped after a router restart; gone after stop`, async () => {
      const procs: ClientProcess[] = [];
      try {
        let router = await startMiniupnpd(method);
        procs.push(router);
        const home = group.spawn(`shoal-home-${method}`, 'ip', [
          'netns',
          'exec',
          lab.home,
          process.execPath,
          '--import',
          TSX,
          HOME_NODE,
          '--torrent',
          torrentPath,
          '--data',
          join(seedDir, 'payload'),
          '--methods',
          method,
          '--lease',
          '120',
        ]);
        procs.push(home);
        const ready = await waitJson(home, (l) => l.t === 'ready', 'Shoal ready');
        const port = ready.port!;
        const mapped = await waitJson(home, (l) => l.t === 'portmap' && l.state === 'mapped', 'a mapping');
        assert.equal(mapped.method, method);
        assert.equal(mapped.externalIp, ROUTER_WAN_IP);
        const tcp = mapped.mappings!.find((m) => m.protocol === 'TCP')!;
        assert.equal(tcp.internalPort, port);
        assert.ok(
          lab.mappings().includes(`TCP ${tcp.externalPort} -> ${HOME_IP}:${port}`),
          lab.mappings().join('; '),
        );
        // The router's word is the session's external address, with the port peers dial.
        const ext = await waitJson(home, (l) => l.t === 'external' && l.address !== undefined, 'the address');
        assert.deepEqual([ext.address, ext.source, ext.port], [ROUTER_WAN_IP, 'router', tcp.externalPort]);

        // libtorrent on the internet side dials the router's mapped port and downloads.
        const save = await group.dir(`lt-${method}`);
        const lt = group.spawn(`libtorrent-${method}`, 'ip', [
          'netns',
          'exec',
          lab.internet,
          SYSTEM_PYTHON,
          LT_PEER_SCRIPT,
          '--torrent',
          torrentPath,
          '--save',
          save,
          '--port',
          String(20_000 + runs),
          '--host',
          INTERNET_IP,
          '--connect-host',
          ROUTER_WAN_IP,
          '--connect',
          String(tcp.externalPort),
          '--exit-when-done',
        ]);
        await lt
          .waitForLine((l) => l.includes('"finished"'), STEP_MS * 2, 'libtorrent to finish')
          .catch((e) => {
            throw new Error(
              `${(e as Error).message}\n--- libtorrent:\n${lt.output().slice(-3000)}\n--- shoal:\n${home.output().slice(-3000)}`,
            );
          });
        assert.equal(await sha256File(join(save, 'data.bin')), digest);
        await lt.stop();

        // The router restarts and forgets its rules; Shoal maps again at its next renewal.
        await router.stop();
        lab.flushMappings();
        assert.deepEqual(lab.mappings(), []);
        router = await startMiniupnpd(method);
        procs.push(router);
        const deadline = performance.now() + STEP_MS;
        while (!lab.mappings().some((m) => m.startsWith(`TCP ${tcp.externalPort} `))) {
          assert.ok(
            performance.now() < deadline,
            `no mapping after the router restarted: ${home.output().slice(-2000)}`,
          );
          // Shoal's renewals change nothing it prints; miniupnpd logs every request it serves.
          const seen = router.lines.length;
          let n = 0;
          await router.waitForLine(() => n++ >= seen, STEP_MS, 'a request to the restarted router');
        }

        // Shoal stops: its mappings are deleted.
        home.child.stdin?.end();
        await waitJson(home, (l) => l.t === 'closed', 'Shoal closed');
        await home.exited;
        assert.deepEqual(
          lab.mappings().filter((m) => m.includes(`${HOME_IP}:${port}`)),
          [],
        );
        await router.stop();
      } catch (e) {
        // Say what the router and Shoal printed: a failure here is otherwise a bare timeout.
        const logs = procs.map((p) => `--- ${p.name}:\n${p.output().slice(-2500)}`).join('\n');
        throw new Error(`${(e as Error).message}\n${logs}`, { cause: e });
      }
    });
  }
});
