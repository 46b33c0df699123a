import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ancestorAt,
  BITCOIN_MAINNET,
  BITCOIN_REGTEST,
  BITCOIN_SIGNET,
  BITCOIN_TESTNET4,
  bitsToTarget,
  type ChainParams,
  decodeHeader,
  type HeaderLink,
  headerHash,
  LITECOIN_REGTEST,
  medianTimePast,
  NETWORKS,
  nextBitsRequired,
  retarget,
  targetToBits,
  validTarget,
  walkBackBits,
  workForBits,
} from '../../../src/bitcoin/chain/index.js';
import { hashToHex } from '../../../src/bitcoin/codec/index.js';

describe('chain parameters', () => {
  const genesis: Record<string, string> = {
    bitcoin: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
    'bitcoin-testnet4': '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043',
    'bitcoin-signet': '00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6',
    'bitcoin-regtest': '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
    'litecoin-regtest': '530827f38f93b43ed12af0b3ad25a288dc02ed74d6d7857862df51fc56c416f9',
  };
  for (const [name, want] of Object.entries(genesis)) {
    test(`${name}: the genesis header hashes to the known genesis hash`, () => {
      const p = NETWORKS[name]!;
      assert.equal(hashToHex(headerHash(p.genesisHeader)), want);
      assert.equal(hashToHex(p.genesisHash), want);
      const h = decodeHeader(p.genesisHeader);
      assert.ok(validTarget(h.bits, p.powLimit) !== undefined, 'genesis bits within the pow limit');
      assert.equal(h.bits, targetToBits(p.powLimit), 'genesis is mined at the pow limit');
    });
  }

  test('only mainnet lists DNS seeds; every network serves basic filters', () => {
    for (const p of Object.values(NETWORKS)) {
      assert.equal(p.dnsSeeds.length > 0, p === BITCOIN_MAINNET, p.name);
      assert.equal(p.basicFilterType, 0);
    }
  });

  test('checkpoints ascend', () => {
    const cps = BITCOIN_MAINNET.checkpoints;
    for (let i = 1; i < cps.length; i++) assert.ok(cps[i]!.height > cps[i - 1]!.height);
  });
});

describe('compact bits and targets', () => {
  test('pow limits encode to the genesis bits of their networks', () => {
    assert.equal(targetToBits(BITCOIN_MAINNET.powLimit), 0x1d00ffff);
    assert.equal(targetToBits(BITCOIN_REGTEST.powLimit), 0x207fffff);
    assert.equal(targetToBits(BITCOIN_SIGNET.powLimit), 0x1e0377ae);
    assert.equal(targetToBits(LITECOIN_REGTEST.powLimit), 0x207fffff);
  });

  test('decode/encode round trips of canonical values', () => {
    for (const bits of [
      0x1d00ffff, 0x1b0404cb, 0x1c05a3f4, 0x207fffff, 0x17034219, 0x03123456, 0x01120000, 0x02123400,
    ]) {
      const d = bitsToTarget(bits);
      assert.ok(!d.negative && !d.overflow, bits.toString(16));
      assert.equal(targetToBits(d.target), bits, bits.toString(16));
    }
  });

  test("Core's SetCompact corner cases: small sizes, sign bit, overflow", () => {
    assert.equal(bitsToTarget(0x01003456).target, 0n);
    assert.equal(bitsToTarget(0x01123456).target, 0x12n);
    assert.equal(bitsToTarget(0x02123456).target, 0x1234n);
    assert.equal(bitsToTarget(0x04123456).target, 0x12345600n);
    assert.equal(bitsToTarget(0x05009234).target, 0x92340000n);
    assert.equal(bitsToTarget(0x04923456).negative, true);
    assert.equal(bitsToTarget(0x01fedcba).negative, true);
    assert.equal(bitsToTarget(0x00923456).negative, false, 'zero mantissa after the shift is not negative');
    assert.equal(bitsToTarget(0xff123456).overflow, true);
    assert.equal(bitsToTarget(0x20010000).overflow, false);
    assert.equal(bitsToTarget(0x21010000).overflow, true);
    assert.equal(bitsToTarget(0x22000100).overflow, true);
    assert.equal(bitsToTarget(0x22000001).overflow, false);
    // Encoding moves a mantissa with its top bit set one byte up.
    assert.equal(targetToBits(0x80n), 0x02008000);
    assert.equal(targetToBits(0n), 0);
  });

  test('validTarget refuses negative, zero, overflowing and above-limit bits', () => {
    const lim = BITCOIN_MAINNET.powLimit;
    assert.equal(validTarget(0x1d00ffff, lim), lim & ~((1n << 208n) - 1n));
    assert.equal(validTarget(0x1d01ffff, lim), undefined, 'above the limit');
    assert.equal(validTarget(0x04923456, lim), undefined, 'negative');
    assert.equal(validTarget(0x01003456, lim), undefined, 'zero');
    assert.equal(validTarget(0xff123456, lim), undefined, 'overflow');
  });

  test('work is 2^256 / (target + 1)', () => {
    assert.equal(workForBits(0x1d00ffff), 0x100010001n);
    assert.equal(workForBits(0x207fffff), 2n);
    assert.equal(workForBits(0x04923456), 0n);
  });
});

