/**
 * The attack lab (issue 17): one victim Shoal leecher, one or more honest seeders (Shoal
 * sessions, or one rate-limited python3-libtorrent seeder) on 127.0.0.1, and one hostile
 * behaviour (test/helpers/hostile-peers.ts) on other loopback addresses. {@link runAttack} runs
 * the download and returns what happened: completed, bytes equal (sha256 of every file),
 * honest and hostile addresses banned, bytes wasted, hash failures, the time taken, and the peaks
 * of the structures an attacker tries to grow (connections, dials in progress, known addresses,
 * smart-ban evidence).
 *
 * The victim learns the attacker's addresses first and the honest seeders' after (the issue's
 * case: the attacker is there from the start, and faster). With `attack: undefined` the same
 * setup runs without an attacker: the baseline time.
 *
 * Used by the suite (test/integration/hostile-swarm*.test.ts, small payloads) and by
 * `npm run bench:hostile` (bench/hostile.ts, many runs beside a rate-limited libtorrent seeder).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTorrent } from '../../src/metainfo/index.js';
import { type PeerLogEntry, Session, type SessionOptions, type Torrent } from '../../src/session/index.js';
import { createTorrent, HashPool, VERIFY_TASKS_PER_THREAD } from '../../src/storage/index.js';
import { freePort, LibtorrentPeer } from './clients.js';
import { ATTACKS, type Attack, type AttackStats, MAGNET_ATTACKS } from './hostile-peers.js';
import { pseudoRandomBytes } from './payload.js';

/** Where the honest peers live. */
export const HONEST_HOST = '127.0.0.1';

export interface AttackLabConfig {
  /** A behaviour of {@link ATTACKS}, or undefined for the baseline (no attacker). */
  readonly attack: string | undefined;
  /** Honest seeder: Shoal sessions, or one python3-libtorrent process. @default 'shoal' */
  readonly seeder?: 'shoal' | 'lt';
  /** Honest Shoal seeders (each its own session on 127.0.0.1). @default 1 */
  readonly honestSeeders?: number;
  /** Upload limit of each honest seeder, bytes/s; 0 = none. @default 0 */
  readonly seederUploadBps?: number;
  /** Payload files, relative path → bytes. @default one 2 MiB file */
  readonly files?: Readonly<Record<string, number>>;
  /** @default 32 KiB */
  readonly pieceLength?: number;
  /** Give up after this long, ms (the run then reports `completed: false`). */
  readonly timeoutMs: number;
  /**
   * The victim is not told the honest seeders' addresses: it must find them (the tracker flood
   * lists them in its reply). @default false
   */
  readonly honestFromTrackerOnly?: boolean;
  /** Download through a magnet link (BEP 9 metadata first); the BEP 9 attacks always do. @default false */
  readonly magnet?: boolean;
  /** Extra options of the victim's session. */
  readonly victim?: Partial<SessionOptions>;
  /** Seed of the payload and the behaviour's choices. @default 1 */
  readonly seed?: number;
  /** Progress lines (libtorrent output on failure, …). */
  readonly log?: (line: string) => void;
}

/** Highest values seen while the download ran. */
export interface AttackPeaks {
  /** Connections attached to the victim's torrent. */
  attached: number;
  /** Attached connections from one hostile address. */
  attachedPerHostileAddress: number;
  /** Open connections of the victim's session (attached or handshaking). */
  connections: number;
  /** Dials in progress (the victim's session). */
  halfOpen: number;
  /** Addresses the victim's torrent knows, and those of them from PEX. */
  known: number;
  knownFromPex: number;
  /** Smart-ban evidence held. */
  smartBanPieces: number;
  smartBanBlocks: number;
}

