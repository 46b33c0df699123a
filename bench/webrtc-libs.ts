/**
 * `npm run bench:webrtc-libs [-- --size MiB --runs N --libs a,b]` — the three WebRTC libraries
 * for Node side by side, on one data channel over loopback (issue 25: which library, and why).
 *
 * The libraries come from bench/webrtc-libs/ (its own package.json and lock, `npm install` there;
 * not a dependency of Shoal): node-datachannel (libdatachannel, C++, the one Shoal uses, same
 * version as Shoal's), @roamhq/wrtc (Google's libwebrtc, C++) and werift (pure TypeScript).
 *
 * Each measurement is one child process (this file with `--child <lib>`) holding two peers: one
 * reliable ordered data channel, no STUN/TURN, the offer and answer handed over whole once ICE
 * gathering is complete (no trickle: Shoal's WebSocket tracker carries one offer and one answer).
 * The child sends --size MiB (default 128) in 16 KiB messages with back-pressure: it stops
 * sending while the channel's bufferedAmount is above {@link HIGH_WATER} and resumes on the
 * buffered-amount-low event (threshold {@link LOW_WATER}); no unbounded queue. Each message is a
 * fresh buffer (a slice of a 1 MiB random pool with its sequence number in the first 8 bytes),
 * so a lost, repeated or reordered message changes the receiver's sha256. The receiver checks
 * the byte count and the sha256 against the sender's.
 *
 * Only loopback is used:
 *   - node-datachannel: `bindAddress: '127.0.0.1'`, as src/net/webrtc-transport.ts does;
 *   - werift: `iceUseIpv4/iceUseIpv6: false` (no interface addresses gathered),
 *     `iceAdditionalHostAddresses: ['127.0.0.1']`, sockets bound with `iceInterfaceAddresses`,
 *     and `iceFilterCandidatePair` refusing any pair not 127.0.0.1 at both ends;
 *   - @roamhq/wrtc has no option to choose interfaces (libwebrtc gathers on every one), so its
 *     child runs inside `unshare -rn` with only `lo` up, as scripts/run-tests.mjs does for the
 *     browser tests; the child checks that lo is its only interface.
 * Every child checks the candidates in both descriptions and fails on any address that is not
 * loopback.
 *
 * Per library: setup (new peer connection → channel open at both ends, gathering included), MB/s
 * (10^6 bytes; first send → last byte received and hashed), CPU seconds of the transfer (user +
 * system of the whole process, libraries' threads included: both peers are in it) and peak RSS
 * (ru_maxrss, the whole child). Runs go round robin (run, then library); the table gives medians.
 * A library that fails is reported with its error.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopOnInterrupt, throwIfInterrupted } from './interrupt.js';

const LIBS = ['node-datachannel', 'wrtc', 'werift'] as const;
type LibName = (typeof LIBS)[number];

/** Message size: 16 KiB, the size WebTorrent and most browsers use on data channels. */
const MESSAGE_BYTES = 16 * 1024;
/** Stop sending above this many buffered bytes (Shoal's WEBRTC_WRITE_HIGH_WATER_BYTES is 256 KiB). */
const HIGH_WATER = 1024 * 1024;
/** Resume when the buffer falls under this. */
const LOW_WATER = 256 * 1024;
/** A child that has not finished by then is killed and reported. */
const CHILD_TIMEOUT_MS = 240_000;
const POOL = randomBytes(1024 * 1024);

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '128' },
    runs: { type: 'string', default: '3' },
    libs: { type: 'string', default: LIBS.join(',') },
    child: { type: 'string' },
  },
});
const MIB = Number(values.size);
const TOTAL = MIB * 1024 * 1024;
const here = import.meta.dirname;
const requireLib = createRequire(join(here, 'webrtc-libs', 'package.json'));

/** One end of the data channel, whatever the library. */
interface Chan {
  send(bytes: Buffer): void;
  buffered(): number;
  /** Sets the low-water threshold and calls `cb` each time the buffer falls under it. */
  onLow(threshold: number, cb: () => void): void;
  onMessage(cb: (bytes: Uint8Array) => void): void;
}

interface Pair {
  readonly sender: Chan;
  readonly receiver: Chan;
  /** Both descriptions' candidate lines. */
  readonly candidates: string[];
  close(): void;
}

/** Resolves once `n` calls of the returned function were made. */
function countdown(n: number): { tick: () => void; done: Promise<void> } {
  let tick = () => {};
  const done = new Promise<void>((resolve) => {
    tick = () => {
      if (--n === 0) resolve();
    };
  });
  return { tick, done };
}

