/**
 * BEP 55 holepunching across two NATs (issue 24), in network namespaces: Shoal A (seed) and
 * Shoal B (leecher) each sit behind their own masquerading router that drops anything new from
 * outside, and a relay sits in the "internet" namespace. First Shoal in home B dials A directly
 * and fails (A's router drops it). Then both join the relay; A learns B through the relay's PEX
 * (flag 0x08), its dial fails too, it sends `rendezvous`, the relay sends `connect` to both, both
 * open uTP at once, and B downloads the whole file from A over that connection (sha256 equal; B got
 * nothing from the relay, which never holds data: Shoal is held at 1 byte/s both ways,
 * libtorrent wants no file). The relay is Shoal, then python3-libtorrent 2.0.8.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTorrent } from '../../src/storage/index.js';
import {
  ClientGroup,
  type ClientProcess,
  LT_PEER_SCRIPT,
  libtorrentMissing,
  SYSTEM_PYTHON,
} from '../helpers/clients.js';
import {
  HolepunchLab,
  holepunchLabMissing,
  INTERNET_IP,
  ROUTER_A_WAN,
  ROUTER_B_WAN,
} from '../helpers/holepunch-lab.js';
import { sha256File, writeTree } from '../helpers/payload.js';

const missing = holepunchLabMissing() ?? libtorrentMissing();
if (missing !== undefined) throw new Error(missing);

const STEP_MS = 30_000;
/** Up to two libtorrent PEX rounds (one a minute) plus the failed dials before the punch. */
const PUNCH_MS = 180_000;
const PIECE = 64 * 1024;
/** The file B downloads: whole pieces, so no piece holds bytes of the other file. */
const SIZE = 32 * PIECE;
/**
 * The torrent has `data.bin` (A has it, B wants it) and `extra.bin`, which nobody has and only
 * the relay wants: so the relay holds none of B's data, yet it is never finished and A is never
 * a seed, and nobody closes a connection as redundant (a finished node drops seeds).
 */
const PRIORITIES = { a: '1,0', b: '1,0', relay: '0,1' };
const NODE = new URL('./nat/holepunch-node.ts', import.meta.url).pathname;
const TSX = import.meta.resolve('tsx');

interface Line {
  readonly t: string;
  readonly type?: string;
  readonly address?: string;
  readonly reason?: string;
  readonly transport?: string;
  readonly connected?: boolean;
  readonly failures?: number;
  readonly source?: string;
  readonly totalDownloaded?: number;
  readonly peers?: readonly { address: string; transport: string; downloadedBytes: number }[];
}

const json = (l: string): Line | undefined => (l.startsWith('{') ? (JSON.parse(l) as Line) : undefined);

async function waitJson(
  p: ClientProcess,
  f: (l: Line) => boolean,
  what: string,
  ms = STEP_MS,
): Promise<Line> {
  return json(
    await p.waitForLine(
      (l) => {
        const j = json(l);
        return j !== undefined && f(j);
      },
      ms,
      what,
    ),
  )!;
}