/** A chain of links: `times[i]` and `bits[i]` at height `start + i`. */
function links(start: number, times: number[], bits: number[]): HeaderLink {
  let l: HeaderLink | undefined;
  for (let i = 0; i < times.length; i++)
    l = { height: start + i, time: times[i]!, bits: bits[i]!, parent: l };
  return l!;
}

/** A full period ending at `last`: heights from `lastHeight - 2015` with times from `firstTime` to `lastTime`. */
function period(
  lastHeight: number,
  firstTime: number,
  lastTime: number,
  bits: number,
  firstBits = bits,
): HeaderLink {
  const n = 2016;
  const times = Array.from({ length: n }, (_, i) =>
    Math.round(firstTime + ((lastTime - firstTime) * i) / (n - 1)),
  );
  const b = Array.from({ length: n }, (_, i) => (i === 0 ? firstBits : bits));
  return links(lastHeight - n + 1, times, b);
}

describe('difficulty retargeting (mainnet rules)', () => {
  const P = BITCOIN_MAINNET;
  test('between retargets the parent bits carry over', () => {
    const parent = links(100, [1000], [0x1b0404cb]);
    assert.equal(nextBitsRequired(P, parent, 999_999), 0x1b0404cb);
  });

  test('block 32256: the first real retarget (blocks 30240 to 32255)', () => {
    const last = period(32255, 1261130161, 1262152739, 0x1d00ffff);
    assert.equal(nextBitsRequired(P, last, 1262152739 + 600), 0x1d00d86a);
  });

  test('a slow period is capped at the pow limit', () => {
    const last = period(2015, 1231006505, 1233061996, 0x1d00ffff);
    assert.equal(nextBitsRequired(P, last, 1233061996 + 600), 0x1d00ffff);
  });

  test('the timespan is clamped to a quarter (period 66528..68543)', () => {
    assert.equal(retarget(P, 0x1c05a3f4, 1279297671 - 1279008237), 0x1c0168fd);
    const last = period(68543, 1279008237, 1279297671, 0x1c05a3f4);
    assert.equal(nextBitsRequired(P, last, 1279297671 + 600), 0x1c0168fd);
    // Faster still changes nothing: the clamp holds.
    assert.equal(retarget(P, 0x1c05a3f4, 1), 0x1c0168fd);
  });

  test('the timespan is clamped to four times (period 46368..48383)', () => {
    assert.equal(retarget(P, 0x1c387f6f, 1269211443 - 1263163443), 0x1d00e1fd);
    assert.equal(retarget(P, 0x1c387f6f, 10 * 14 * 24 * 3600), 0x1d00e1fd);
  });

  test('an exact two weeks keeps the target', () => {
    assert.equal(retarget(P, 0x1b0404cb, 14 * 24 * 3600), 0x1b0404cb);
  });

  test('a retarget that needs an ancestor out of reach answers undefined', () => {
    const short = links(4000, [1, 2, 3], [0x1d00ffff, 0x1d00ffff, 0x1d00ffff]);
    assert.equal(ancestorAt(short, 3000), undefined);
    const parent = links(4029, [1, 2, 3], [0x1d00ffff, 0x1d00ffff, 0x1d00ffff]);
    assert.equal(nextBitsRequired(P, parent, 5), undefined);
  });
});

