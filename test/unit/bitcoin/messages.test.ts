import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { BITCOIN_MAINNET, BITCOIN_REGTEST } from '../../../src/bitcoin/chain/index.js';
import { ByteWriter, bytesFromHex, bytesToHex } from '../../../src/bitcoin/codec/index.js';
import {
  BtcFrameDecoder,
  type BtcMessage,
  decodePayload,
  encodeFrame,
  encodeMessage,
  encodePayload,
  FRAME_HEADER_BYTES,
  InvType,
  ipToString,
  ipv4Mapped,
  MAX_PAYLOAD_BYTES,
  maxPayloadBytes,
  PROTOCOL_VERSION,
  ServiceFlags,
} from '../../../src/bitcoin/messages/index.js';
import { decodeBlock, makeCompactBlock } from '../../../src/bitcoin/tx/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import {
  BTC_MAX_ADDR_PER_MESSAGE,
  BTC_MAX_ADDRV2_ADDRESS_BYTES,
  BTC_MAX_BLOCK_TXS,
  BTC_MAX_CFCHECKPT_HEADERS,
  BTC_MAX_CFHEADERS_PER_MESSAGE,
  BTC_MAX_HEADERS_PER_MESSAGE,
  BTC_MAX_INV_ITEMS,
  BTC_MAX_LOCATOR_HASHES,
  BTC_MAX_MESSAGE_BYTES,
  BTC_MAX_USER_AGENT_BYTES,
} from '../../../src/shared/limits.js';

const MAGIC = BITCOIN_REGTEST.magic;
const rows = (
  JSON.parse(
    readFileSync(new URL('../../fixtures/bitcoin/bip158-testnet-19.json', import.meta.url), 'utf8'),
  ) as string[][]
).slice(1);
const block = decodeBlock(bytesFromHex(rows[4]![2]!));
const h32 = (b: number) => new Uint8Array(32).fill(b);
const json = (m: unknown) =>
  JSON.stringify(m, (_k, v) =>
    v instanceof Uint8Array ? bytesToHex(v) : typeof v === 'bigint' ? `${v}n` : v,
  );
const code = (c: string) => (e: unknown) => isShoalError(e) && e.code === c;

const samples: BtcMessage[] = [
  {
    type: 'version',
    version: PROTOCOL_VERSION,
    services: ServiceFlags.Witness | ServiceFlags.CompactFilters,
    timestamp: 1700000000n,
    receiver: { services: 1n, ip: ipv4Mapped('127.0.0.1'), port: 18444 },
    sender: { services: 0n, ip: new Uint8Array(16), port: 0 },
    nonce: 0x1122334455667788n,
    userAgent: '/Shoal:0.1.0/',
    startHeight: 123,
    relay: false,
  },
  { type: 'verack' },
  { type: 'wtxidrelay' },
  { type: 'sendaddrv2' },
  { type: 'sendheaders' },
  { type: 'getaddr' },
  { type: 'sendcmpct', announce: true, version: 2n },
  { type: 'feefilter', feeRate: 1000n },
  { type: 'ping', nonce: 0xffffffffffffffffn },
  { type: 'pong', nonce: 7n },
  { type: 'addr', addresses: [{ time: 1, services: 9n, ip: ipv4Mapped('198.51.100.7'), port: 8333 }] },
  {
    type: 'addrv2',
    addresses: [
      { time: 2, services: 1033n, networkId: 1, address: Uint8Array.of(203, 0, 113, 5), port: 8333 },
      { time: 3, services: 0n, networkId: 4, address: h32(4), port: 0 },
      { time: 4, services: 1n, networkId: 99, address: Uint8Array.of(1, 2, 3), port: 1 },
    ],
  },
  { type: 'inv', items: [{ type: InvType.WitnessBlock, hash: h32(1) }] },
  {
    type: 'getdata',
    items: [
      { type: InvType.Wtx, hash: h32(2) },
      { type: InvType.CompactBlock, hash: h32(3) },
    ],
  },
  { type: 'notfound', items: [] },
  { type: 'getheaders', version: PROTOCOL_VERSION, locator: [h32(5), h32(6)], stopHash: h32(0) },
  { type: 'headers', headers: [BITCOIN_MAINNET.genesisHeader, BITCOIN_REGTEST.genesisHeader] },
  { type: 'block', block },
  { type: 'tx', tx: block.txs[1]! },
  { type: 'getcfilters', filterType: 0, startHeight: 1, stopHash: h32(8) },
  { type: 'cfilter', filterType: 0, blockHash: h32(9), filter: Uint8Array.of(1, 2, 3) },
  { type: 'getcfheaders', filterType: 0, startHeight: 1000, stopHash: h32(10) },
  {
    type: 'cfheaders',
    filterType: 0,
    stopHash: h32(11),
    previousFilterHeader: h32(12),
    filterHashes: [h32(13), h32(14)],
  },
  { type: 'getcfcheckpt', filterType: 0, stopHash: h32(15) },
  { type: 'cfcheckpt', filterType: 0, stopHash: h32(16), filterHeaders: [h32(17)] },
  { type: 'cmpctblock', compact: makeCompactBlock(block, 99n, 2, [0, 2]) },
  { type: 'getblocktxn', blockHash: h32(18), indexes: [1, 2, 5, 300] },
  { type: 'blocktxn', blockHash: h32(19), txs: block.txs.slice(1, 3) },
  { type: 'reject', payload: Uint8Array.of(2, 0x74, 0x78, 0x10) },
  { type: 'unknown', command: 'mempool', payload: new Uint8Array(0) },
  { type: 'unknown', command: 'mwebheader', payload: Uint8Array.of(1, 2) },
];

