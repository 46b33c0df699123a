import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_SETTINGS } from '../../../src/daemon/settings.js';
import { type PersistedState, parseState, StateStore } from '../../../src/daemon/state-store.js';
import { savedPeers } from '../../../src/daemon/torrent-manager.js';
import { isShoalError } from '../../../src/shared/errors.js';
import { MAX_DAEMON_STATE_BYTES, MAX_SAVED_PEERS_PER_TORRENT } from '../../../src/shared/limits.js';

const rec = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: 'n',
  hasMetadata: true,
  downloadDir: '/dl',
  paused: false,
  addedAt: 5,
  ...extra,
});

test('parseState keeps good records and counts the rest', () => {
  const a = 'a'.repeat(40);
  const { state, rejected } = parseState(
    JSON.stringify({
      version: 1,
      settings: { downloadRateLimit: 10, uploadRateLimit: -3, peerPort: 70000, downloadDir: 'relative' },
      torrents: [
        rec(a, { filePriorities: [0, 1, 2], completedAt: 9 }),
        rec(a),
        rec('../../etc/passwd'),
        rec('b'.repeat(40), { downloadDir: 'relative' }),
        rec('c'.repeat(40), { filePriorities: [3] }),
        rec('d'.repeat(40), { hasMetadata: false }),
        rec('e'.repeat(64), { hasMetadata: false, magnet: 'magnet:?xt=urn:btmh:1220' }),
        null,
        'x',
      ],
    }),
    'state.json',
  );
  assert.equal(rejected, 7);
  assert.deepEqual(
    state.torrents.map((t) => t.id),
    [a, 'e'.repeat(64)],
  );
  assert.deepEqual(state.torrents[0]!.filePriorities, [0, 1, 2]);
  assert.deepEqual(state.settings, { ...DEFAULT_SETTINGS, downloadRateLimit: 10 });
});

test('parseState reads the settings by their schema: a value that does not conform takes its default', () => {
  const good = {
    maxActiveDownloads: 2,
    maxActiveSeeds: 7,
    seedRatioLimit: 1.5,
    seedIdleLimitMinutes: 30,
    encryption: 'require',
    blocklistPath: '/var/lib/list.p2p',
    proxy: { host: '127.0.0.1', port: 1080, username: 'u', password: 'p' },
    watchDir: '/srv/watch',
    watchDirAction: 'delete',
    incompleteDir: '/srv/incoming',
    preallocation: 'full',
  };
  const read = (settings: unknown) =>
    parseState(JSON.stringify({ version: 1, settings, torrents: [] }), 'state.json').state.settings;
  assert.deepEqual(read(good), { ...DEFAULT_SETTINGS, ...good });
  const bad = {
    maxActiveDownloads: -1,
    maxActiveSeeds: 1.5,
    seedRatioLimit: 'high',
    seedIdleLimitMinutes: 10 ** 9,
    encryption: 'rot13',
    blocklistPath: 'relative.p2p',
    proxy: { host: '127.0.0.1', port: 0 },
    watchDir: 5,
    watchDirAction: 'shred',
    incompleteDir: 'incoming',
    preallocation: 'dense',
    unknown: true,
  };
  assert.deepEqual(read(bad), DEFAULT_SETTINGS);
  assert.equal(read({}).maxActiveDownloads, 5, "Transmission's default queue of 5 downloads");
  assert.equal(read({}).encryption, 'enabled');
});

test("parseState keeps a record's queue position and its own options when they check out", () => {
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);
  const { state, rejected } = parseState(
    JSON.stringify({
      version: 1,
      settings: {},
      torrents: [
        rec(a, {
          queuePosition: 3,
          options: { downloadLimit: 1000, priority: 'high', seedRatioLimit: 2, seedIdleLimitMinutes: 0 },
        }),
        rec(b, { queuePosition: -1, options: { priority: 'urgent' } }),
      ],
    }),
    'state.json',
  );
  assert.equal(rejected, 0, 'bad options or position cost only those fields');
  assert.equal(state.torrents[0]!.queuePosition, 3);
  assert.deepEqual(state.torrents[0]!.options, {
    downloadLimit: 1000,
    priority: 'high',
    seedRatioLimit: 2,
    seedIdleLimitMinutes: 0,
  });
  assert.equal(state.torrents[1]!.queuePosition, undefined);
  assert.equal(state.torrents[1]!.options, undefined);
});