export interface AttackRunResult {
  readonly attack: string | undefined;
  readonly seeder: 'shoal' | 'lt';
  readonly completed: boolean;
  /** Every file's sha256 equals the seeder's. */
  readonly bytesEqual: boolean;
  /** From adding the torrent (or magnet) to done, or to the timeout, ms. */
  readonly timeMs: number;
  /** Banned honest addresses (must be empty). */
  readonly honestBanned: readonly string[];
  /** Banned hostile addresses. */
  readonly hostileBanned: readonly string[];
  /** Every ban with its reason. */
  readonly bans: readonly { readonly address: string; readonly reason: string }[];
  readonly wastedBytes: number;
  readonly hashFailures: number;
  readonly peaks: AttackPeaks;
  /** At the end: the honest seeder was still a known address of the torrent, and connected. */
  readonly honestKnownAtEnd: boolean;
  readonly honestConnectedAtEnd: boolean;
  /** Smart-ban evidence left once done. */
  readonly smartBanAtEnd: { readonly pieces: number; readonly blocks: number };
  /** Connections the victim refused because their address had too many ('address-full'). */
  readonly refusedAddressFull: number;
  /** When the victim first attached an honest seeder, ms after the start (undefined: never). */
  readonly honestConnectedAtMs: number | undefined;
  /** Honest connections closed before the end, with their reasons ('redundant' once done excepted). */
  readonly honestDropped: readonly string[];
  /** The attacker's own counts. */
  readonly attackStats: AttackStats | undefined;
  /** The victim's peer log, for failure messages. */
  readonly peerLog: readonly PeerLogEntry[];
  /** Why the run did not complete, if it did not. */
  readonly error?: string;
}