/** Progress on stderr with WEBRTC_LIBS_DEBUG=1 (the parent shows a failed child's last lines). */
const stage = (what: string) => {
  if (process.env.WEBRTC_LIBS_DEBUG === '1') console.error(`${performance.now().toFixed(0)} ms ${what}`);
};

const candidateLines = (sdp: string) => sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate'));

// ---- node-datachannel: its own API, as Shoal uses it ------------------------------------------

interface NdcChannel {
  sendMessageBinary(b: Buffer): boolean;
  bufferedAmount(): number;
  setBufferedAmountLowThreshold(n: number): void;
  onBufferedAmountLow(cb: () => void): void;
  onMessage(cb: (m: string | Buffer | ArrayBuffer) => void): void;
  onOpen(cb: () => void): void;
  isOpen(): boolean;
}
interface NdcPeer {
  createDataChannel(label: string): NdcChannel;
  onDataChannel(cb: (dc: NdcChannel) => void): void;
  onGatheringStateChange(cb: (s: string) => void): void;
  gatheringState(): string;
  localDescription(): { sdp: string; type: string } | null;
  setRemoteDescription(sdp: string, type: string): void;
  close(): void;
}
interface Ndc {
  PeerConnection: new (name: string, config: { iceServers: string[]; bindAddress?: string }) => NdcPeer;
  cleanup(): void;
}

function ndcChan(dc: NdcChannel): Chan {
  return {
    send: (b) => void dc.sendMessageBinary(b),
    buffered: () => dc.bufferedAmount(),
    onLow: (t, cb) => {
      dc.setBufferedAmountLowThreshold(t);
      dc.onBufferedAmountLow(cb);
    },
    onMessage: (cb) =>
      dc.onMessage((m) => {
        if (typeof m === 'string') throw new Error('text message');
        cb(m instanceof ArrayBuffer ? new Uint8Array(m) : m);
      }),
  };
}

async function ndcPair(lib: Ndc): Promise<Pair> {
  const config = { iceServers: [], bindAddress: '127.0.0.1' };
  const a = new lib.PeerConnection('a', config);
  const b = new lib.PeerConnection('b', config);
  const gathered = (pc: NdcPeer) =>
    new Promise<{ sdp: string; type: string }>((resolve) => {
      const done = () => {
        const d = pc.localDescription();
        if (d !== null && d.sdp !== '') resolve(d);
      };
      pc.onGatheringStateChange((s) => s === 'complete' && done());
      if (pc.gatheringState() === 'complete') done();
    });
  const open = countdown(2);
  let receiver: NdcChannel | undefined;
  b.onDataChannel((dc) => {
    receiver = dc;
    if (dc.isOpen()) open.tick();
    else dc.onOpen(open.tick);
  });
  const sender = a.createDataChannel('bench');
  sender.onOpen(open.tick);
  const offer = await gathered(a);
  stage('offer gathered');
  b.setRemoteDescription(offer.sdp, offer.type);
  const answer = await gathered(b);
  stage('answer gathered');
  a.setRemoteDescription(answer.sdp, answer.type);
  await open.done;
  stage('channel open at both ends');
  return {
    sender: ndcChan(sender),
    receiver: ndcChan(receiver as NdcChannel),
    candidates: [...candidateLines(offer.sdp), ...candidateLines(answer.sdp)],
    close: () => {
      a.close();
      b.close();
      lib.cleanup();
    },
  };
}

// ---- W3C RTCPeerConnection (@roamhq/wrtc) ----------------------------------------------------

interface W3cChannel {
  binaryType: string;
  bufferedAmount: number;
  /** Missing in @roamhq/wrtc 0.10.0. */
  bufferedAmountLowThreshold?: number;
  readyState: string;
  onopen: (() => void) | null;
  onmessage: ((ev: { data: ArrayBuffer | string }) => void) | null;
  onbufferedamountlow?: (() => void) | null;
  send(b: Uint8Array): void;
}
interface W3cDescription {
  sdp: string;
  type: string;
}
interface W3cPeer {
  createDataChannel(label: string, init: { ordered: boolean }): W3cChannel;
  createOffer(): Promise<W3cDescription>;
  createAnswer(): Promise<W3cDescription>;
  setLocalDescription(d: W3cDescription): Promise<void>;
  setRemoteDescription(d: W3cDescription): Promise<void>;
  localDescription: W3cDescription | null;
  iceGatheringState: string;
  onicegatheringstatechange: (() => void) | null;
  ondatachannel: ((ev: { channel: W3cChannel }) => void) | null;
  close(): void;
}
type W3cCtor = new (config: { iceServers: never[] }) => W3cPeer;