test('parseState refuses a file it cannot read as state', () => {
  for (const text of ['{', '[]', '5', JSON.stringify({ version: 2, torrents: [] })]) {
    assert.throws(
      () => parseState(text, 'state.json'),
      (e) => isShoalError(e, 'SHOAL_ERR_DAEMON_STATE'),
      text,
    );
  }
});

test('StateStore: atomic coalesced saves, load, token with mode 0600, size cap', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-state-'));
  try {
    const store = new StateStore(join(dir, 'st'));
    await store.init();
    assert.equal((await stat(store.dir)).mode & 0o777, 0o700);
    assert.deepEqual((await store.load()).state.torrents, [], 'no file: empty state');
    let n = 0;
    const snap = (): PersistedState => ({
      version: 1,
      settings: { ...DEFAULT_SETTINGS, downloadRateLimit: ++n },
      torrents: [rec('f'.repeat(40))],
    });
    // Ten saves at once: at most two writes (the one running and one more), the last with the latest state.
    await Promise.all(Array.from({ length: 10 }, () => store.save(snap)));
    assert.ok(n <= 2, `${n} writes`);
    const loaded = (await store.load()).state;
    assert.equal(loaded.settings.downloadRateLimit, n);
    assert.equal(loaded.torrents.length, 1);
    const token = await store.ensureToken();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await stat(store.tokenPath)).mode & 0o777, 0o600);
    assert.equal(await store.ensureToken(), token, 'read back, not replaced');
    await writeFile(store.tokenPath, 'short');
    await assert.rejects(store.ensureToken(), (e) => isShoalError(e, 'SHOAL_ERR_DAEMON_STATE'));
    assert.throws(
      () => store.torrentPath('../x'),
      (e) => isShoalError(e, 'SHOAL_ERR_DAEMON_STATE'),
    );
    await writeFile(store.statePath, Buffer.alloc(MAX_DAEMON_STATE_BYTES + 1, 0x20));
    await assert.rejects(store.load(), /larger than/);
    assert.ok((await readFile(store.statePath)).length > MAX_DAEMON_STATE_BYTES);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('saved peers: at most MAX_SAVED_PEERS_PER_TORRENT per torrent, the latest kept, in records too', () => {
  const many = Array.from({ length: MAX_SAVED_PEERS_PER_TORRENT + 6 }, (_, i) => ({
    host: '127.0.0.1',
    port: 1000 + i,
  }));
  const kept = savedPeers([], many);
  assert.equal(kept.length, MAX_SAVED_PEERS_PER_TORRENT);
  assert.equal(kept[0]!.port, 1006, 'the oldest are forgotten');
  assert.equal(kept.at(-1)!.port, 1000 + MAX_SAVED_PEERS_PER_TORRENT + 5);
  // Naming a kept peer again makes it the latest, without a duplicate.
  const again = savedPeers(kept, [{ host: '127.0.0.1', port: 1006 }]);
  assert.equal(again.length, MAX_SAVED_PEERS_PER_TORRENT);
  assert.equal(again.at(-1)!.port, 1006);
  const record = {
    id: 'ab'.repeat(20),
    name: 'x',
    hasMetadata: true,
    downloadDir: '/dl',
    paused: false,
    addedAt: 1,
    peers: [...many, { host: 'bad host', port: 1 }, { host: '::1', port: 0 }],
  };
  const { state } = parseState(
    JSON.stringify({ version: 1, settings: {}, torrents: [record] }),
    'state.json',
  );
  const peers = state.torrents[0]!.peers!;
  assert.equal(peers.length, MAX_SAVED_PEERS_PER_TORRENT, 'a hand-edited state is bounded too');
  assert.ok(
    peers.every((p) => p.host === '127.0.0.1'),
    'addresses that do not check out are dropped',
  );
});