describe('message payloads', () => {
  for (const m of samples) {
    test(`${m.type === 'unknown' ? m.command : m.type}: encodes and decodes to itself`, () => {
      const { command, payload } = encodePayload(m);
      assert.equal(json(decodePayload(command, payload)), json(m));
      assert.ok(payload.length <= maxPayloadBytes(command));
    });
  }

  test('version: the optional tail of old peers, trailing future fields, a long user agent', () => {
    const full = encodePayload(samples[0]!).payload;
    const short = decodePayload('version', full.subarray(0, 4 + 8 + 8 + 26));
    assert.equal(short.type === 'version' && short.relay, true, 'relay defaults to true');
    assert.equal(short.type === 'version' && short.userAgent, '');
    const longer = decodePayload('version', Uint8Array.of(...full, 1, 2, 3));
    assert.equal(json(longer), json(samples[0]));
    const ua = 'x'.repeat(BTC_MAX_USER_AGENT_BYTES + 1);
    const tooLong = encodePayload({
      ...(samples[0] as Extract<BtcMessage, { type: 'version' }>),
      userAgent: ua,
    }).payload;
    assert.throws(() => decodePayload('version', tooLong), code(ErrorCode.BtcTooLarge));
    const okUa = 'x'.repeat(BTC_MAX_USER_AGENT_BYTES);
    const ok = encodePayload({
      ...(samples[0] as Extract<BtcMessage, { type: 'version' }>),
      userAgent: okUa,
    }).payload;
    assert.equal((decodePayload('version', ok) as { userAgent: string }).userAgent, okUa);
  });

  test('fixed-size messages refuse trailing bytes and short payloads', () => {
    assert.throws(() => decodePayload('ping', new Uint8Array(9)), code(ErrorCode.BtcTrailingData));
    assert.throws(() => decodePayload('ping', new Uint8Array(7)), code(ErrorCode.BtcTruncated));
    assert.throws(() => decodePayload('verack', new Uint8Array(1)), code(ErrorCode.BtcTrailingData));
  });

  test('ip helpers', () => {
    assert.equal(ipToString(ipv4Mapped('203.0.113.9')), '203.0.113.9');
    assert.equal(
      ipToString(Uint8Array.of(0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 1)),
      '2001:db8:0:0:0:0:0:1',
    );
    assert.throws(() => ipv4Mapped('256.1.1.1'), code(ErrorCode.BtcInvalidArgument));
  });
});

/** A payload with CompactSize `n` followed by `n` items of `item` bytes each. */
function counted(prefix: number[], n: number, item: Uint8Array, suffix: number[] = []): Uint8Array {
  const w = new ByteWriter(n * item.length + 64);
  w.bytes(Uint8Array.from(prefix)).compactSize(n);
  for (let i = 0; i < n; i++) w.bytes(item);
  w.bytes(Uint8Array.from(suffix));
  return w.finish();
}