/** Polling timers of channels without a buffered-amount-low event, cleared on close. */
const polls: NodeJS.Timeout[] = [];

function w3cChan(dc: W3cChannel): Chan {
  dc.binaryType = 'arraybuffer';
  return {
    send: (b) => dc.send(b),
    buffered: () => dc.bufferedAmount,
    onLow: (t, cb) => {
      if (dc.bufferedAmountLowThreshold !== undefined) {
        dc.bufferedAmountLowThreshold = t;
        dc.onbufferedamountlow = cb;
      } else {
        // @roamhq/wrtc 0.10.0 has neither bufferedAmountLowThreshold nor the bufferedamountlow
        // event: bufferedAmount is polled every millisecond instead (cb does nothing when the
        // sender is not waiting).
        const poll = setInterval(() => dc.bufferedAmount <= t && cb(), 1);
        polls.push(poll);
      }
    },
    onMessage: (cb) => {
      dc.onmessage = (ev) => {
        if (typeof ev.data === 'string') throw new Error('text message');
        cb(new Uint8Array(ev.data));
      };
    },
  };
}

async function w3cPair(Ctor: W3cCtor): Promise<Pair> {
  const a = new Ctor({ iceServers: [] });
  const b = new Ctor({ iceServers: [] });
  const gathered = async (pc: W3cPeer, d: W3cDescription) => {
    const complete = new Promise<void>((resolve) => {
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    });
    await pc.setLocalDescription(d);
    if (pc.iceGatheringState !== 'complete') await complete;
    return pc.localDescription as W3cDescription;
  };
  const open = countdown(2);
  let receiver: W3cChannel | undefined;
  b.ondatachannel = (ev) => {
    receiver = ev.channel;
    if (ev.channel.readyState === 'open') open.tick();
    else ev.channel.onopen = open.tick;
  };
  const sender = a.createDataChannel('bench', { ordered: true });
  sender.onopen = open.tick;
  const offer = await gathered(a, await a.createOffer());
  stage('offer gathered');
  await b.setRemoteDescription(offer);
  const answer = await gathered(b, await b.createAnswer());
  stage('answer gathered');
  await a.setRemoteDescription(answer);
  await open.done;
  stage('channel open at both ends');
  return {
    sender: w3cChan(sender),
    receiver: w3cChan(receiver as W3cChannel),
    candidates: [...candidateLines(offer.sdp), ...candidateLines(answer.sdp)],
    close: () => {
      for (const p of polls) clearInterval(p);
      a.close();
      b.close();
    },
  };
}

// ---- werift: its own events (rx-style `subscribe`) -------------------------------------------

interface WeriftEvent<T extends unknown[]> {
  subscribe(cb: (...args: T) => void): void;
}
interface WeriftChannel {
  bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  readyState: string;
  readonly stateChanged: WeriftEvent<[string]>;
  readonly onMessage: WeriftEvent<[string | Buffer]>;
  readonly bufferedAmountLow: WeriftEvent<unknown[]>;
  send(b: Buffer): void;
}
interface WeriftPeer {
  createDataChannel(label: string, init: { ordered: boolean }): WeriftChannel;
  createOffer(): Promise<W3cDescription>;
  createAnswer(): Promise<W3cDescription>;
  setLocalDescription(d: W3cDescription): Promise<unknown>;
  setRemoteDescription(d: W3cDescription): Promise<void>;
  readonly localDescription: W3cDescription | null;
  readonly iceGatheringState: string;
  readonly iceGatheringStateChange: WeriftEvent<[string]>;
  readonly onDataChannel: WeriftEvent<[WeriftChannel]>;
  close(): Promise<void>;
}
interface WeriftPair {
  localCandidate: { host: string };
  remoteCandidate: { host: string };
}

function weriftChan(dc: WeriftChannel): Chan {
  return {
    send: (b) => dc.send(b),
    buffered: () => dc.bufferedAmount,
    onLow: (t, cb) => {
      dc.bufferedAmountLowThreshold = t;
      dc.bufferedAmountLow.subscribe(cb);
    },
    onMessage: (cb) =>
      dc.onMessage.subscribe((m) => {
        if (typeof m === 'string') throw new Error('text message');
        cb(m);
      }),
  };
}

