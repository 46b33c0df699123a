/**
 * The swarm lab (issue 8): one seeder and N leechers on 127.0.0.1 that meet only through Shoal's
 * tracker, each node with its own upload and download rate limits so that loopback behaves like
 * a network of home connections, and optional behaviours: leechers joining over time, leechers
 * going offline for a while (churn), and free-riders that download but never upload.
 *
 * Shoal nodes are Sessions in this process sharing one hash pool; libtorrent nodes are sessions
 * in one python3-libtorrent process (bench/py/lt_swarm.py). Swarms may be Shoal-only,
 * libtorrent-only or mixed (leechers alternate).
 *
 * Figures (see {@link SwarmLabResult}) follow the fluid model of a flash crowd (Kumar & Ross): the
 * file must leave the seeder once (S/u_s), each leecher must receive it (S/d), and the swarm's
 * total upload capacity bounds the rest (N·S / (u_s + Σu_i)), so no schedule can finish every
 * leecher before T* = max of the three. Free-riders add demand but no capacity.
 *
 * Used by `npm run bench:swarm` (bench/swarm.ts) and, with a small N, by the test suite
 * (test/integration/swarm-lab.test.ts).
 */
import { randomFillSync } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom, type TorrentEngineOptions } from '../../src/engine/index.js';
import { Session, type Torrent } from '../../src/session/index.js';
import { createTorrent, HashPool, VERIFY_TASKS_PER_THREAD } from '../../src/storage/index.js';
import { startTracker, type TrackerServer } from '../../src/tracker/index.js';
import { ClientProcess, freePort, SYSTEM_PYTHON } from './clients.js';

/** Every lab node listens on 127.0.0.1, so the per-address connection cap must not bind. */
const LAB_CONNECTIONS_PER_ADDRESS = 1000;

export type Impl = 'shoal' | 'lt';

/** The libtorrent multi-peer script. */
export const LT_SWARM_SCRIPT = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'bench',
  'py',
  'lt_swarm.py',
);

export interface SwarmLabConfig {
  /** N: leechers (free-riders included). */
  readonly leechers: number;
  readonly payloadBytes: number;
  readonly pieceLength: number;
  /** u_s, bytes/s. */
  readonly seederUploadBps: number;
  /** u, bytes/s, for every leecher that shares. */
  readonly leecherUploadBps: number;
  /** d, bytes/s (0 = unlimited). */
  readonly leecherDownloadBps: number;
  readonly seeder: Impl;
  /** Every leecher's implementation; 'mixed' alternates Shoal and libtorrent. */
  readonly leecherImpl: Impl | 'mixed';
  /** How many leechers (spread evenly over the list) never upload. @default 0 */
  readonly freeRiders?: number;
  /** BEP 16 super-seeding on the seeder. @default false */
  readonly superSeed?: boolean;
  /** Leechers join evenly spread over this many ms (0: all at once, a flash crowd). @default 0 */
  readonly joinOverMs?: number;
  /** Share of sharing leechers that go offline once, mid-download. @default 0 */
  readonly churn?: number;
  /**
   * Sharing leechers leave as soon as they have every piece (free-riders then depend on the
   * seeder alone, as in Cohen's incentive analysis). @default false: everyone stays and seeds
   */
  readonly leaveWhenDone?: boolean;
  /**
   * With free-riders: once every sharer is done, wait for the free-riders until this many times
   * the sharers' median download time (from the start), then stop; a free-rider not done by then
   * counts with its time so far, and the slowdown is a lower bound
   * (`freeRiderSlowdownIsLowerBound`). @default unlimited (wait until the timeout)
   */
  readonly freeRiderWaitFactor?: number;
  /** How long a churned leecher stays offline, ms. @default 3000 */
  readonly churnPauseMs?: number;
  /**
   * Engine tunables of every Shoal node, e.g. a shorter rechoke interval for a time-scaled run.
   * @default the engine's defaults
   */
  readonly shoalEngine?: TorrentEngineOptions;
  /** The run stops here even if some leecher is not done. */
  readonly timeoutMs: number;
  /** Seed of the lab's random choices. @default 1 */
  readonly rngSeed?: number;
  readonly log?: (line: string) => void;
}