describe('every count bound, crossed by one', () => {
  const cases: [string, number, (n: number) => Uint8Array][] = [
    ['addr', BTC_MAX_ADDR_PER_MESSAGE, (n) => counted([], n, new Uint8Array(30))],
    [
      'addrv2',
      BTC_MAX_ADDR_PER_MESSAGE,
      (n) => counted([], n, Uint8Array.of(0, 0, 0, 0, 0, 1, 4, 1, 2, 3, 4, 0, 0)),
    ],
    ['inv', BTC_MAX_INV_ITEMS, (n) => counted([], n, new Uint8Array(36))],
    ['getdata', BTC_MAX_INV_ITEMS, (n) => counted([], n, new Uint8Array(36))],
    ['notfound', BTC_MAX_INV_ITEMS, (n) => counted([], n, new Uint8Array(36))],
    [
      'getheaders',
      BTC_MAX_LOCATOR_HASHES,
      (n) => counted([1, 0, 0, 0], n, new Uint8Array(32), new Array(32).fill(0)),
    ],
    [
      'headers',
      BTC_MAX_HEADERS_PER_MESSAGE,
      (n) => counted([], n, Uint8Array.of(...BITCOIN_REGTEST.genesisHeader, 0)),
    ],
    [
      'cfheaders',
      BTC_MAX_CFHEADERS_PER_MESSAGE,
      (n) => counted(new Array(65).fill(0), n, new Uint8Array(32)),
    ],
    ['cfcheckpt', BTC_MAX_CFCHECKPT_HEADERS, (n) => counted(new Array(33).fill(0), n, new Uint8Array(32))],
    ['getblocktxn', BTC_MAX_BLOCK_TXS, (n) => counted(new Array(32).fill(0), n, Uint8Array.of(0))],
  ];
  for (const [command, max, make] of cases) {
    test(`${command}: ${max} decode, ${max + 1} is BtcTooLarge`, () => {
      if (command !== 'getblocktxn') assert.doesNotThrow(() => decodePayload(command, make(max)));
      assert.throws(() => decodePayload(command, make(max + 1)), code(ErrorCode.BtcTooLarge));
    });
  }

  test(`getblocktxn: indexes above 0xffff are refused (${BTC_MAX_BLOCK_TXS} would reach them)`, () => {
    assert.doesNotThrow(() =>
      decodePayload('getblocktxn', counted(new Array(32).fill(0), 0x10000, Uint8Array.of(0))),
    );
    assert.throws(
      () => decodePayload('getblocktxn', counted(new Array(32).fill(0), 0x10001, Uint8Array.of(0))),
      code(ErrorCode.BtcBadMessage),
    );
  });

  test(`addrv2: addresses up to ${BTC_MAX_ADDRV2_ADDRESS_BYTES} bytes, known networks at their length`, () => {
    const entry = (net: number, len: number) => {
      const w = new ByteWriter();
      w.compactSize(1).u32le(0).compactSize(0).u8(net).varBytes(new Uint8Array(len)).u16be(0);
      return w.finish();
    };
    assert.doesNotThrow(() => decodePayload('addrv2', entry(200, BTC_MAX_ADDRV2_ADDRESS_BYTES)));
    assert.throws(
      () => decodePayload('addrv2', entry(200, BTC_MAX_ADDRV2_ADDRESS_BYTES + 1)),
      code(ErrorCode.BtcTooLarge),
    );
    assert.throws(() => decodePayload('addrv2', entry(1, 5)), code(ErrorCode.BtcBadMessage));
    assert.doesNotThrow(() => decodePayload('addrv2', entry(2, 16)));
  });

  test(`cmpctblock: short ids plus prefilled above ${BTC_MAX_BLOCK_TXS}`, () => {
    const w = new ByteWriter();
    w.bytes(BITCOIN_REGTEST.genesisHeader).u64le(0n).compactSize(BTC_MAX_BLOCK_TXS);
    w.bytes(new Uint8Array(6 * BTC_MAX_BLOCK_TXS))
      .compactSize(1)
      .compactSize(0)
      .bytes(bytesFromHex(rows[0]![2]!).subarray(81));
    assert.throws(() => decodePayload('cmpctblock', w.finish()), code(ErrorCode.BtcTooLarge));
  });

  test('a count the remaining bytes cannot hold is refused before allocating', () => {
    assert.throws(() => decodePayload('inv', Uint8Array.of(0xfd, 0x50, 0xc3)), code(ErrorCode.BtcTruncated));
  });
});