describe("testnet's minimum-difficulty rule", () => {
  const P = BITCOIN_TESTNET4;
  const LIMIT = 0x1d00ffff;
  const REAL = 0x1c00ffff;

  test('more than 20 minutes after the parent: the pow limit is allowed', () => {
    const parent = links(2016, [10_000], [REAL]);
    assert.equal(nextBitsRequired(P, parent, 10_000 + 1201), LIMIT);
    assert.equal(nextBitsRequired(P, parent, 10_000 + 1200), REAL, 'exactly 20 minutes is not more');
  });

  test('the walk-back finds the last block that did not use the rule', () => {
    // Height 2016 (period start) real, 2017 real', then three min-difficulty blocks.
    const parent = links(2016, [0, 600, 1900, 3200, 4500], [REAL, 0x1c00fff0, LIMIT, LIMIT, LIMIT]);
    assert.equal(nextBitsRequired(P, parent, 4600), 0x1c00fff0);
  });

  test('the walk-back stops at the period start', () => {
    const parent = links(2016, [0, 1300, 2600], [LIMIT, LIMIT, LIMIT]);
    assert.equal(nextBitsRequired(P, parent, 2700), LIMIT);
    const parent2 = links(2015, [0, 1300, 2600], [REAL, LIMIT, LIMIT]);
    // From 2017 back to 2016 (the start of the period), which carries the limit: not 2015's bits.
    assert.equal(nextBitsRequired(P, parent2, 2700), LIMIT);
  });

  test('the first block of a period never uses the rule: it retargets', () => {
    const last = period(4031, 0, 14 * 24 * 3600, REAL);
    assert.equal(nextBitsRequired(P, last, 14 * 24 * 3600 + 5000), REAL);
  });

  test("BIP 94: the retarget scales the period's first block's bits, not a min-difficulty last block", () => {
    const last = period(4031, 0, 14 * 24 * 3600, LIMIT, REAL);
    assert.equal(nextBitsRequired(P, last, 14 * 24 * 3600 + 1), REAL);
    const testnet3Like: ChainParams = { ...P, enforceBip94: false };
    assert.equal(nextBitsRequired(testnet3Like, last, 14 * 24 * 3600 + 1), LIMIT);
  });

  test('a cached walk-back answer needs no ancestors', () => {
    // Height 3000's parent chain is cut at 2999, but 2999 carries its walk-back answer.
    const cut: HeaderLink = {
      height: 2999,
      time: 0,
      bits: LIMIT,
      parent: undefined,
      walkBackBits: 0x1c00fff0,
    };
    const parent: HeaderLink = {
      height: 3000,
      time: 100,
      bits: LIMIT,
      parent: cut,
      walkBackBits: walkBackBits(P, 3000, LIMIT, cut),
    };
    assert.equal(parent.walkBackBits, 0x1c00fff0);
    assert.equal(nextBitsRequired(P, parent, 200), 0x1c00fff0);
    assert.equal(walkBackBits(P, 4032, LIMIT, parent), LIMIT, 'a period start answers its own bits');
    assert.equal(walkBackBits(P, 3001, REAL, parent), REAL, 'a real-difficulty block answers its own bits');
  });

  test('an unreachable walk-back answers undefined', () => {
    const parent = links(2500, [0, 1300], [LIMIT, LIMIT]);
    assert.equal(nextBitsRequired(P, parent, 1400), undefined);
  });
});

describe('regtest and Litecoin', () => {
  test('regtest never retargets', () => {
    const last = period(2015, 0, 10, 0x207fffff);
    assert.equal(nextBitsRequired(BITCOIN_REGTEST, last, 11), 0x207fffff);
  });

  test("Litecoin's full-period retarget measures from one block earlier, except at the first", () => {
    const P: ChainParams = { ...LITECOIN_REGTEST, noRetargeting: false, allowMinDifficultyBlocks: false };
    const span = P.targetTimespanS;
    // Second retarget (height 4032): times 0..4031 step 75 s except block 2015 (one before the period).
    const times = Array.from({ length: 4032 }, (_, i) => i * 75);
    const bits = 0x1e0fffff;
    const last = links(0, times, new Array(4032).fill(bits));
    // Bitcoin measures 4031 − 2016 = 2015 blocks, Litecoin 4031 − 2015 = 2016 blocks.
    assert.equal(nextBitsRequired(P, last, times[4031]! + 1), retarget(P, bits, 2016 * 75));
    assert.equal(
      nextBitsRequired({ ...P, fullPeriodRetarget: false }, last, times[4031]! + 1),
      retarget(P, bits, 2015 * 75),
    );
    // First retarget (height 2016): interval − 1 on both.
    const first = ancestorAt(last, 2015)!;
    assert.equal(nextBitsRequired(P, first, times[2015]! + 1), retarget(P, bits, 2015 * 75));
    assert.ok(span > 0);
  });
});

describe('median time past', () => {
  test('the median of the last 11 times, unordered', () => {
    const l = links(100, [5, 1, 9, 3, 7, 11, 2, 8, 4, 10, 6, 1000], new Array(12).fill(0));
    // The last 11: 1 9 3 7 11 2 8 4 10 6 1000 → sorted median is 7.
    assert.equal(medianTimePast(l), 7);
  });

  test('fewer than 11 ancestors near genesis', () => {
    const l = links(0, [10, 20, 30], [0, 0, 0]);
    assert.equal(medianTimePast(l), 20);
    assert.equal(medianTimePast(links(0, [10, 20], [0, 0])), 20);
  });
});
