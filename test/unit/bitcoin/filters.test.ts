import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { bytesFromHex, bytesToHex, hashFromHex, hashToHex } from '../../../src/bitcoin/codec/index.js';
import {
  BASIC_FILTER_PARAMS,
  basicFilter,
  basicFilterItems,
  buildBasicFilter,
  buildGcs,
  chainFilterHeaders,
  checkFilterRange,
  filterHash,
  filterHeader,
  Gcs,
  planFilterRequests,
  verifyFilter,
} from '../../../src/bitcoin/filters/index.js';
import { blockHash, decodeBlock } from '../../../src/bitcoin/tx/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { BTC_MAX_CFHEADERS_PER_MESSAGE, BTC_MAX_CFILTERS_RANGE } from '../../../src/shared/limits.js';

type Row = [number, string, string, string[], string, string, string, string];
const rows = (
  JSON.parse(
    readFileSync(new URL('../../fixtures/bitcoin/bip158-testnet-19.json', import.meta.url), 'utf8'),
  ) as unknown[]
).slice(1) as Row[];

describe('BIP 158 test vectors (testnet-19.json)', () => {
  for (const [height, hash, blockHex, prevScripts, prevHeader, filterHex, headerHex, notes] of rows) {
    test(`block ${height}${notes ? ` (${notes})` : ''}: filter and filter header byte-identical`, () => {
      const block = decodeBlock(bytesFromHex(blockHex));
      assert.equal(hashToHex(blockHash(block)), hash);
      const filter = buildBasicFilter(block, prevScripts.map(bytesFromHex));
      assert.equal(bytesToHex(filter), filterHex);
      const header = filterHeader(filterHash(filter), hashFromHex(prevHeader));
      assert.equal(hashToHex(header), headerHex);
      verifyFilter(filter, hashFromHex(prevHeader), hashFromHex(headerHex));
      // Every item matches; the filter parses back to as many values as distinct items.
      const items = basicFilterItems(block, prevScripts.map(bytesFromHex));
      const gcs = basicFilter(filter, blockHash(block));
      assert.equal(gcs.n, new Set(items.map(bytesToHex)).size);
      for (const item of items) assert.ok(gcs.match(item), bytesToHex(item));
      assert.ok(gcs.matchAny([Uint8Array.of(1, 2, 3), ...items.slice(-1)]) || items.length === 0);
    });
  }

  test('the filter header chain links the vector rows where heights follow', () => {
    const byHeight = new Map(rows.map((r) => [r[0], r]));
    for (const [height, , , , prevHeader] of rows) {
      const prev = byHeight.get(height - 1);
      if (prev !== undefined) assert.equal(prevHeader, prev[6]);
    }
    const genesis = rows[0]!;
    const chained = chainFilterHeaders(new Uint8Array(32), [filterHash(bytesFromHex(genesis[5]))]);
    assert.equal(hashToHex(chained[0]!), genesis[6]);
  });
});

describe('Golomb-coded sets', () => {
  const key = new Uint8Array(16).fill(7);
  const items = Array.from({ length: 200 }, (_, i) => Uint8Array.of(i, i >> 8, 0xaa));

  test('members match, non-members mostly do not (false positives near 1/M)', () => {
    const gcs = new Gcs(buildGcs(items, key, BASIC_FILTER_PARAMS), key, BASIC_FILTER_PARAMS);
    assert.equal(gcs.n, 200);
    for (const i of items) assert.ok(gcs.match(i));
    let fp = 0;
    for (let i = 0; i < 20_000; i++) if (gcs.match(Uint8Array.of(i & 0xff, i >> 8, 0xbb, 1))) fp++;
    assert.ok(fp <= 2, `${fp} false positives in 20,000`);
    assert.ok(gcs.matchAny([Uint8Array.of(9), items[150]!]));
    assert.ok(!gcs.matchAny([]));
    const values = gcs.values();
    assert.equal(values.length, 200);
    for (let i = 1; i < values.length; i++) assert.ok(values[i]! >= values[i - 1]!);
    assert.ok(values[199]! < 200 * BASIC_FILTER_PARAMS.m);
  });

  test('the empty set is one zero byte, and matches nothing', () => {
    const empty = buildGcs([], key, BASIC_FILTER_PARAMS);
    assert.deepEqual([...empty], [0]);
    assert.ok(!new Gcs(empty, key, BASIC_FILTER_PARAMS).match(Uint8Array.of(1)));
  });

  test('a declared N the bytes cannot hold, a truncated coding, garbage: BtcBadFilter', () => {
    const isBad = (e: unknown) => isShoalError(e, ErrorCode.BtcBadFilter);
    assert.throws(
      () => new Gcs(Uint8Array.of(0xfe, 0xff, 0xff, 0xff, 0xff, 1, 2), key, BASIC_FILTER_PARAMS),
      isBad,
    );
    assert.throws(() => new Gcs(Uint8Array.of(), key, BASIC_FILTER_PARAMS), isBad);
    assert.throws(() => new Gcs(Uint8Array.of(0xfd, 0x01), key, BASIC_FILTER_PARAMS), isBad);
    // Three items declared, three bytes of all-ones: the unary quotient runs off the end.
    const ones = new Gcs(Uint8Array.of(1, 0xff, 0xff, 0xff), key, BASIC_FILTER_PARAMS);
    assert.throws(() => ones.values(), isBad);
    assert.throws(() => verifyFilter(Uint8Array.of(0), new Uint8Array(32), new Uint8Array(32)), isBad);
  });
});

describe('BIP 157 request ranges', () => {
  test(`getcfilters spans at most BTC_MAX_CFILTERS_RANGE (${BTC_MAX_CFILTERS_RANGE}), getcfheaders ${BTC_MAX_CFHEADERS_PER_MESSAGE}`, () => {
    const bad = (e: unknown) => isShoalError(e, ErrorCode.BtcInvalidArgument);
    checkFilterRange('getcfilters', { startHeight: 1, stopHeight: BTC_MAX_CFILTERS_RANGE });
    assert.throws(
      () => checkFilterRange('getcfilters', { startHeight: 1, stopHeight: BTC_MAX_CFILTERS_RANGE + 1 }),
      bad,
    );
    checkFilterRange('getcfheaders', { startHeight: 0, stopHeight: BTC_MAX_CFHEADERS_PER_MESSAGE - 1 });
    assert.throws(
      () => checkFilterRange('getcfheaders', { startHeight: 0, stopHeight: BTC_MAX_CFHEADERS_PER_MESSAGE }),
      bad,
    );
    assert.throws(() => checkFilterRange('getcfilters', { startHeight: 5, stopHeight: 4 }), bad);
    assert.deepEqual(planFilterRequests('getcfilters', 1, 2500), [
      { startHeight: 1, stopHeight: 1000 },
      { startHeight: 1001, stopHeight: 2000 },
      { startHeight: 2001, stopHeight: 2500 },
    ]);
    assert.deepEqual(planFilterRequests('getcfheaders', 10, 10), [{ startHeight: 10, stopHeight: 10 }]);
    assert.deepEqual(planFilterRequests('getcfheaders', 10, 9), []);
  });
});
