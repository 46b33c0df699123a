/**
 * Hostile input to a Shoal node's BEP 55 `ut_holepunch` (issue 24), over real TCP connections on
 * loopback: a `rendezvous` flood is forwarded only within HOLEPUNCH_RELAY_PER_PEER (the victim
 * named in it gets that many `connect`s, no more); a malformed holepunch payload costs only its
 * sender (closed with a typed `ut_holepunch` error); a peer that never announced the extension is
 * ignored; the node keeps serving the others.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, type Torrent, type TorrentEvents } from '../../src/session/index.js';
import { HOLEPUNCH_RELAY_PER_PEER } from '../../src/shared/limits.js';
import { createTorrent } from '../../src/storage/index.js';
import {
  decodeExtendedHandshake,
  decodeUtHolepunch,
  EXTENDED_HANDSHAKE_ID,
  ExtensionName,
  encodeExtendedHandshake,
  encodeUtHolepunch,
  type HolepunchMessage,
  type WireMessage,
} from '../../src/wire/index.js';
import { writeTree } from '../helpers/payload.js';
import { ScriptedPeer, within } from '../helpers/scripted-peer.js';

const LOCAL = '127.0.0.1';
const STEP_MS = 5_000;
/** Our id for ut_holepunch in the scripted peers' extended handshakes. */
const OUR_HP_ID = 9;
const FLOOD = 500;

describe('ut_holepunch under attack', { timeout: 60_000 }, () => {
  let dir = '';
  let relay: Session;
  let torrent: Torrent;
  const peers: ScriptedPeer[] = [];
  const events: TorrentEvents['peer'][] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-hp-hostile-'));
    await writeTree(join(dir, 'seed'), { 'a.bin': 100_000 }, 3);
    const t = await createTorrent(join(dir, 'seed', 'a.bin'), { version: 'v1', pieceLength: 32 * 1024 });
    relay = await Session.create({ host: LOCAL, downloadDir: join(dir, 'seed'), hashThreads: 1 });
    torrent = await relay.addTorrent(t.bytes);
    torrent.on('peer', (e) => events.push(e));
  });
  after(async () => {
    for (const p of peers) p.close();
    await relay.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A scripted peer from `local` that announces `extensions` and listen port `p`; resolves with the relay's id for ut_holepunch. */
  async function join_(local: string, listenPort: number, holepunch: boolean) {
    const p = await ScriptedPeer.dial(LOCAL, relay.port, { infoHash: torrent.wireInfoHash }, local);
    peers.push(p);
    p.sendHandshake();
    await p.handshake(STEP_MS);
    const hs = await p.waitFor((m) => m.type === 'extended' && m.extId === EXTENDED_HANDSHAKE_ID, STEP_MS);
    const theirs = decodeExtendedHandshake(
      (hs as Extract<WireMessage, { type: 'extended' }>).payload,
    ).extensions;
    const hpId = theirs.get(ExtensionName.UtHolepunch);
    assert.ok(hpId !== undefined && hpId > 0, 'the node announces ut_holepunch');
    p.send({
      type: 'extended',
      extId: EXTENDED_HANDSHAKE_ID,
      payload: encodeExtendedHandshake({
        extensions: new Map(holepunch ? [[ExtensionName.UtHolepunch, OUR_HP_ID]] : []),
        port: listenPort,
      }),
    });
    return { p, hpId };
  }

  const holepunchIn = (p: ScriptedPeer): HolepunchMessage[] =>
    p.messages.flatMap((m) =>
      m.type === 'extended' && m.extId === OUR_HP_ID ? [decodeUtHolepunch(m.payload)] : [],
    );

  test(`a rendezvous flood is forwarded HOLEPUNCH_RELAY_PER_PEER (${HOLEPUNCH_RELAY_PER_PEER}) times, then dropped unanswered`, async () => {
    const victim = await join_('127.0.0.3', 7003, true);
    const attacker = await join_('127.0.0.2', 7002, true);
    await victim.p.roundTrip(STEP_MS);
    await attacker.p.roundTrip(STEP_MS);
    const ask = encodeUtHolepunch({ type: 'rendezvous', addr: { host: '127.0.0.3', port: 7003, family: 4 } });
    for (let i = 0; i < FLOOD; i++) attacker.p.send({ type: 'extended', extId: attacker.hpId, payload: ask });
    // A barrier: the node has read the whole flood once it answers this.
    await attacker.p.roundTrip(STEP_MS);
    await victim.p.roundTrip(STEP_MS);
    const toAttacker = holepunchIn(attacker.p);
    const toVictim = holepunchIn(victim.p);
    assert.equal(toAttacker.length, HOLEPUNCH_RELAY_PER_PEER);
    assert.ok(
      toAttacker.every((m) => m.type === 'connect' && m.addr.host === '127.0.0.3' && m.addr.port === 7003),
    );
    assert.equal(toVictim.length, HOLEPUNCH_RELAY_PER_PEER);
    assert.ok(
      toVictim.every((m) => m.type === 'connect' && m.addr.host === '127.0.0.2' && m.addr.port === 7002),
    );
    assert.equal(
      events.filter((e) => e.type === 'holepunch' && /relayed/.test(e.reason ?? '')).length,
      HOLEPUNCH_RELAY_PER_PEER,
    );
    assert.ok(
      !attacker.p.isClosed && !victim.p.isClosed,
      'a flood within the wire rules costs no connection',
    );
  });

  test('a peer without ut_holepunch is ignored; a malformed payload closes only its sender, with a typed reason', async () => {
    const silent = await join_('127.0.0.4', 7004, false);
    silent.p.send({
      type: 'extended',
      extId: silent.hpId,
      payload: encodeUtHolepunch({ type: 'rendezvous', addr: { host: '127.0.0.3', port: 7003, family: 4 } }),
    });
    await silent.p.roundTrip(STEP_MS);
    assert.equal(holepunchIn(silent.p).length, 0);
    assert.equal(silent.p.messages.filter((m) => m.type === 'extended' && m.extId === OUR_HP_ID).length, 0);

    const bad = await join_('127.0.0.5', 7005, true);
    await bad.p.roundTrip(STEP_MS);
    bad.p.send({ type: 'extended', extId: bad.hpId, payload: Uint8Array.of(0, 7, 1, 2, 3) });
    await within(bad.p.closed, STEP_MS, 'the node to close the sender of a malformed payload');
    const deadline = performance.now() + STEP_MS;
    let reason: string | undefined;
    while (reason === undefined) {
      reason = events.find(
        (e) => e.type === 'disconnected' && e.address === `127.0.0.5:${bad.p.localPort}`,
      )?.reason;
      if (reason === undefined) {
        assert.ok(performance.now() < deadline, 'no disconnect event');
        await within(torrent.next('peer'), STEP_MS, 'the disconnect event');
      }
    }
    assert.match(reason, /protocol-error: ut_holepunch: unknown address type 7/);
    // The others are still served.
    await silent.p.roundTrip(STEP_MS);
    assert.ok(!silent.p.isClosed);
  });
});
