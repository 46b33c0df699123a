/**
 * Hostile peers (issue 3, "How it must be shown"): a Shoal node under attack from a scripted peer
 * — a raw TCP endpoint speaking the wire protocol through Shoal's own encoders — stays up, drops
 * or bans the attacker with a logged reason, never serves a peer it chokes, never takes
 * unrequested or corrupt data as verified, and still serves (or completes) a normal download
 * afterwards with files whose sha256 match.
 *
 * One seeding node (`seeder`) is the target of most attacks; the corrupt-block attack targets a
 * leeching node. Every wait is bounded; every session, socket and temp dir is closed in `after`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ALLOWED_FAST_SET_SIZE, allowedFastSet } from '../../src/engine/index.js';
import { Session, type Torrent, type TorrentEvents } from '../../src/session/index.js';
import {
  HANDSHAKE_TIMEOUT_MS,
  MAX_BLOCK_BYTES,
  MAX_REQUESTS_WHILE_CHOKED,
  MAX_UNREQUESTED_BLOCKS,
  MAX_WIRE_MESSAGE_BYTES,
} from '../../src/shared/limits.js';
import { createTorrent } from '../../src/storage/index.js';
import { encodeHandshake, encodeMessage, MessageId, makeReserved } from '../../src/wire/index.js';
import { treeDigests, writeTree } from '../helpers/payload.js';
import { type ScriptedPeer, ScriptedServer, ScriptedPeer as SP, within } from '../helpers/scripted-peer.js';

// 31 pieces of 32 KiB (the last one short): 31 is not a multiple of 8, so the bitfield has a spare bit.
const PIECE_BYTES = 32 * 1024;
const FILES = { 'a.bin': 700_000, 'sub/b.bin': 300_001, 'empty.txt': 0 };
const TOTAL = 1_000_001;
const PIECES = Math.ceil(TOTAL / PIECE_BYTES);
const BITFIELD_BYTES = Math.ceil(PIECES / 8);
const LOCAL = '127.0.0.1';
const STEP_MS = 5_000;
const DOWNLOAD_MS = 30_000;

type PeerEvent = TorrentEvents['peer'];

describe('hostile peers', { timeout: 120_000 }, () => {
  let dir = '';
  let rels: string[] = [];
  let want: string[] = [];
  let torrentBytes: Uint8Array = new Uint8Array();
  let infoHash: Uint8Array = new Uint8Array();
  let seeder: Session;
  let seeded: Torrent;
  const peerEvents: PeerEvent[] = [];
  const warnings: string[] = [];
  const sessions: Session[] = [];
  const scripted: ScriptedPeer[] = [];
  const servers: ScriptedServer[] = [];
  let leechSeq = 0;
  /** peerEvents.length when each scripted peer dialled: only later events can be about it. */
  const eventsAtDial = new Map<ScriptedPeer, number>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-hostile-'));
    rels = await writeTree(join(dir, 'seed', 'payload'), FILES, 11);
    want = await treeDigests(join(dir, 'seed', 'payload'), rels);
    const t = await createTorrent(join(dir, 'seed', 'payload'), { version: 'v1', pieceLength: PIECE_BYTES });
    torrentBytes = t.bytes;
    seeder = await Session.create({ host: LOCAL, downloadDir: join(dir, 'seed'), hashThreads: 1 });
    sessions.push(seeder);
    seeded = await seeder.addTorrent(torrentBytes);
    assert.equal(seeded.state, 'seeding');
    assert.equal(seeded.stats().pieceCount, PIECES);
    infoHash = seeded.wireInfoHash;
    seeded.on('peer', (e) => peerEvents.push(e));
    seeded.on('warning', (e) => warnings.push(e.message));
  });

  after(async () => {
    for (const p of scripted) p.close();
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(sessions.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  /** A scripted peer dialling the seeder, tracked for cleanup. */
  async function dialSeeder(
    init: { reserved?: Uint8Array; infoHash?: Uint8Array } = {},
  ): Promise<ScriptedPeer> {
    const events = peerEvents.length;
    const p = await SP.dial(LOCAL, seeder.port, {
      infoHash: init.infoHash ?? infoHash,
      pieceCount: PIECES,
      ...(init.reserved !== undefined ? { reserved: init.reserved } : {}),
    });
    scripted.push(p);
    eventsAtDial.set(p, events);
    return p;
  }

  /** Dials the seeder, handshakes and waits for the seeder's handshake. */
  async function attached(reserved?: Uint8Array): Promise<ScriptedPeer> {
    const p = await dialSeeder(reserved === undefined ? {} : { reserved });
    p.sendHandshake();
    const h = await p.handshake(STEP_MS);
    assert.deepEqual(Buffer.from(h.infoHash), Buffer.from(infoHash));
    return p;
  }

  /**
   * The seeder's `peer disconnected` event for the scripted peer `p` (its logged reason). Only
   * events after `p` dialled count: an earlier connection may have used the same local port.
   */
  async function dropReason(p: ScriptedPeer): Promise<string> {
    const address = `${LOCAL}:${p.localPort}`;
    const from = eventsAtDial.get(p) ?? 0;
    const deadline = performance.now() + STEP_MS;
    for (;;) {
      const e = peerEvents.slice(from).find((x) => x.type === 'disconnected' && x.address === address);
      if (e !== undefined) return e.reason ?? '';
      if (performance.now() > deadline) throw new Error(`no disconnect event for ${address}`);
      await within(seeded.next('peer'), STEP_MS, `disconnect event for ${address}`);
    }
  }

  /** A fresh Shoal leecher downloads the whole torrent from the seeder; files must match. */
  async function assertServesLeecher(): Promise<void> {
    const into = join(dir, `leech${++leechSeq}`);
    const s = await Session.create({ host: LOCAL, downloadDir: into, hashThreads: 1 });
    sessions.push(s);
    try {
      const t = await s.addTorrent(torrentBytes);
      const done = t.next('done');
      t.addPeer(LOCAL, seeder.port);
      await within(done, DOWNLOAD_MS, 'a normal leecher completes');
      assert.deepEqual(await treeDigests(join(into, 'payload'), rels), want);
    } finally {
      await s.close();
    }
    // The attacks never touched the seeder's own files.
    assert.deepEqual(await treeDigests(join(dir, 'seed', 'payload'), rels), want);
  }

  test('corrupt blocks: the leecher bans the corrupt peer, keeps the honest one, and completes', async () => {
    // The leecher listens on both stacks; the corrupt peer lives on ::1 and the honest seeder on
    // 127.0.0.1, so banning the corrupt address cannot touch the honest one.
    const leecher = await Session.create({ host: '::', downloadDir: join(dir, 'victim'), hashThreads: 1 });
    sessions.push(leecher);
    const lt = await leecher.addTorrent(torrentBytes);
    const failed: number[] = [];
    const leechWarnings: string[] = [];
    const connected: string[] = [];
    lt.on('hash-failed', (e) => failed.push(e.index));
    lt.on('warning', (e) => leechWarnings.push(e.message));
    lt.on('peer', (e) => {
      if (e.type === 'connected') connected.push(e.address);
    });

    // The corrupt peer claims every piece and answers each request with wrong bytes of the right
    // length — but only once `release` is set, so that it serves while the honest seeder does.
    let release = false;
    const held: Array<() => void> = [];
    let corruptBlocks = 0;
    const corrupt = await ScriptedServer.listen('::1', { infoHash, pieceCount: PIECES }, (p) => {
      p.onMessage = (m) => {
        if (m.type === 'handshake') {
          p.sendHandshake();
          p.send({ type: 'have-all' });
          p.send({ type: 'unchoke' });
        } else if (m.type === 'request') {
          const answer = () => {
            corruptBlocks++;
            p.send({ type: 'piece', index: m.index, begin: m.begin, block: Buffer.alloc(m.length, 0xa5) });
          };
          if (release) answer();
          else held.push(answer);
        }
      };
    });
    servers.push(corrupt);

    const done = lt.next('done');
    // The ban warning, with the number of hash-failed events seen before it.
    const banned = new Promise<{ message: string; failedBefore: number }>((resolve) => {
      lt.on('warning', (e) => {
        if (e.message.includes('banned')) resolve({ message: e.message, failedBefore: failed.length });
      });
    });
    lt.addPeer('::1', corrupt.port);
    const first = await corrupt.nthPeer(1, STEP_MS);
    await first.waitFor((m) => m.type === 'request', STEP_MS);
    lt.addPeer(LOCAL, seeder.port);
    await within(
      (async () => {
        while (!connected.some((a) => a.startsWith(`${LOCAL}:`))) await lt.next('peer');
      })(),
      STEP_MS,
      'the leecher connects to the honest seeder',
    );
    release = true;
    for (const answer of held.splice(0)) answer();

    const ban = await within(banned, DOWNLOAD_MS, 'the corrupt peer is banned');
    const banMessage = ban.message;
    assert.ok(corruptBlocks > 0, 'the corrupt peer delivered blocks');
    assert.ok(ban.failedBefore >= 1, 'a hash-failed event came before the ban');
    assert.match(banMessage, /^banned ::1: /, `the ban names the corrupt address: ${banMessage}`);
    await within(first.closed, STEP_MS, "the corrupt peer's connection is closed");

    await within(done, DOWNLOAD_MS, 'the leecher completes from the honest seeder');
    assert.deepEqual(await treeDigests(join(dir, 'victim', 'payload'), rels), want);
    const s = lt.stats();
    assert.equal(s.haveCount, PIECES);
    assert.ok(s.hashFailures >= 1);
    for (const w of leechWarnings.filter((x) => x.includes('banned'))) {
      assert.doesNotMatch(w, /127\.0\.0\.1/, `the honest seeder was banned: ${w}`);
    }

    // The banned address can no longer connect: its new connection is closed right after its
    // handshake, before the node says anything.
    const again = await SP.dial('::1', leecher.port, { infoHash, pieceCount: PIECES });
    scripted.push(again);
    again.sendHandshake();
    const c = await again.whenClosed(STEP_MS);
    assert.equal(c.bytesReceived, 0, `a banned peer got ${again.describe()}`);
    // Control: the same handshake from an address that is not banned is answered.
    const control = await SP.dial(LOCAL, leecher.port, { infoHash, pieceCount: PIECES });
    scripted.push(control);
    control.sendHandshake();
    await control.handshake(STEP_MS);
    control.close();
    await leecher.close();
    assert.equal(leecher.connectionCount, 0);
  });

  test('unrequested blocks with BEP 6: the first one closes the connection', async () => {
    const p = await attached();
    p.send({ type: 'have-none' });
    p.send({ type: 'piece', index: 0, begin: 0, block: Buffer.alloc(MAX_BLOCK_BYTES, 0x11) });
    await p.whenClosed(STEP_MS);
    assert.equal(await dropReason(p), 'unrequested-block');
    await assertServesLeecher();
  });

  test(`unrequested blocks without BEP 6: tolerated ${MAX_UNREQUESTED_BLOCKS} times, then closed`, async () => {
    const p = await attached(makeReserved({ extended: true }));
    for (let i = 0; i < MAX_UNREQUESTED_BLOCKS; i++) {
      p.send({ type: 'piece', index: i, begin: 0, block: Buffer.alloc(MAX_BLOCK_BYTES, 0x22) });
    }
    // Still open at the bound: an `interested` is answered with an `unchoke`.
    p.send({ type: 'interested' });
    await p.waitFor((m) => m.type === 'unchoke', STEP_MS);
    p.send({ type: 'piece', index: 0, begin: MAX_BLOCK_BYTES, block: Buffer.alloc(MAX_BLOCK_BYTES, 0x22) });
    await p.whenClosed(STEP_MS);
    assert.equal(await dropReason(p), 'unrequested-block');
    assert.equal(seeded.stats().downloadedBytes, 0, 'no unrequested byte was taken');
    await assertServesLeecher();
  });

  test('oversized frames are refused at the length prefix, without buffering them', async () => {
    const rssBefore = process.memoryUsage().rss;
    const junk = Buffer.alloc(64 * 1024, 0x33);
    const cases: Array<{ name: string; frame: Buffer }> = [];
    const prefix = (len: number, id?: number) => {
      const b = Buffer.alloc(id === undefined ? 4 : 5);
      b.writeUInt32BE(len, 0);
      if (id !== undefined) b[4] = id;
      return b;
    };
    cases.push({ name: 'length 2^31', frame: prefix(2 ** 31) });
    cases.push({ name: 'length 2^32 - 1', frame: prefix(0xffffffff) });
    cases.push({ name: 'one byte above MAX_WIRE_MESSAGE_BYTES', frame: prefix(MAX_WIRE_MESSAGE_BYTES + 1) });
    // A piece frame whose block is one byte above MAX_BLOCK_BYTES (the id's own bound).
    cases.push({
      name: 'a block above MAX_BLOCK_BYTES',
      frame: prefix(1 + 8 + MAX_BLOCK_BYTES + 1, MessageId.Piece),
    });
    for (const c of cases) {
      const p = await attached();
      p.sendRaw(c.frame);
      // Keep streaming the announced body (up to 16 MiB): a node that buffered it would grow.
      let sent = 0;
      while (!p.isClosed && sent < 16 * 1024 * 1024) {
        if (!p.sendRaw(junk)) await Promise.race([new Promise((r) => p.socket.once('drain', r)), p.closed]);
        sent += junk.length;
      }
      await p.whenClosed(STEP_MS);
      const reason = await dropReason(p);
      assert.match(reason, /^protocol-error: .*(exceeds|too large)/i, `${c.name}: ${reason}`);
    }
    const grown = process.memoryUsage().rss - rssBefore;
    assert.ok(grown < 128 * 1024 * 1024, `RSS grew by ${(grown / 2 ** 20).toFixed(0)} MiB`);
    await assertServesLeecher();
  });

  test('wrong info-hash, node dialling: the node closes and attaches nothing', async () => {
    const before = peerEvents.length;
    const server = await ScriptedServer.listen(LOCAL, { infoHash, pieceCount: PIECES }, (p) => {
      p.onMessage = (m) => {
        if (m.type === 'handshake') p.sendHandshake(Buffer.alloc(20, 0xee));
      };
    });
    servers.push(server);
    seeded.addPeer(LOCAL, server.port);
    const p = await server.nthPeer(1, STEP_MS);
    const h = await p.handshake(STEP_MS);
    assert.deepEqual(Buffer.from(h.infoHash), Buffer.from(infoHash), 'the node named its torrent');
    await p.whenClosed(STEP_MS);
    assert.equal(p.messages.length, 1, `after its handshake the node sent ${p.describe()}`);
    const address = `${LOCAL}:${server.port}`;
    assert.ok(!peerEvents.slice(before).some((e) => e.address === address), 'no peer event');
    assert.ok(!seeded.peers().some((x) => x.address === address), 'not in the peer list');
    await server.close();
    await assertServesLeecher();
  });

  test('wrong info-hash, peer dialling: the node closes without answering', async () => {
    const p = await dialSeeder({ infoHash: Buffer.alloc(20, 0x77) });
    p.sendHandshake();
    const c = await p.whenClosed(STEP_MS);
    assert.equal(c.bytesReceived, 0, `the node answered an unknown torrent: ${p.describe()}`);
    assert.ok(!seeded.peers().some((x) => x.address === `${LOCAL}:${p.localPort}`));
    await assertServesLeecher();
  });

  const bitfieldCases: Array<{ name: string; bytes: () => Buffer; sameWrite: boolean }> = [];
  for (const sameWrite of [false, true]) {
    const when = sameWrite ? 'in the handshake packet' : 'after the handshake';
    bitfieldCases.push({
      name: `a bitfield one byte too long, ${when}`,
      bytes: () => Buffer.alloc(BITFIELD_BYTES + 1),
      sameWrite,
    });
    bitfieldCases.push({
      name: `a bitfield one byte too short, ${when}`,
      bytes: () => Buffer.alloc(BITFIELD_BYTES - 1),
      sameWrite,
    });
    bitfieldCases.push({
      name: `a bitfield with a spare bit set, ${when}`,
      bytes: () => {
        const b = Buffer.alloc(BITFIELD_BYTES);
        b[BITFIELD_BYTES - 1] = 1 << (BITFIELD_BYTES * 8 - PIECES - 1); // the first spare bit
        return b;
      },
      sameWrite,
    });
  }
  for (const c of bitfieldCases) {
    test(`${c.name}: closed`, async () => {
      let p: ScriptedPeer;
      const msg = { type: 'bitfield' as const, bitfield: c.bytes() };
      if (c.sameWrite) {
        p = await dialSeeder();
        const hs = encodeHandshake({
          infoHash,
          peerId: p.peerId,
          reserved: makeReserved({ fast: true, extended: true }),
        });
        // The node may close before its own handshake gets out (a reset drops unread bytes).
        p.sendRaw(Buffer.concat([hs, encodeMessage(msg)]));
      } else {
        p = await attached();
        p.send(msg);
      }
      await p.whenClosed(STEP_MS);
      assert.match(await dropReason(p), /bitfield/, 'the logged reason names the bitfield');
    });
  }

  test('a correct bitfield (control): accepted, and the peer is unchoked', async () => {
    const p = await attached();
    const b = Buffer.alloc(BITFIELD_BYTES);
    b[0] = 0x80;
    p.send({ type: 'bitfield', bitfield: b });
    p.send({ type: 'interested' });
    await p.waitFor((m) => m.type === 'unchoke', STEP_MS);
    assert.equal(p.isClosed, false);
    p.close();
    await assertServesLeecher();
  });

  for (const fast of [true, false]) {
    const how = fast ? 'BEP 6: each rejected' : 'no BEP 6: each dropped';
    test(`5,000 requests while choked (${how}), while a leecher completes`, async () => {
      // A legitimate leecher downloads at the same time.
      const legit = assertServesLeecher();
      legit.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
      const p = await attached(makeReserved({ extended: true, fast }));
      if (fast) p.send({ type: 'have-none' });
      else p.send({ type: 'bitfield', bitfield: Buffer.alloc(BITFIELD_BYTES) });
      // Valid requests (pieces we have, whole blocks inside them), so only the choke refuses them,
      // avoiding our BEP 6 allowed-fast set (those may be served while choked) and the short last piece.
      const allowed = new Set(
        fast ? allowedFastSet(Uint8Array.of(127, 0, 0, 1), infoHash, PIECES, ALLOWED_FAST_SET_SIZE) : [],
      );
      const pieces = Array.from({ length: PIECES - 1 }, (_, i) => i).filter((i) => !allowed.has(i));
      const requests = (from: number, to: number): Buffer => {
        const frames: Uint8Array[] = [];
        for (let i = from; i < to; i++) {
          const index = pieces[i % pieces.length]!;
          const begin = Math.floor(i / pieces.length) % 2 === 0 ? 0 : MAX_BLOCK_BYTES;
          frames.push(encodeMessage({ type: 'request', index, begin, length: MAX_BLOCK_BYTES }));
        }
        return Buffer.concat(frames);
      };
      // Up to the bound: every request refused (rejected with BEP 6), nothing served, still open.
      // (Checked before crossing it: once the node closes, unread replies may be lost to the reset.)
      p.sendRaw(requests(0, MAX_REQUESTS_WHILE_CHOKED));
      await p.roundTrip(STEP_MS);
      assert.equal(p.count('piece'), 0, 'no block was served to a choked peer');
      assert.equal(p.count('unchoke'), 0);
      assert.equal(p.count('reject-request'), fast ? MAX_REQUESTS_WHILE_CHOKED : 0);
      // The rest of the 5,000: the node drops the peer.
      p.sendRaw(requests(MAX_REQUESTS_WHILE_CHOKED, 5_000));
      await p.whenClosed(STEP_MS);
      assert.equal(p.count('piece'), 0, 'no block was served to a choked peer');
      assert.equal(await dropReason(p), 'requests-while-choked');
      await legit;
    });
  }

  test('garbage instead of a handshake: closed at once', async () => {
    for (const bytes of [
      // Not BitTorrent, so it may be an MSE handshake (encryption is on by default): it is closed
      // as soon as the bytes cross MSE's sync window (96 + 512 + 20) without the sync pattern.
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.padEnd(700, 'x')),
      Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocoX'), Buffer.alloc(48)]),
    ]) {
      const p = await dialSeeder();
      p.sendRaw(bytes);
      const c = await p.whenClosed(STEP_MS);
      assert.equal(c.bytesReceived, 0);
      assert.ok(c.afterMs < HANDSHAKE_TIMEOUT_MS / 2, `closed after ${c.afterMs} ms`);
    }
    await assertServesLeecher();
  });

  test(`a silent peer and a stalled handshake: closed by the ${HANDSHAKE_TIMEOUT_MS} ms handshake timeout`, async () => {
    const silent = await dialSeeder();
    const stalled = await dialSeeder();
    stalled.sendRaw(
      encodeHandshake({ infoHash, peerId: stalled.peerId, reserved: makeReserved({ fast: true }) }).subarray(
        0,
        30,
      ),
    );
    // The node serves a normal leecher while the two hold their connections open.
    await assertServesLeecher();
    const limit = HANDSHAKE_TIMEOUT_MS + 10_000;
    for (const p of [silent, stalled]) {
      const c = await p.whenClosed(limit);
      assert.equal(c.bytesReceived, 0);
      assert.ok(
        c.afterMs >= HANDSHAKE_TIMEOUT_MS - 1_000,
        `closed after ${c.afterMs} ms, before the timeout`,
      );
    }
  });

  test('a have beyond the piece count: closed', async () => {
    const p = await attached();
    p.send({ type: 'have-none' });
    p.send({ type: 'have', index: PIECES - 1 }); // the last valid index: fine
    p.send({ type: 'interested' });
    await p.waitFor((m) => m.type === 'unchoke', STEP_MS);
    p.send({ type: 'have', index: PIECES });
    await p.whenClosed(STEP_MS);
    assert.equal(await dropReason(p), 'have-out-of-range');
    const q = await attached();
    q.send({ type: 'have-none' });
    q.send({ type: 'have', index: 0xffffffff });
    await q.whenClosed(STEP_MS);
    assert.equal(await dropReason(q), 'have-out-of-range');
    await assertServesLeecher();
  });

  test('the seeder is still up and released every attacker', () => {
    assert.equal(seeded.state, 'seeding');
    assert.equal(seeded.error, undefined);
    assert.equal(seeded.peers().length, 0, 'no attacker is still attached');
    assert.deepEqual(warnings, [], 'the seeder banned nobody (only the leecher saw corrupt data)');
  });
});