async function weriftPair(RTCPeerConnection: new (config: object) => WeriftPeer): Promise<Pair> {
  const config = {
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
    iceFilterCandidatePair: (p: WeriftPair) =>
      p.localCandidate.host === '127.0.0.1' && p.remoteCandidate.host === '127.0.0.1',
  };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  const gathered = async (pc: WeriftPeer, d: W3cDescription) => {
    const complete = new Promise<void>((resolve) =>
      pc.iceGatheringStateChange.subscribe((s) => s === 'complete' && resolve()),
    );
    await pc.setLocalDescription(d);
    if (pc.iceGatheringState !== 'complete') await complete;
    return pc.localDescription as W3cDescription;
  };
  const open = countdown(2);
  let receiver: WeriftChannel | undefined;
  const whenOpen = (dc: WeriftChannel) => {
    if (dc.readyState === 'open') open.tick();
    else dc.stateChanged.subscribe((s) => s === 'open' && open.tick());
  };
  b.onDataChannel.subscribe((dc) => {
    receiver = dc;
    whenOpen(dc);
  });
  const sender = a.createDataChannel('bench', { ordered: true });
  whenOpen(sender);
  const offer = await gathered(a, await a.createOffer());
  stage('offer gathered');
  await b.setRemoteDescription(offer);
  const answer = await gathered(b, await b.createAnswer());
  stage('answer gathered');
  await a.setRemoteDescription(answer);
  await open.done;
  stage('channel open at both ends');
  return {
    sender: weriftChan(sender),
    receiver: weriftChan(receiver as WeriftChannel),
    candidates: [...candidateLines(offer.sdp), ...candidateLines(answer.sdp)],
    close: () => {
      void a.close();
      void b.close();
    },
  };
}

// ---- the child: one library, one transfer ----------------------------------------------------

interface Result {
  readonly lib: LibName;
  readonly setupMs: number;
  readonly mbps: number;
  readonly cpuSeconds: number;
  readonly rssMiB: number;
  readonly candidates: string[];
}

function message(seq: number): Buffer {
  const m = Buffer.allocUnsafe(MESSAGE_BYTES);
  const from = (seq * 4099) % (POOL.length - MESSAGE_BYTES);
  POOL.copy(m, 0, from, from + MESSAGE_BYTES);
  m.writeBigUInt64BE(BigInt(seq), 0);
  return m;
}

async function child(lib: LibName): Promise<Result> {
  if (lib === 'wrtc') {
    const names = Object.keys(networkInterfaces());
    if (names.join() !== 'lo') throw new Error(`wrtc must run with lo only; interfaces: ${names.join(' ')}`);
  }
  // Loading the module (a native library for two of them) is not part of the setup time.
  const open =
    lib === 'node-datachannel'
      ? ndcPair.bind(null, requireLib('node-datachannel') as Ndc)
      : lib === 'werift'
        ? weriftPair.bind(
            null,
            (requireLib('werift') as { RTCPeerConnection: new (config: object) => WeriftPeer })
              .RTCPeerConnection,
          )
        : w3cPair.bind(
            null,
            (requireLib('@roamhq/wrtc') as { RTCPeerConnection: W3cCtor }).RTCPeerConnection,
          );
  stage('library loaded');
  const t0 = performance.now();
  const pair = await open();
  const setupMs = performance.now() - t0;
  for (const c of pair.candidates) {
    const address = c.split(' ')[4];
    if (address !== '127.0.0.1' && address !== '::1') throw new Error(`non-loopback candidate: ${c}`);
  }
  const sentHash = createHash('sha256');
  const gotHash = createHash('sha256');
  let got = 0;
  const arrived = new Promise<void>((resolve, reject) => {
    pair.receiver.onMessage((m) => {
      gotHash.update(m);
      got += m.length;
      if (got === TOTAL) resolve();
      else if (got > TOTAL) reject(new Error(`received ${got} bytes of ${TOTAL}`));
    });
  });
  const cpu0 = process.cpuUsage();
  const t1 = performance.now();
  let seq = 0;
  const pump = () => {
    while (seq * MESSAGE_BYTES < TOTAL && pair.sender.buffered() <= HIGH_WATER) {
      const m = message(seq++);
      sentHash.update(m);
      pair.sender.send(m);
    }
  };
  const progress = setInterval(
    () => stage(`sent ${seq * MESSAGE_BYTES} buffered ${pair.sender.buffered()} received ${got}`),
    1000,
  );
  progress.unref();
  pair.sender.onLow(LOW_WATER, pump);
  pump();
  await arrived;
  stage('all bytes arrived');
  const seconds = (performance.now() - t1) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const sent = sentHash.digest('hex');
  const received = gotHash.digest('hex');
  if (sent !== received) throw new Error(`sha256 differs: sent ${sent}, received ${received}`);
  pair.close();
  return {
    lib,
    setupMs,
    mbps: TOTAL / 1e6 / seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssMiB: process.resourceUsage().maxRSS / 1024,
    candidates: pair.candidates,
  };
}