/** Runs one download under attack; everything started is stopped and removed. */
export async function runAttack(config: AttackLabConfig): Promise<AttackRunResult> {
  const log = config.log ?? (() => {});
  const seederKind = config.seeder ?? 'shoal';
  const seed = config.seed ?? 1;
  const files = config.files ?? { 'payload.bin': 2 * 1024 * 1024 };
  const pieceLength = config.pieceLength ?? 32 * 1024;
  const root = await mkdtemp(join(tmpdir(), 'shoal-attack-lab-'));
  const hashPool = new HashPool({ threads: 1, tasksPerThread: VERIFY_TASKS_PER_THREAD });
  const sessions: Session[] = [];
  let lt: LibtorrentPeer | undefined;
  let attack: Attack | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    // ------------------------------------------------------------ payload and torrent
    const seedDir = join(root, 'seed');
    const content = join(seedDir, 'payload');
    const rels = Object.keys(files);
    let s = seed;
    for (const rel of rels) {
      const p = join(content, rel);
      await mkdir(join(p, '..'), { recursive: true });
      await writeFile(p, pseudoRandomBytes(files[rel]!, s++));
    }
    const created = await createTorrent(rels.length === 1 ? join(content, rels[0]!) : content, {
      version: 'v1',
      pieceLength,
      creationDate: null,
      hashPool,
    });
    const metainfo = parseTorrent(created.bytes);
    // The folder the torrent's name is in (a single file sits in `content` itself).
    const dataDir = rels.length === 1 ? content : seedDir;
    const torrentPath = join(root, 'payload.torrent');
    await writeFile(torrentPath, created.bytes);
    // The payload in torrent order (v1 without padding files: the files back to back).
    const payload = Buffer.concat(
      await Promise.all(
        metainfo.files.map((f) =>
          readFile(rels.length === 1 ? join(content, rels[0]!) : join(content, ...f.path)),
        ),
      ),
    );
    const want = createHash('sha256').update(payload).digest('hex');

    // ------------------------------------------------------------ honest seeders
    const honestPorts: number[] = [];
    const upload = config.seederUploadBps ?? 0;
    if (seederKind === 'shoal') {
      for (let i = 0; i < (config.honestSeeders ?? 1); i++) {
        const seeder = await Session.create({
          host: HONEST_HOST,
          downloadDir: dataDir,
          uploadRateLimit: upload,
          hashPool,
          trackers: false,
        });
        sessions.push(seeder);
        const t = await seeder.addTorrent(created.bytes);
        if (!t.isFinished) throw new Error('the honest seeder did not verify its data');
        honestPorts.push(seeder.port);
      }
    } else {
      const port = await freePort();
      lt = new LibtorrentPeer('lt-seeder', port, [
        '--torrent',
        torrentPath,
        '--save',
        dataDir,
        '--port',
        String(port),
        '--seed',
        ...(upload > 0 ? ['--upload-limit', String(upload)] : []),
        '--status-ms',
        '60000',
      ]);
      await lt.waitFor('ready', 60_000);
      honestPorts.push(port);
    }

    // ------------------------------------------------------------ the attacker
    const infoHash = metainfo.infoHashV1!;
    if (config.attack !== undefined) {
      const make = ATTACKS[config.attack];
      if (make === undefined) throw new Error(`unknown attack ${config.attack}`);
      attack = await make({
        infoHash,
        pieceCount: metainfo.pieceCount,
        pieceLength,
        totalBytes: metainfo.totalLength,
        payload,
        info: metainfo.infoBytes,
        honest: { host: HONEST_HOST, port: honestPorts[0]! },
        seed,
      });
    }
    const hostile = new Set(attack?.addresses ?? []);
    const honest = honestPorts.map((port) => ({ host: HONEST_HOST, port }));
    const honestEnds = new Set(honest.map((h) => `${h.host}:${h.port}`));

    // ------------------------------------------------------------ the victim
    const victimDir = join(root, 'victim');
    await mkdir(victimDir, { recursive: true });
    const victim = await Session.create({
      host: HONEST_HOST,
      downloadDir: victimDir,
      hashPool,
      ...config.victim,
    });
    sessions.push(victim);
    const peaks: AttackPeaks = {
      attached: 0,
      attachedPerHostileAddress: 0,
      connections: 0,
      halfOpen: 0,
      known: 0,
      knownFromPex: 0,
      smartBanPieces: 0,
      smartBanBlocks: 0,
    };
    let torrent: Torrent | undefined;
    let refusedAddressFull = 0;
    let honestConnectedAtMs: number | undefined;
    const honestDropped: string[] = [];
    let t0 = 0;
    const sample = () => {
      peaks.connections = Math.max(peaks.connections, victim.connectionCount);
      peaks.halfOpen = Math.max(peaks.halfOpen, victim.pool.halfOpen);
      if (torrent === undefined) return;
      const peers = torrent.peers();
      peaks.attached = Math.max(peaks.attached, peers.length);
      const perHost = new Map<string, number>();
      for (const p of peers) {
        const host = p.address.slice(0, p.address.lastIndexOf(':'));
        if (hostile.has(host)) perHost.set(host, (perHost.get(host) ?? 0) + 1);
      }
      peaks.attachedPerHostileAddress = Math.max(peaks.attachedPerHostileAddress, ...perHost.values(), 0);
      const known = torrent.knownPeers();
      peaks.known = Math.max(peaks.known, known.length);
      peaks.knownFromPex = Math.max(peaks.knownFromPex, known.filter((k) => k.source === 'pex').length);
      const sb = torrent.smartBanStats();
      peaks.smartBanPieces = Math.max(peaks.smartBanPieces, sb.pieces);
      peaks.smartBanBlocks = Math.max(peaks.smartBanBlocks, sb.blocks);
    };
    const watch = (t: Torrent) => {
      torrent = t;
      t.on('peer', (e) => {
        if (e.type === 'refused' && e.reason === 'address-full') refusedAddressFull++;
        if (honestEnds.has(e.address)) {
          if (e.type === 'connected') honestConnectedAtMs ??= performance.now() - t0;
          if (e.type === 'disconnected' && e.reason !== 'redundant') honestDropped.push(e.reason ?? '');
        }
        sample();
      });
      t.on('hash-failed', sample);
      t.on('piece', sample);
    };
    sampler = setInterval(sample, 50);

    const endpoints = [
      ...(attack?.endpoints ?? []),
      ...(config.honestFromTrackerOnly === true ? [] : honest),
    ];
    t0 = performance.now();
    let error: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not done after ${config.timeoutMs} ms`)), config.timeoutMs);
    });
    const download = (async () => {
      if (config.magnet === true || (config.attack !== undefined && MAGNET_ATTACKS.has(config.attack))) {
        const peers = endpoints.map((e) => `&x.pe=${e.host}:${e.port}`).join('');
        const magnet = `magnet:?xt=urn:btih:${Buffer.from(infoHash).toString('hex')}${peers}`;
        const adding = victim.addMagnet(magnet);
        attack?.start({ host: HONEST_HOST, port: victim.port });
        const t = await adding;
        watch(t);
        await t.whenDone();
        return t;
      }
      const trackers = attack?.trackers ?? [];
      const t = await victim.addTorrent(
        trackers.length > 0 ? { ...metainfo, trackers: [trackers] } : created.bytes,
      );
      watch(t);
      for (const e of endpoints) t.addPeer(e.host, e.port);
      attack?.start({ host: HONEST_HOST, port: victim.port });
      await t.whenDone();
      return t;
    })();
    download.catch(() => {});
    try {
      await Promise.race([download, timeout]);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    } finally {
      clearTimeout(timer);
    }
    const timeMs = performance.now() - t0;
    sample();
    clearInterval(sampler);
    sampler = undefined;

    const completed = error === undefined;
    let bytesEqual = false;
    if (completed) {
      const got = createHash('sha256');
      for (const f of metainfo.files) {
        const path =
          rels.length === 1 ? join(victimDir, metainfo.name) : join(victimDir, metainfo.name, ...f.path);
        got.update(await readFile(path));
      }
      bytesEqual = got.digest('hex') === want;
    }
    const bans = victim.pool.bans().map((b) => ({ address: b.address, reason: b.reason }));
    const stats = torrent?.stats();
    const known = torrent?.knownPeers() ?? [];
    const peers = torrent?.peers() ?? [];
    const result: AttackRunResult = {
      attack: config.attack,
      seeder: seederKind,
      completed,
      bytesEqual,
      timeMs,
      honestBanned: bans.filter((b) => b.address === HONEST_HOST).map((b) => b.address),
      hostileBanned: bans.filter((b) => hostile.has(b.address)).map((b) => b.address),
      bans,
      wastedBytes: stats?.wastedBytes ?? 0,
      hashFailures: stats?.hashFailures ?? 0,
      peaks,
      honestKnownAtEnd: known.some((k) => honestEnds.has(`${k.host}:${k.port}`)),
      honestConnectedAtEnd: peers.some((p) => honestEnds.has(p.address)),
      smartBanAtEnd: torrent?.smartBanStats() ?? { pieces: 0, blocks: 0 },
      refusedAddressFull,
      honestConnectedAtMs,
      honestDropped,
      attackStats: attack?.stats,
      peerLog: torrent?.peerLog() ?? [],
      ...(error !== undefined ? { error } : {}),
    };
    if (!completed) log(`run failed: ${error}; lt output: ${lt?.output().slice(-2000) ?? ''}`);
    return result;
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
    await attack?.close();
    await Promise.all(sessions.map((x) => x.close().catch(() => {})));
    if (lt !== undefined) {
      lt.send('quit');
      await lt.stop();
    }
    await hashPool.destroy();
    await rm(root, { recursive: true, force: true });
  }
}

/** A short account of a run, for assertion messages. */
export function describeRun(r: AttackRunResult): string {
  const log = r.peerLog
    .slice(-40)
    .map((e) => `  ${e.type} ${e.address}${e.reason ? ` (${e.reason})` : ''}`)
    .join('\n');
  return [
    `${r.attack ?? 'baseline'} vs ${r.seeder}: completed ${r.completed}${r.error ? ` (${r.error})` : ''}, bytes equal ${r.bytesEqual}, ${r.timeMs.toFixed(0)} ms`,
    `bans: ${JSON.stringify(r.bans)}`,
    `wasted ${r.wastedBytes} B, hash failures ${r.hashFailures}, peaks ${JSON.stringify(r.peaks)}`,
    `attacker: ${JSON.stringify(r.attackStats)}`,
    `peer log (last 40):\n${log}`,
  ].join('\n');
}