describe('BtcFrameDecoder', () => {
  const frames = samples.map((m) => encodeMessage(MAGIC, m));
  const stream = new Uint8Array(Buffer.concat(frames));

  test('whole stream, one byte at a time, and random splits: the same messages', () => {
    const all = new BtcFrameDecoder({ magic: MAGIC }).push(stream);
    assert.equal(json(all), json(samples));
    const d = new BtcFrameDecoder({ magic: MAGIC });
    const one: BtcMessage[] = [];
    for (let i = 0; i < stream.length; i++) {
      one.push(...d.push(stream.subarray(i, i + 1)));
      if (i === 10) assert.equal(d.bufferedBytes, 11, 'a partial header waits');
    }
    assert.equal(json(one), json(samples));
    assert.equal(d.bytesConsumed, stream.length);
    assert.equal(d.bufferedBytes, 0);
    let seed = 7;
    const split = new BtcFrameDecoder({ magic: MAGIC });
    const got: BtcMessage[] = [];
    for (let at = 0; at < stream.length; ) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const n = 1 + (seed % 700);
      got.push(...split.push(stream.subarray(at, at + n)));
      at += n;
    }
    assert.equal(json(got), json(samples));
  });

  test('a partial payload waits', () => {
    const d = new BtcFrameDecoder({ magic: MAGIC });
    const f = frames[0]!;
    assert.deepEqual(d.push(f.subarray(0, FRAME_HEADER_BYTES + 5)), []);
    assert.equal(d.bufferedBytes, FRAME_HEADER_BYTES + 5);
    assert.equal(d.push(f.subarray(FRAME_HEADER_BYTES + 5)).length, 1);
  });

  test("another network's magic fails at its first wrong byte, and stays failed", () => {
    const d = new BtcFrameDecoder({ magic: MAGIC });
    const main = encodeMessage(BITCOIN_MAINNET.magic, { type: 'verack' });
    assert.throws(() => d.push(main.subarray(0, 1)), code(ErrorCode.BtcBadMagic));
    assert.throws(() => d.push(frames[1]!), code(ErrorCode.BtcBadMagic));
    assert.ok(d.error);
  });

  test('bad commands, bad checksums, bad payloads carry the stream offset', () => {
    const bad = frames[1]!.slice();
    bad[4] = 0x01;
    assert.throws(() => new BtcFrameDecoder({ magic: MAGIC }).push(bad), code(ErrorCode.BtcBadCommand));
    const gap = encodeFrame(MAGIC, 'verack', new Uint8Array(0));
    gap[11] = 0x41; // a letter after the NUL padding began
    assert.throws(() => new BtcFrameDecoder({ magic: MAGIC }).push(gap), code(ErrorCode.BtcBadCommand));
    const sum = frames[8]!.slice();
    sum[20]! ^= 1;
    const d = new BtcFrameDecoder({ magic: MAGIC });
    assert.throws(
      () => d.push(Uint8Array.of(...frames[1]!, ...sum)),
      (e: unknown) =>
        code(ErrorCode.BtcBadChecksum)(e) &&
        (e as { details: { offset: number } }).details.offset === frames[1]!.length,
    );
    const shortPing = encodeFrame(MAGIC, 'ping', new Uint8Array(7));
    assert.throws(
      () => new BtcFrameDecoder({ magic: MAGIC }).push(shortPing),
      (e: unknown) =>
        code(ErrorCode.BtcTruncated)(e) && (e as { details: { command: string } }).details.command === 'ping',
    );
    assert.throws(
      () => encodeFrame(MAGIC, 'thirteen-char', new Uint8Array(0)),
      code(ErrorCode.BtcBadCommand),
    );
  });

  test(`payload bounds: per command and BTC_MAX_MESSAGE_BYTES (${BTC_MAX_MESSAGE_BYTES}), before buffering`, () => {
    const header = (command: string, length: number) => {
      const f = encodeFrame(MAGIC, command, new Uint8Array(0));
      new DataView(f.buffer).setUint32(16, length, true);
      return f;
    };
    for (const [command, max] of Object.entries(MAX_PAYLOAD_BYTES)) {
      const d = new BtcFrameDecoder({ magic: MAGIC });
      assert.throws(() => d.push(header(command, max! + 1)), code(ErrorCode.BtcFrameTooLarge), command);
    }
    const d = new BtcFrameDecoder({ magic: MAGIC });
    assert.deepEqual(d.push(header('block', BTC_MAX_MESSAGE_BYTES)), []);
    assert.equal(d.bufferedBytes, FRAME_HEADER_BYTES);
    assert.throws(
      () => new BtcFrameDecoder({ magic: MAGIC }).push(header('block', BTC_MAX_MESSAGE_BYTES + 1)),
      code(ErrorCode.BtcFrameTooLarge),
    );
    assert.throws(
      () => new BtcFrameDecoder({ magic: MAGIC }).push(header('whatever', BTC_MAX_MESSAGE_BYTES + 1)),
      code(ErrorCode.BtcFrameTooLarge),
    );
    const small = new BtcFrameDecoder({ magic: MAGIC, maxPayloadBytes: 100 });
    assert.throws(() => small.push(header('tx', 101)), code(ErrorCode.BtcFrameTooLarge));
    assert.throws(
      () =>
        encodePayload({
          type: 'unknown',
          command: 'big',
          payload: new Uint8Array(BTC_MAX_MESSAGE_BYTES + 1),
        }),
      code(ErrorCode.BtcTooLarge),
    );
  });
});