export interface PeerFigure {
  readonly name: string;
  readonly impl: Impl;
  readonly freeRider: boolean;
  /** ms after the start. */
  readonly joinedAtMs: number;
  /** Seconds from joining to having every piece; undefined if it never finished. */
  readonly downloadS: number | undefined;
  readonly uploadedBytes: number;
}

export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

export interface SwarmLabResult {
  readonly config: SwarmLabConfig;
  readonly peers: readonly PeerFigure[];
  readonly allFinished: boolean;
  /** Seconds from the start until the last sharing leecher finished. */
  readonly completionS: number;
  /** Seconds from the start until every leecher (free-riders too) finished. */
  readonly allCompletionS: number;
  /** T*, seconds (flash-crowd fluid limit of the sharers plus free-riders). */
  readonly fluidLimitS: number;
  /** completionS / fluidLimitS (≥ 1; 1 is ideal). */
  readonly fluidRatio: number;
  /** Bytes the seeder uploaded ÷ payload size (ideal ≈ 1). */
  readonly seederRatio: number;
  /**
   * The same when the last sharer finished (undefined if one never did). With free-riders the
   * run goes on serving them after that, for as long as they take: this is the figure that
   * compares swarms whose free-riders finish at different times.
   */
  readonly seederRatioSharersDone: number | undefined;
  /** Download time of the sharing leechers, seconds. */
  readonly sharers: Spread;
  /** Download time of the free-riders, seconds (undefined without free-riders). */
  readonly freeRiders: Spread | undefined;
  /** Median free-rider time ÷ median sharer time. */
  readonly freeRiderSlowdown: number | undefined;
  /** Some free-rider was not done when the run stopped (see `freeRiderWaitFactor`). */
  readonly freeRiderSlowdownIsLowerBound: boolean;
  /** Bytes uploaded by everyone ÷ the upload capacity present until the last sharer finished. */
  readonly capacityUsed: number;
}

interface Node {
  readonly name: string;
  readonly impl: Impl;
  readonly freeRider: boolean;
  readonly dir: string;
  joinedAt: number;
  finishedAt: number | undefined;
  /** ms spent offline (churn). */
  offlineMs: number;
  /** When it left for good (leaveWhenDone). */
  leftAt: number | undefined;
  uploadedBefore: number;
  session?: Session;
  torrent?: Torrent | undefined;
}

interface LtEvent {
  readonly t: string;
  readonly at: number;
  readonly name?: string;
  readonly msg?: string;
  readonly peers?: readonly { name: string; uploaded: number; downloaded: number }[];
}

/** Fluid-model lower bound on the time to serve every leecher (flash crowd), seconds. */
export function fluidLimitSeconds(c: SwarmLabConfig): number {
  const sharers = c.leechers - (c.freeRiders ?? 0);
  const S = c.payloadBytes;
  const bounds = [
    S / c.seederUploadBps,
    (c.leechers * S) / (c.seederUploadBps + sharers * c.leecherUploadBps),
  ];
  if (c.leecherDownloadBps > 0) bounds.push(S / c.leecherDownloadBps);
  return Math.max(...bounds);
}

export function spread(values: readonly number[]): Spread {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN };
  const mid = v.length >> 1;
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { min: v[0]!, median, max: v[v.length - 1]! };
}

