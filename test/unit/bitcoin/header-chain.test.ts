import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BITCOIN_REGTEST,
  type ChainParams,
  decodeHeader,
  decodeHeaderFile,
  encodeHeader,
  encodeHeaderFileHeader,
  encodeHeaderRecord,
  HEADER_RECORD_BYTES,
  HeaderChain,
  hashToBigInt,
  headerHash,
  headerRecordOffset,
  LITECOIN_REGTEST,
  MAX_FUTURE_BLOCK_TIME_S,
  powHash,
  RECORD_FILE_HEADER_BYTES,
  validTarget,
} from '../../../src/bitcoin/chain/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { BTC_HEADER_WINDOW, BTC_MAX_SIDE_HEADERS } from '../../../src/shared/limits.js';
import { mine, mineChain } from './mine.js';

const P = BITCOIN_REGTEST;
const GENESIS_TIME = 1296688602;
const NOW = GENESIS_TIME + 10_000_000;
const hashes = (raws: Uint8Array[]) => raws.map((r) => Buffer.from(headerHash(r)).toString('hex'));
const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('hex'));

function code(r: { error: unknown }): string | undefined {
  return isShoalError(r.error) ? r.error.code : undefined;
}

describe('HeaderChain on regtest', () => {
  test('accepts a chain, tracks the tip, the index and the locator', () => {
    const c = new HeaderChain(P);
    const raws = mineChain(P, c.tip, 30);
    const r = c.acceptHeaders(raws, NOW);
    assert.equal(r.error, undefined);
    assert.equal(r.added.length, 30);
    assert.equal(c.height, 30);
    assert.deepEqual(hashes(r.connected.map((e) => e.raw)), hashes(raws));
    assert.equal(r.disconnected.length, 0);
    assert.equal(hex(c.hashAt(17)), hashes([raws[16]!])[0]);
    assert.equal(c.heightOf(headerHash(raws[16]!)), 17);
    assert.equal(c.tip.chainWork, 31n * 2n);
    const loc = c.locator();
    // 30..21 one by one, then 20, 18, 14, 6, and genesis.
    assert.deepEqual(
      loc.map((h) => c.heightOf(h)),
      [30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 19, 15, 7, 0],
    );
    // A second delivery of the same headers changes nothing.
    const again = c.acceptHeaders(raws.slice(10), NOW);
    assert.equal(again.known, 20);
    assert.equal(again.added.length, 0);
    assert.equal(again.connected.length, 0);
  });

  test('a heavier branch reorganises: it reports what left and what joined', () => {
    const c = new HeaderChain(P);
    const a = mineChain(P, c.tip, 5, 1);
    c.acceptHeaders(a, NOW);
    const fork = c.entryAt(2)!;
    const b = mineChain(P, fork, 4, 2);
    // Three of B: 3 blocks on height 2 → height 5, equal work: the first seen stays.
    const r1 = c.acceptHeaders(b.slice(0, 3), NOW);
    assert.equal(r1.error, undefined);
    assert.equal(r1.connected.length, 0);
    assert.equal(hex(c.tip.hash), hashes([a[4]!])[0]);
    assert.equal(c.sideCount, 3);
    // The fourth makes B heavier.
    const r2 = c.acceptHeaders(b.slice(3), NOW);
    assert.equal(r2.error, undefined);
    assert.deepEqual(hashes(r2.disconnected.map((e) => e.raw)), hashes([a[4]!, a[3]!, a[2]!]));
    assert.deepEqual(hashes(r2.connected.map((e) => e.raw)), hashes(b));
    assert.equal(c.height, 6);
    assert.equal(c.heightOf(headerHash(a[3]!)), undefined);
    assert.equal(c.heightOf(headerHash(b[0]!)), 3);
    assert.equal(c.sideCount, 3, "A's three blocks are now the side branch");
  });

  test('refuses bad proof of work, bad bits, unconnected and non-continuous batches', () => {
    const c = new HeaderChain(P);
    const target = validTarget(0x207fffff, P.powLimit)!;
    // A nonce whose hash is above the target.
    let bad: Uint8Array | undefined;
    for (let nonce = 0; bad === undefined; nonce++) {
      const raw = encodeHeader({
        version: 4,
        prevHash: c.tip.hash,
        merkleRoot: new Uint8Array(32),
        time: GENESIS_TIME + 600,
        bits: 0x207fffff,
        nonce,
      });
      if (hashToBigInt(powHash(raw, 'sha256d')) > target) bad = raw;
    }
    assert.equal(code(c.acceptHeaders([bad], NOW)), ErrorCode.BtcBadPow);
    // checkPow off (the node's own file) accepts it.
    assert.equal(code(new HeaderChain(P).acceptHeaders([bad], NOW, { checkPow: false })), undefined);
    const wrongBits = mine(P, c.tip, { time: GENESIS_TIME + 600, bits: 0x1f7fffff });
    assert.equal(code(c.acceptHeaders([wrongBits], NOW)), ErrorCode.BtcBadBits);
    const orphan = mine(
      P,
      { hash: new Uint8Array(32).fill(9) },
      { time: GENESIS_TIME + 600, bits: 0x207fffff },
    );
    assert.equal(code(c.acceptHeaders([orphan], NOW)), ErrorCode.BtcUnconnected);
    const [h1, h2] = mineChain(P, c.tip, 2);
    const r = c.acceptHeaders([h1!, orphan], NOW);
    assert.equal(code(r), ErrorCode.BtcBadMessage);
    assert.equal(r.added.length, 1, 'the valid prefix stays accepted');
    assert.equal(c.height, 1);
    assert.equal(code(c.acceptHeaders([h2!.subarray(0, 79)], NOW)), ErrorCode.BtcBadMessage);
  });

  test('time rules: above the median time past, at most two hours ahead of the clock', () => {
    const c = new HeaderChain(P);
    c.acceptHeaders(mineChain(P, c.tip, 11), NOW);
    const mtp = c.entryAt(6)!.time; // median of heights 1..11
    const atMtp = mine(P, c.tip, { time: mtp, bits: 0x207fffff });
    assert.equal(code(c.acceptHeaders([atMtp], NOW)), ErrorCode.BtcBadTime);
    const afterMtp = mine(P, c.tip, { time: mtp + 1, bits: 0x207fffff });
    assert.equal(code(c.acceptHeaders([afterMtp], NOW)), undefined, 'one second above the median is enough');
    const t = c.tip.time + 600;
    const future = mine(P, c.tip, { time: t, bits: 0x207fffff });
    assert.equal(code(c.acceptHeaders([future], t - MAX_FUTURE_BLOCK_TIME_S - 1)), ErrorCode.BtcTimeTooNew);
    assert.equal(code(c.acceptHeaders([future], t - MAX_FUTURE_BLOCK_TIME_S)), undefined);
  });

  test('version rules after the BIP 34/66/65 heights', () => {
    const params: ChainParams = { ...P, minVersionHeights: [2, 3, 4] };
    const c = new HeaderChain(params);
    const v1 = mine(params, c.tip, { time: GENESIS_TIME + 600, bits: 0x207fffff, version: 1 });
    assert.equal(code(c.acceptHeaders([v1], NOW)), undefined, 'height 1 may still be version 1');
    const v1b = mine(params, c.tip, { time: GENESIS_TIME + 1200, bits: 0x207fffff, version: 1 });
    assert.equal(code(c.acceptHeaders([v1b], NOW)), ErrorCode.BtcBadVersion);
    const v2 = mine(params, c.tip, { time: GENESIS_TIME + 1200, bits: 0x207fffff, version: 2 });
    assert.equal(code(c.acceptHeaders([v2], NOW)), undefined);
    const v2b = mine(params, c.tip, { time: GENESIS_TIME + 1800, bits: 0x207fffff, version: 2 });
    assert.equal(code(c.acceptHeaders([v2b], NOW)), ErrorCode.BtcBadVersion);
  });

  test('checkpoints: a mismatch, and a fork below a passed checkpoint', () => {
    const genesis = new HeaderChain(P).tip;
    const real = mineChain(P, genesis, 4, 3);
    const params: ChainParams = { ...P, checkpoints: [{ height: 2, hash: headerHash(real[1]!) }] };
    const c = new HeaderChain(params);
    const other = mineChain(P, genesis, 3, 4);
    const r = c.acceptHeaders(other, NOW);
    assert.equal(code(r), ErrorCode.BtcCheckpoint);
    assert.equal(c.height, 1, 'height 1 was fine');
    assert.equal(code(c.acceptHeaders(real, NOW)), undefined);
    // A fork from height 1 would replace height 2: refused once the checkpoint is passed.
    const fork = mine(params, c.entryAt(1)!, { time: c.entryAt(1)!.time + 1, bits: 0x207fffff, salt: 9 });
    assert.equal(code(c.acceptHeaders([fork], NOW)), ErrorCode.BtcCheckpoint);
  });

  test(`side-branch headers are bounded (BTC_MAX_SIDE_HEADERS = ${BTC_MAX_SIDE_HEADERS} by default)`, () => {
    assert.equal(new HeaderChain(P).maxSideHeaders, BTC_MAX_SIDE_HEADERS);
    const c = new HeaderChain(P, { maxSideHeaders: 3 });
    c.acceptHeaders(mineChain(P, c.tip, 10, 1), NOW);
    const side = mineChain(P, c.entryAt(2)!, 5, 2);
    const r = c.acceptHeaders(side, NOW);
    assert.equal(code(r), ErrorCode.BtcLimit);
    assert.equal(r.added.length, 3);
    assert.equal(c.sideCount, 3);
  });
});