describe('BEP 55 holepunching between two NATed homes', { timeout: 900_000 }, () => {
  const lab = new HolepunchLab();
  const group = new ClientGroup();
  let torrentPath: string;
  let seedDir: string;
  let digest: string;

  before(async () => {
    lab.create();
    seedDir = await group.dir('seed');
    await writeTree(join(seedDir, 'hp'), { 'data.bin': SIZE, 'extra.bin': PIECE + 1 }, 55);
    const t = await createTorrent(join(seedDir, 'hp'), { version: 'v1', pieceLength: PIECE });
    // Files are in path order: data.bin is file 0, extra.bin file 1 (PRIORITIES).
    torrentPath = join(await group.root(), 'hp.torrent');
    await writeFile(torrentPath, t.bytes);
    digest = await sha256File(join(seedDir, 'hp', 'data.bin'));
    await rm(join(seedDir, 'hp', 'extra.bin'));
  });
  after(async () => {
    await group.stop(); // every process, by PID, before the namespaces go
    lab.destroy();
  });

  const shoal = (name: string, ns: string, data: string, port: number, priorities: string) =>
    group.spawn(name, 'ip', [
      'netns',
      'exec',
      ns,
      process.execPath,
      '--import',
      TSX,
      NODE,
      '--torrent',
      torrentPath,
      '--data',
      data,
      '--port',
      String(port),
      '--priorities',
      priorities,
    ]);

  let runs = 0;
  for (const relayKind of ['shoal', 'libtorrent'] as const) {
    test(`${relayKind} relays: a direct dial fails, the holepunched uTP connection carries the file`, async () => {
      // Fresh ports per run: the routers' connection tracking still holds the last run's holes.
      const n = ++runs;
      const [portA, portB, portR] = [40_000 + n * 10, 40_001 + n * 10, 40_002 + n * 10];
      const procs: ClientProcess[] = [];
      try {
        const relayDir = await group.dir(`relay-${n}`);
        const relay =
          relayKind === 'shoal'
            ? shoal(`relay-${n}`, lab.internet, relayDir, portR, PRIORITIES.relay)
            : group.spawn(`relay-${n}`, 'ip', [
                'netns',
                'exec',
                lab.internet,
                SYSTEM_PYTHON,
                LT_PEER_SCRIPT,
                '--torrent',
                torrentPath,
                '--save',
                relayDir,
                '--port',
                String(portR),
                '--host',
                INTERNET_IP,
                '--utp-only',
                '--priorities',
                PRIORITIES.relay,
              ]);
        procs.push(relay);
        if (relayKind === 'shoal') await waitJson(relay, (l) => l.t === 'ready', 'the relay');
        else await relay.waitForLine((l) => l.includes('"listening"'), STEP_MS, 'libtorrent listening');
        const a = shoal(`a-${n}`, lab.homeA, seedDir, portA, PRIORITIES.a);
        procs.push(a);
        const b = shoal(`b-${n}`, lab.homeB, await group.dir(`b-${n}`), portB, PRIORITIES.b);
        procs.push(b);
        await waitJson(a, (l) => l.t === 'done', 'A to check its data and seed');
        await waitJson(b, (l) => l.t === 'ready', 'B ready');

        // Direct: Shoal in home B (a node of its own, so that B itself never sends A a packet
        // that would open a hole) cannot reach A: A's router drops what A did not ask for.
        const probe = shoal(`probe-${n}`, lab.homeB, await group.dir(`probe-${n}`), portB + 5, PRIORITIES.b);
        procs.push(probe);
        await waitJson(probe, (l) => l.t === 'ready', 'the probe ready');
        const droppedBefore = lab.dropped('a');
        probe.send(`dial ${ROUTER_A_WAN} ${portA}`);
        const direct = await waitJson(probe, (l) => l.t === 'dial', 'the direct dial to end');
        assert.equal(direct.connected, false);
        assert.ok(direct.failures! >= 1);
        assert.ok(lab.dropped('a') > droppedBefore, 'router A dropped the direct dial');

        // Through the relay: B joins, then A, whose first PEX from the relay names B (flag 0x08).
        // A's dial to B fails the same way; A sends `rendezvous`, the relay `connect`s both. (B
        // hears of A only at the relay's next PEX, a minute later: it never dials A by itself.)
        b.send(`add ${INTERNET_IP} ${portR}`);
        await waitJson(
          b,
          (l) => l.type === 'connected' && l.address === `${INTERNET_IP}:${portR}`,
          'B on the relay',
        );
        if (relayKind === 'libtorrent') {
          // libtorrent sends no PEX while it has nobody to name: the probe (behind B's own router,
          // so B cannot reach it nor it B) joins, and B hears of it. B's first PEX has then gone
          // out, and the next one, which names A, is due a minute later (BEP 11). Shoal sends its
          // first PEX at the handshake, empty or not.
          probe.send(`add ${INTERNET_IP} ${portR}`);
          b.send(`known ${ROUTER_B_WAN} ${portB + 5}`);
          assert.equal(
            (await waitJson(b, (l) => l.t === 'known', 'B to hear of the probe', 90_000)).source,
            'pex',
          );
        }
        a.send(`add ${INTERNET_IP} ${portR}`);
        await waitJson(
          a,
          (l) => l.type === 'connected' && l.address === `${INTERNET_IP}:${portR}`,
          'A on the relay',
        );
        await waitJson(b, (l) => l.t === 'done', 'B to finish through the holepunch', PUNCH_MS);

        assert.equal(await sha256File(join(await group.dir(`b-${n}`), 'hp', 'data.bin')), digest);
        // Every byte came over uTP connections with A's NAT, none from the relay: B's only
        // connections were those (both holepunched ones may have carried some: the one the
        // larger peer id opened replaces the other when it completes), and the relay's, still
        // open, carried none.
        b.send('peers');
        const peers = await waitJson(b, (l) => l.t === 'peers', 'B`s peers');
        assert.ok(peers.totalDownloaded! >= SIZE, JSON.stringify(peers));
        const fromRelay = peers.peers!.find((p) => p.address === `${INTERNET_IP}:${portR}`);
        assert.equal(fromRelay?.downloadedBytes, 0, JSON.stringify(peers));
        const bLog = b.lines.map(json).filter((l) => l?.t === 'peer');
        const opened = bLog.filter((l) => l!.type === 'connected');
        assert.deepEqual(
          opened.filter(
            (l) => l!.address !== `${INTERNET_IP}:${portR}` && !l!.address!.startsWith(`${ROUTER_A_WAN}:`),
          ),
          [],
        );
        assert.ok(opened.some((l) => l!.address!.startsWith(`${ROUTER_A_WAN}:`) && l!.transport === 'utp'));
        assert.ok(!bLog.some((l) => l!.type === 'disconnected' && l!.address === `${INTERNET_IP}:${portR}`));
        // Both ends acted on a relay's `connect` (BEP 55), in their peer logs.
        for (const [p, other] of [
          [a, ROUTER_B_WAN],
          [b, ROUTER_A_WAN],
        ] as const)
          await waitJson(
            p,
            (l) =>
              l.type === 'holepunch' && l.address!.startsWith(`${other}:`) && /connect from/.test(l.reason!),
            `${p.name} to log the relay's connect`,
            1,
          );
        if (relayKind === 'shoal')
          await waitJson(
            relay,
            (l) => l.type === 'holepunch' && /relayed/.test(l.reason!),
            'the relay`s log',
            1,
          );
      } catch (e) {
        const logs = procs.map((p) => `--- ${p.name}:\n${p.output().slice(-4000)}`).join('\n');
        throw new Error(`${(e as Error).message}\n${logs}`, { cause: e });
      } finally {
        for (const p of procs) await p.stop();
      }
    });
  }
});