/** Runs one swarm and returns its figures; everything it started is stopped and removed. */
export async function runSwarm(config: SwarmLabConfig): Promise<SwarmLabResult> {
  const log = config.log ?? (() => {});
  const random = new SeededRandom(config.rngSeed ?? 1);
  const root = await mkdtemp(join(tmpdir(), 'shoal-swarm-lab-'));
  const sessions: Session[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let tracker: TrackerServer | undefined;
  let lt: ClientProcess | undefined;
  const hashPool = new HashPool({ threads: 1, tasksPerThread: VERIFY_TASKS_PER_THREAD });
  try {
    // ------------------------------------------------------------ payload, torrent, tracker
    const seedDir = join(root, 'seed');
    await mkdir(seedDir, { recursive: true });
    await writePayload(join(seedDir, 'payload.bin'), config.payloadBytes);
    tracker = await startTracker({ host: '127.0.0.1', httpPort: 0, udpPort: null, intervalS: 30 });
    const created = await createTorrent(join(seedDir, 'payload.bin'), {
      version: 'v1',
      pieceLength: config.pieceLength,
      trackers: [[tracker.httpAnnounceUrl!]],
      creationDate: null,
    });
    const torrentPath = join(root, 'payload.torrent');
    await writeFile(torrentPath, created.bytes);

    const n = config.leechers;
    const free = new Set<number>();
    const k = config.freeRiders ?? 0;
    for (let j = 0; j < k; j++) free.add(Math.floor(((j + 0.5) * n) / k));
    const nodes: Node[] = Array.from({ length: n }, (_, i) => ({
      name: `L${i}`,
      impl: config.leecherImpl === 'mixed' ? (i % 2 === 0 ? 'shoal' : 'lt') : config.leecherImpl,
      freeRider: free.has(i),
      dir: join(root, `L${i}`),
      joinedAt: 0,
      finishedAt: undefined,
      offlineMs: 0,
      leftAt: undefined,
      uploadedBefore: 0,
    }));

    // ------------------------------------------------------------ libtorrent process
    const ltEvents: LtEvent[] = [];
    const ltWaiters = new Map<string, (e: LtEvent) => void>();
    if (config.seeder === 'lt' || nodes.some((x) => x.impl === 'lt')) {
      lt = new ClientProcess('lt_swarm', SYSTEM_PYTHON, [LT_SWARM_SCRIPT, torrentPath]);
      lt.onLine((line) => {
        if (!line.startsWith('{')) return;
        let e: LtEvent;
        try {
          e = JSON.parse(line) as LtEvent;
        } catch {
          return;
        }
        ltEvents.push(e);
        if (e.t === 'error' || e.t === 'tracker_error' || e.t === 'tracker_reply')
          log(`libtorrent ${e.t}: ${e.name ?? ''} ${e.msg ?? ''} ${JSON.stringify(e)}`);
        const key = `${e.t}:${e.name ?? ''}`;
        ltWaiters.get(key)?.(e);
        ltWaiters.delete(key);
        if (e.t === 'finished' && e.name !== undefined) {
          const node = nodes.find((x) => x.name === e.name);
          if (node !== undefined && node.finishedAt === undefined) {
            node.finishedAt = e.at;
            if (config.leaveWhenDone === true && !node.freeRider) {
              node.leftAt = e.at;
              lt!.send(`pause ${node.name}`);
            }
          }
          checkDone();
        }
      });
    }
    const ltWait = (t: string, name: string, ms: number) =>
      new Promise<LtEvent>((resolve, reject) => {
        const seen = ltEvents.find((e) => e.t === t && (e.name ?? '') === name);
        if (seen !== undefined) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`libtorrent: no ${t} for ${name} in ${ms} ms`)), ms);
        ltWaiters.set(`${t}:${name}`, (e) => {
          clearTimeout(timer);
          resolve(e);
        });
        void lt?.exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`lt_swarm.py exited: ${lt?.output().slice(-2000)}`));
        });
      });

    // ------------------------------------------------------------ the seeder
    let seederTorrent: Torrent | undefined;
    if (config.seeder === 'shoal') {
      const s = await Session.create({
        host: '127.0.0.1',
        // Every node of the lab shares 127.0.0.1: the per-address cap is for real networks.
        maxConnectionsPerAddress: LAB_CONNECTIONS_PER_ADDRESS,
        downloadDir: seedDir,
        uploadRateLimit: config.seederUploadBps,
        hashPool,
        ...(config.shoalEngine ? { engine: config.shoalEngine } : {}),
      });
      sessions.push(s);
      seederTorrent = await s.addTorrent(created.bytes, { superSeed: config.superSeed === true });
      if (!seederTorrent.isFinished) throw new Error('the Shoal seeder did not verify its data');
    } else {
      const port = await freePort();
      const mode = config.superSeed === true ? 2 : 1;
      lt!.send(`add seeder ${port} ${config.seederUploadBps} 0 ${seedDir} ${mode} 0`);
      await ltWait('ready', 'seeder', 60_000);
    }

    // ------------------------------------------------------------ leechers
    const t0 = Date.now();
    const fluid = fluidLimitSeconds(config);
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    let freeRiderWait: NodeJS.Timeout | undefined;
    // The seeder's upload when the last sharer finished.
    let seederAtSharersDone: Promise<number | undefined> | undefined;
    function checkDone(): void {
      if (
        seederAtSharersDone === undefined &&
        nodes.every((x) => x.freeRider || x.finishedAt !== undefined)
      ) {
        if (seederTorrent !== undefined)
          seederAtSharersDone = Promise.resolve(seederTorrent.stats().uploadedBytes);
        else if (lt !== undefined) {
          lt.send('report sharers-done');
          seederAtSharersDone = ltWait('report', 'sharers-done', 30_000).then(
            (r) => r.peers?.find((p) => p.name === 'seeder')?.uploaded,
            () => undefined,
          );
        }
      }
      if (nodes.every((x) => x.finishedAt !== undefined)) resolveDone();
      else if (
        config.freeRiderWaitFactor !== undefined &&
        freeRiderWait === undefined &&
        nodes.every((x) => x.freeRider || x.finishedAt !== undefined)
      ) {
        const median = spread(
          nodes.filter((x) => !x.freeRider).map((x) => x.finishedAt! - x.joinedAt),
        ).median;
        const stopAt = t0 + config.freeRiderWaitFactor * median;
        freeRiderWait = setTimeout(resolveDone, Math.max(0, stopAt - Date.now()));
      }
    }
    const later = (ms: number, fn: () => Promise<void> | void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        Promise.resolve(fn()).catch((e: unknown) => log(`lab: ${String(e)}`));
      }, ms);
      timers.add(t);
    };

    async function startShoal(node: Node): Promise<void> {
      node.session ??= await Session.create({
        host: '127.0.0.1',
        maxConnectionsPerAddress: LAB_CONNECTIONS_PER_ADDRESS,
        downloadDir: node.dir,
        uploadRateLimit: config.leecherUploadBps,
        downloadRateLimit: config.leecherDownloadBps,
        hashPool,
        engine: node.freeRider
          ? { ...config.shoalEngine, slots: 0, optimisticSlots: 0, allowedFastSetSize: 0 }
          : (config.shoalEngine ?? {}),
      });
      if (!sessions.includes(node.session)) sessions.push(node.session);
      const t = await node.session.addTorrent(created.bytes);
      node.torrent = t;
      const finish = () => {
        node.finishedAt ??= Date.now();
        checkDone();
        if (config.leaveWhenDone === true && !node.freeRider && node.leftAt === undefined) {
          node.leftAt = Date.now();
          node.uploadedBefore += t.stats().uploadedBytes;
          node.torrent = undefined;
          void node
            .session!.removeTorrent(t.id)
            .catch((e: unknown) => log(`leave ${node.name}: ${String(e)}`));
        }
      };
      if (t.isFinished) finish();
      else t.once('done', finish);
    }

    async function joinSwarm(node: Node): Promise<void> {
      node.joinedAt = Date.now();
      await mkdir(node.dir, { recursive: true });
      if (node.impl === 'shoal') await startShoal(node);
      else {
        const port = await freePort();
        const up = node.freeRider ? 0 : config.leecherUploadBps;
        lt!.send(
          `add ${node.name} ${port} ${up} ${config.leecherDownloadBps} ${node.dir} 0 ${node.freeRider ? 1 : 0}`,
        );
      }
    }

    async function goOffline(node: Node): Promise<void> {
      if (node.finishedAt !== undefined) return;
      const off = Date.now();
      log(`churn: ${node.name} leaves for ${config.churnPauseMs ?? 3000} ms`);
      if (node.impl === 'shoal') {
        const t = node.torrent!;
        node.uploadedBefore += t.stats().uploadedBytes;
        node.torrent = undefined;
        await node.session!.removeTorrent(t.id);
      } else lt!.send(`pause ${node.name}`);
      later(config.churnPauseMs ?? 3000, async () => {
        node.offlineMs += Date.now() - off;
        log(`churn: ${node.name} is back`);
        if (node.impl === 'shoal') await startShoal(node);
        else lt!.send(`resume ${node.name}`);
      });
    }

    const joinOver = config.joinOverMs ?? 0;
    nodes.forEach((node, i) => {
      const at = n > 1 ? (joinOver * i) / (n - 1) : 0;
      if (at === 0) void joinSwarm(node).catch((e: unknown) => log(`join ${node.name}: ${String(e)}`));
      else later(at, () => joinSwarm(node));
    });
    const churners = nodes.filter((x) => !x.freeRider && random.int(1000) < (config.churn ?? 0) * 1000);
    for (const node of churners) {
      const at = (0.2 + 0.4 * (random.int(1000) / 1000)) * fluid * 1000;
      later(at, () => goOffline(node));
    }

    // ------------------------------------------------------------ wait, then measure
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<void>((r) => {
        timeout = setTimeout(r, config.timeoutMs);
      }),
    ]);
    clearTimeout(timeout);
    clearTimeout(freeRiderWait);
    const tEnd = Date.now();
    for (const t of timers) clearTimeout(t);
    timers.clear();

    const uploaded = new Map<string, number>();
    for (const node of nodes) {
      if (node.impl === 'shoal')
        uploaded.set(node.name, node.uploadedBefore + (node.torrent?.stats().uploadedBytes ?? 0));
    }
    let seederUploaded = seederTorrent?.stats().uploadedBytes ?? 0;
    if (lt !== undefined) {
      lt.send('report');
      const report = await ltWait('report', '', 30_000);
      for (const p of report.peers ?? []) {
        if (p.name === 'seeder') seederUploaded = p.uploaded;
        else uploaded.set(p.name, p.uploaded);
      }
    }

    const atSharersDone = await seederAtSharersDone;

    const peers: PeerFigure[] = nodes.map((x) => ({
      name: x.name,
      impl: x.impl,
      freeRider: x.freeRider,
      joinedAtMs: x.joinedAt - t0,
      downloadS: x.finishedAt === undefined ? undefined : (x.finishedAt - x.joinedAt) / 1000,
      uploadedBytes: uploaded.get(x.name) ?? 0,
    }));
    const sharerNodes = nodes.filter((x) => !x.freeRider);
    const lastSharer = Math.max(...sharerNodes.map((x) => x.finishedAt ?? tEnd));
    const lastAll = Math.max(...nodes.map((x) => x.finishedAt ?? tEnd));
    const completionS = (lastSharer - t0) / 1000;
    const sharers = spread(
      peers.filter((p) => !p.freeRider && p.downloadS !== undefined).map((p) => p.downloadS!),
    );
    const frPeers = peers.filter((p) => p.freeRider);
    const freeRiders =
      frPeers.length === 0
        ? undefined
        : spread(frPeers.map((p) => p.downloadS ?? (tEnd - t0 - p.joinedAtMs) / 1000));
    // Capacity: the seeder all along, each sharer from joining (minus time offline), until the
    // last sharer finished.
    let capacity = config.seederUploadBps * ((lastSharer - t0) / 1000);
    for (const x of sharerNodes) {
      const present =
        Math.max(0, Math.min(lastSharer, x.leftAt ?? lastSharer) - x.joinedAt - x.offlineMs) / 1000;
      capacity += config.leecherUploadBps * present;
    }
    const totalUp = seederUploaded + peers.reduce((a, p) => a + p.uploadedBytes, 0);
    return {
      config,
      peers,
      allFinished: nodes.every((x) => x.finishedAt !== undefined),
      completionS,
      allCompletionS: (lastAll - t0) / 1000,
      fluidLimitS: fluid,
      fluidRatio: completionS / fluid,
      seederRatio: seederUploaded / config.payloadBytes,
      seederRatioSharersDone: atSharersDone === undefined ? undefined : atSharersDone / config.payloadBytes,
      sharers,
      freeRiders,
      freeRiderSlowdown: freeRiders === undefined ? undefined : freeRiders.median / sharers.median,
      freeRiderSlowdownIsLowerBound: frPeers.some((p) => p.downloadS === undefined),
      capacityUsed: capacity > 0 ? totalUp / capacity : 0,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    await Promise.all(sessions.map((s) => s.close().catch(() => {})));
    if (lt !== undefined) {
      lt.send('quit');
      await lt.stop();
    }
    await tracker?.close();
    await hashPool.destroy();
    await rm(root, { recursive: true, force: true });
  }
}

/** Random bytes, written in 1 MiB chunks. */
async function writePayload(path: string, bytes: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    for (let at = 0; at < bytes; at += chunk.length) {
      const len = Math.min(chunk.length, bytes - at);
      randomFillSync(chunk, 0, len);
      await fh.write(chunk, 0, len, at);
    }
  } finally {
    await fh.close();
  }
}
