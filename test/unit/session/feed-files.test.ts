/**
 * Feed keys, names and state files (src/session/feeds): key files are 0600, never overwritten,
 * refused when others may read them, too large or damaged; feed names from magnets and keys;
 * follower and publisher state files round-trip, refuse malformed input with
 * `SHOAL_ERR_FEED_STATE` (random input included) and stay within their bounds.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { createDhtKeyPair } from '../../../src/discovery/index.js';
import { parseMutableMagnet } from '../../../src/metainfo/index.js';
import { addVersion, readFeedState } from '../../../src/session/feeds/feed-state.js';
import {
  decodeFeedState,
  decodeKeyFile,
  decodePublisherState,
  encodeFeedState,
  encodeKeyFile,
  FeedError,
  type FeedState,
  feedId,
  feedMagnet,
  parseFeedName,
  readKeyFile,
  readPublisherState,
  recordPublication,
  saltFromName,
  writeKeyFile,
} from '../../../src/session/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { toHex } from '../../../src/shared/hash.js';
import {
  MAX_DHT_ITEM_SALT_BYTES,
  MAX_FEED_KEY_FILE_BYTES,
  MAX_FEED_STATE_BYTES,
  MAX_FEED_VERSIONS_KEPT,
} from '../../../src/shared/limits.js';

const isCode = (code: string) => (e: unknown) => isShoalError(e) && e.code === code;

describe('feed key files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-feedkey-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('written with mode 0600, read back, never overwritten', async () => {
    const path = join(dir, 'a.key');
    const pair = await writeKeyFile(path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readKeyFile(path), pair);
    await assert.rejects(writeKeyFile(path), isCode(ErrorCode.FeedKey));
    assert.deepEqual(await readKeyFile(path), pair, 'the first key is intact');
  });

  test('refused when group or others may read it', async () => {
    const path = join(dir, 'open.key');
    await writeKeyFile(path);
    await chmod(path, 0o640);
    await assert.rejects(
      readKeyFile(path),
      (e: unknown) => isCode(ErrorCode.FeedKey)(e) && /chmod 600/.test((e as Error).message),
    );
  });

  test(`refused past MAX_FEED_KEY_FILE_BYTES (${MAX_FEED_KEY_FILE_BYTES})`, async () => {
    const path = join(dir, 'big.key');
    const text = encodeKeyFile(createDhtKeyPair());
    await writeFile(path, text + ' '.repeat(MAX_FEED_KEY_FILE_BYTES - text.length), { mode: 0o600 });
    assert.ok(await readKeyFile(path), 'exactly at the bound is read');
    await writeFile(path, text + ' '.repeat(MAX_FEED_KEY_FILE_BYTES - text.length + 1), { mode: 0o600 });
    await assert.rejects(readKeyFile(path), isCode(ErrorCode.FeedKey));
  });

  test('damaged key files are refused', () => {
    const good = JSON.parse(encodeKeyFile(createDhtKeyPair())) as Record<string, string>;
    const other = createDhtKeyPair();
    for (const text of [
      'not json',
      '[]',
      JSON.stringify({ ...good, type: 'x' }),
      JSON.stringify({ ...good, seed: 'zz' }),
      JSON.stringify({ ...good, publicKey: toHex(other.publicKey) }),
    ]) {
      assert.throws(() => decodeKeyFile(text, 'k'), isCode(ErrorCode.FeedKey), text);
    }
  });
});

describe('feed names', () => {
  const pair = createDhtKeyPair();
  const key = toHex(pair.publicKey);

  test('a magnet link, a key with a salt, and their magnet', () => {
    const salt = saltFromName('www');
    const m = feedMagnet({ publicKey: pair.publicKey, salt });
    assert.equal(m, `magnet:?xs=urn:btpk:${key}&s=777777`);
    assert.deepEqual(parseFeedName(m), { publicKey: pair.publicKey, salt });
    assert.deepEqual(parseFeedName(key, salt), { publicKey: pair.publicKey, salt });
    assert.deepEqual(
      parseMutableMagnet(feedMagnet({ publicKey: pair.publicKey, salt: new Uint8Array(0) })).salt,
      new Uint8Array(0),
    );
    assert.equal(feedId({ publicKey: pair.publicKey, salt }), `${key}-777777`);
    assert.equal(feedId({ publicKey: pair.publicKey, salt: new Uint8Array(0) }), key);
  });

  test('refuses junk, two salts, and salts over 64 bytes', () => {
    assert.throws(() => parseFeedName('zz'), FeedError);
    assert.throws(
      () => parseFeedName(`magnet:?xt=urn:btih:${'0'.repeat(40)}`),
      isCode(ErrorCode.MagnetInvalid),
    );
    assert.throws(() =>
      parseFeedName(feedMagnet({ publicKey: pair.publicKey, salt: saltFromName('a') }), saltFromName('b')),
    );
    assert.equal(saltFromName('x'.repeat(MAX_DHT_ITEM_SALT_BYTES)).length, MAX_DHT_ITEM_SALT_BYTES);
    assert.throws(() => saltFromName('x'.repeat(MAX_DHT_ITEM_SALT_BYTES + 1)), FeedError);
  });
});

describe('follower state (feed.json)', () => {
  const pair = createDhtKeyPair();
  const state = (): FeedState => ({
    publicKey: pair.publicKey,
    salt: saltFromName('s'),
    highestSeq: 7n,
    item: { seq: 7n, v: new Uint8Array([100, 101]), sig: new Uint8Array(64).fill(3) },
    current: 6n,
    pending: 7n,
    versions: [
      {
        seq: 6n,
        infoHash: 'ab'.repeat(20),
        seenAt: 1,
        completedAt: 2,
        switchedAt: 3,
        name: 'x',
        reusedFiles: 1,
      },
      { seq: 7n, infoHash: 'cd'.repeat(32), seenAt: 4 },
    ],
  });

  test('round-trips, 64-bit seqs included', () => {
    const s = state();
    s.highestSeq = 0x7fff_ffff_ffff_ffffn;
    assert.deepEqual(decodeFeedState(encodeFeedState(s), 'f'), s);
  });

  test('malformed states are SHOAL_ERR_FEED_STATE', () => {
    const good = JSON.parse(encodeFeedState(state())) as Record<string, unknown>;
    for (const bad of [
      { ...good, version: 2 },
      { ...good, publicKey: 'ab' },
      { ...good, highestSeq: '-1' },
      { ...good, highestSeq: '9223372036854775808' },
      { ...good, current: '5' },
      { ...good, versions: [{ seq: '6', infoHash: 'zz', seenAt: 1 }] },
      { ...good, item: { seq: '1', v: '00', sig: 'ab' } },
    ]) {
      assert.throws(
        () => decodeFeedState(JSON.stringify(bad), 'f'),
        isCode(ErrorCode.FeedState),
        JSON.stringify(bad),
      );
    }
  });

  test('random text gives a state or SHOAL_ERR_FEED_STATE, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        try {
          decodeFeedState(text, 'f');
        } catch (e) {
          assert.ok(isCode(ErrorCode.FeedState)(e), String(e));
        }
      }),
      { numRuns: 300 },
    );
  });

  test(`keeps at most MAX_FEED_VERSIONS_KEPT (${MAX_FEED_VERSIONS_KEPT}) versions, never current or pending`, () => {
    const s = state();
    s.current = 6n;
    s.pending = 7n;
    for (let i = 0; i < MAX_FEED_VERSIONS_KEPT + 10; i++)
      addVersion(s, { seq: 100n + BigInt(i), infoHash: 'ee'.repeat(20), seenAt: i });
    assert.equal(s.versions.length, MAX_FEED_VERSIONS_KEPT);
    assert.ok(s.versions.some((v) => v.seq === 6n) && s.versions.some((v) => v.seq === 7n));
    assert.equal(s.versions.at(-1)!.seq, 100n + BigInt(MAX_FEED_VERSIONS_KEPT + 9));
  });

  test(`a state file over MAX_FEED_STATE_BYTES (${MAX_FEED_STATE_BYTES}) is refused`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-feedstate-'));
    try {
      const path = join(dir, 'feed.json');
      const text = encodeFeedState(state());
      await writeFile(path, text + ' '.repeat(MAX_FEED_STATE_BYTES - text.length));
      assert.ok(await readFeedState(path));
      await writeFile(path, text + ' '.repeat(MAX_FEED_STATE_BYTES - text.length + 1));
      await assert.rejects(readFeedState(path), isCode(ErrorCode.FeedState));
      assert.equal(await readFeedState(join(dir, 'none.json')), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('publisher state (<key>.state.json)', () => {
  test('records each salt, reads back, refuses damage', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-pubstate-'));
    try {
      const path = join(dir, 'k.state.json');
      assert.equal((await readPublisherState(path)).size, 0);
      await recordPublication(path, new Uint8Array(0), {
        seq: 3n,
        infoHash: 'ab'.repeat(20),
        pieceLength: 16384,
        publishedAt: 5,
      });
      await recordPublication(path, saltFromName('www'), {
        seq: 9n,
        infoHash: 'cd'.repeat(32),
        pieceLength: 65536,
        publishedAt: 6,
      });
      const all = await readPublisherState(path);
      assert.equal(all.get('')?.seq, 3n);
      assert.equal(all.get('777777')?.pieceLength, 65536);
      for (const bad of ['{}', '{"version":1,"feeds":{"zz":{}}}', '{"version":1,"feeds":{"":{"seq":"x"}}}']) {
        assert.throws(() => decodePublisherState(bad, 'p'), isCode(ErrorCode.FeedState));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