describe('HeaderChain memory window', () => {
  const window = P.retargetInterval + 12;

  test(`keeps full entries for the last \`window\` heights only (default ${BTC_HEADER_WINDOW})`, () => {
    assert.equal(new HeaderChain(P).window, BTC_HEADER_WINDOW);
    assert.throws(() => new HeaderChain(P, { window: window - 1 }), RangeError);
    const c = new HeaderChain(P, { window });
    const raws = mineChain(P, c.tip, window + 300);
    for (let i = 0; i < raws.length; i += 2000)
      assert.equal(c.acceptHeaders(raws.slice(i, i + 2000), NOW).error, undefined);
    assert.equal(c.height, window + 300);
    assert.equal(c.entryCount, window);
    assert.equal(c.entryAt(100), undefined, 'below the window: no full entry');
    assert.equal(c.heightOf(headerHash(raws[99]!)), 100, 'but the index still knows its hash');
    assert.equal(hex(c.hashAt(0)), hex(P.genesisHash));
    // A fork from below the window is refused; a resent old header is just known.
    const deep = mine(
      P,
      { hash: headerHash(raws[99]!) },
      { time: decodeHeader(raws[99]!).time + 1, bits: 0x207fffff, salt: 5 },
    );
    assert.equal(code(c.acceptHeaders([deep], NOW)), ErrorCode.BtcForkTooDeep);
    assert.equal(c.acceptHeaders([raws[50]!], NOW).known, 1);
    // A fork just inside the window still works.
    const low = c.entryAt(c.height - window + 20)!;
    assert.equal(c.acceptHeaders(mineChain(P, low, 3, 6), NOW).error, undefined);
    assert.equal(c.sideCount, 3);
  });
});