// ---- the parent: round robin over fresh children ----------------------------------------------

function runChild(lib: LibName): Promise<Result> {
  const args = ['--import', 'tsx', join(here, 'webrtc-libs.ts'), '--child', lib, '--size', String(MIB)];
  const proc = stopOnInterrupt(
    lib === 'wrtc'
      ? spawn(
          'unshare',
          ['-rn', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...args],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        )
      : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`no result in ${CHILD_TIMEOUT_MS / 1000} s`));
    }, CHILD_TIMEOUT_MS);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      const r = line === undefined ? undefined : (JSON.parse(line) as Result | { error: string });
      if (r !== undefined && 'lib' in r) resolve(r);
      else {
        const why = r?.error ?? (err.trim().split('\n').slice(-3).join(' | ') || `exit ${code}`);
        reject(new Error(why));
      }
    });
  });
}

if (values.child !== undefined) {
  const lib = values.child as LibName;
  const timer = setTimeout(() => {
    console.log(JSON.stringify({ error: `transfer not done in ${CHILD_TIMEOUT_MS / 1000 - 10} s` }));
    process.exit(1);
  }, CHILD_TIMEOUT_MS - 10_000);
  try {
    console.log(JSON.stringify(await child(lib)));
    process.exit(0);
  } catch (e) {
    clearTimeout(timer);
    console.log(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
    process.exit(1);
  }
} else {
  if (!existsSync(join(here, 'webrtc-libs', 'node_modules'))) {
    console.error('bench/webrtc-libs has no node_modules: run `npm ci` (or `npm install`) there first');
    process.exit(1);
  }
  const libs = (values.libs as string).split(',') as LibName[];
  for (const l of libs)
    if (!LIBS.includes(l)) throw new Error(`unknown library ${l}; known: ${LIBS.join(',')}`);
  const runs = Number(values.runs);
  const results = new Map<LibName, Result[]>(libs.map((l) => [l, []]));
  const errors = new Map<LibName, string[]>(libs.map((l) => [l, []]));
  console.log(
    `${MIB} MiB in ${MESSAGE_BYTES / 1024} KiB messages, ${runs} run(s), round robin: ${libs.join(', ')}`,
  );
  for (let run = 1; run <= runs; run++) {
    for (const lib of libs) {
      throwIfInterrupted(); // outside the try: an interrupted run starts no other child
      try {
        const r = await runChild(lib);
        results.get(lib)?.push(r);
        console.log(
          `run ${run} ${lib}: setup ${r.setupMs.toFixed(0)} ms, ${r.mbps.toFixed(1)} MB/s, CPU ${r.cpuSeconds.toFixed(1)} s, peak RSS ${r.rssMiB.toFixed(0)} MiB; candidates ${r.candidates.map((c) => c.split(' ').slice(4, 6).join(':')).join(' ')}`,
        );
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        errors.get(lib)?.push(why);
        console.log(`run ${run} ${lib}: FAILED: ${why}`);
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log(
    `\n| ${MIB} MiB, one data channel, loopback | setup ms | MB/s | CPU s | peak RSS MiB | runs ok |\n|---|---|---|---|---|---|`,
  );
  for (const lib of libs) {
    const rs = results.get(lib) ?? [];
    const errs = errors.get(lib) ?? [];
    if (rs.length === 0) {
      console.log(`| ${lib} | failed: ${errs[0] ?? '?'} | | | | 0/${runs} |`);
      continue;
    }
    const f = (pick: (r: Result) => number, digits: number) => median(rs.map(pick)).toFixed(digits);
    console.log(
      `| ${lib} | ${f((r) => r.setupMs, 0)} | ${f((r) => r.mbps, 1)} | ${f((r) => r.cpuSeconds, 1)} | ${f((r) => r.rssMiB, 0)} | ${rs.length}/${runs} |`,
    );
  }
  for (const [lib, errs] of errors) for (const e of errs) console.log(`${lib} failed: ${e}`);
}