describe('HeaderChain on Litecoin regtest (scrypt proof of work)', () => {
  test('accepts scrypt-mined headers and refuses SHA-256d-only ones', () => {
    const c = new HeaderChain(LITECOIN_REGTEST);
    const raws = mineChain(LITECOIN_REGTEST, c.tip, 12);
    assert.equal(c.acceptHeaders(raws, NOW).error, undefined);
    assert.equal(c.height, 12);
    // A header mined for SHA-256d that fails scrypt (about half of them do: find one).
    let salt = 0;
    for (;;) {
      const raw = mine(BITCOIN_REGTEST, c.tip, { time: c.tip.time + 150, bits: 0x207fffff, salt: salt++ });
      if (hashToBigInt(powHash(raw, 'scrypt')) > LITECOIN_REGTEST.powLimit) {
        assert.equal(code(c.acceptHeaders([raw], NOW)), ErrorCode.BtcBadPow);
        break;
      }
    }
  });
});

describe('header file records', () => {
  test('round trip, restore, torn and damaged tails, foreign files', () => {
    const c = new HeaderChain(P);
    const raws = mineChain(P, c.tip, 25);
    c.acceptHeaders(raws, NOW);
    const file = new Uint8Array(
      Buffer.concat([encodeHeaderFileHeader(P, 1), ...raws.map(encodeHeaderRecord)]),
    );
    assert.equal(file.length, RECORD_FILE_HEADER_BYTES + 25 * HEADER_RECORD_BYTES);
    assert.equal(headerRecordOffset(1, 26), file.length);
    const d = decodeHeaderFile(file, P);
    assert.equal(d.startHeight, 1);
    assert.equal(d.damaged, false);
    assert.equal(d.validBytes, file.length);
    assert.deepEqual(hashes(d.headers), hashes(raws));
    const again = HeaderChain.restore(P, d.headers);
    assert.equal(hex(again.tip.hash), hex(c.tip.hash));
    assert.equal(again.tip.chainWork, c.tip.chainWork);
    // A torn last record.
    const torn = decodeHeaderFile(file.subarray(0, file.length - 10), P);
    assert.equal(torn.headers.length, 24);
    assert.equal(torn.damaged, true);
    assert.equal(torn.validBytes, headerRecordOffset(1, 25));
    // A flipped byte in record 10 ends the file there.
    const flipped = file.slice();
    flipped[headerRecordOffset(1, 11) + 5]! ^= 1;
    const f = decodeHeaderFile(flipped, P);
    assert.equal(f.headers.length, 10);
    assert.equal(f.damaged, true);
    // Other network, other format.
    assert.throws(
      () => decodeHeaderFile(file, LITECOIN_REGTEST === P ? P : { ...P, magic: Uint8Array.of(1, 2, 3, 4) }),
      (e: unknown) => isShoalError(e, ErrorCode.BtcBadRecord),
    );
    assert.throws(
      () => decodeHeaderFile(file.subarray(0, 15), P),
      (e: unknown) => isShoalError(e, ErrorCode.BtcBadRecord),
    );
    const v2 = file.slice();
    v2[4] = 2;
    assert.throws(
      () => decodeHeaderFile(v2, P),
      (e: unknown) => isShoalError(e, ErrorCode.BtcBadRecord),
    );
    // A restore from a damaged chain (a gap) throws the chain's error.
    assert.throws(
      () => HeaderChain.restore(P, [raws[0]!, raws[2]!]),
      (e: unknown) => isShoalError(e, ErrorCode.BtcBadMessage),
    );
  });
});
