/**
 * Fuzz target for the Bitcoin layer: the P2P frame decoder (in input-derived chunks) and every
 * payload decoder on the raw input, plus transactions, blocks, filters and the header file format.
 * A decoded message must encode and decode back to itself.
 */
import { readFileSync } from 'node:fs';
import { BITCOIN_REGTEST, decodeHeaderFile } from '../src/bitcoin/chain/index.js';
import { bytesFromHex, bytesToHex } from '../src/bitcoin/codec/index.js';
import { BASIC_FILTER_PARAMS, Gcs } from '../src/bitcoin/filters/index.js';
import {
  BtcFrameDecoder,
  type BtcMessage,
  decodePayload,
  encodeMessage,
  encodePayload,
  InvType,
  ipv4Mapped,
  KNOWN_COMMANDS,
  PROTOCOL_VERSION,
} from '../src/bitcoin/messages/index.js';
import { decodeBlock, decodeTransaction, makeCompactBlock } from '../src/bitcoin/tx/index.js';
import { isShoalError } from '../src/shared/errors.js';
import type { FuzzTarget } from './target.js';

const MAGIC = BITCOIN_REGTEST.magic;
const COMMANDS = [...KNOWN_COMMANDS];

function sampleMessages(): BtcMessage[] {
  const rows = JSON.parse(
    readFileSync(new URL('../test/fixtures/bitcoin/bip158-testnet-19.json', import.meta.url), 'utf8'),
  ) as string[][];
  const block = decodeBlock(bytesFromHex(rows[5]![2]!));
  const h = (b: number) => new Uint8Array(32).fill(b);
  return [
    {
      type: 'version',
      version: PROTOCOL_VERSION,
      services: 1033n,
      timestamp: 1n,
      receiver: { services: 0n, ip: ipv4Mapped('127.0.0.1'), port: 1 },
      sender: { services: 0n, ip: new Uint8Array(16), port: 0 },
      nonce: 5n,
      userAgent: '/fuzz/',
      startHeight: 0,
      relay: true,
    },
    { type: 'verack' },
    { type: 'sendcmpct', announce: false, version: 2n },
    { type: 'ping', nonce: 1n },
    { type: 'addr', addresses: [{ time: 1, services: 1n, ip: ipv4Mapped('192.0.2.1'), port: 8333 }] },
    {
      type: 'addrv2',
      addresses: [{ time: 1, services: 1n, networkId: 1, address: Uint8Array.of(192, 0, 2, 1), port: 1 }],
    },
    { type: 'inv', items: [{ type: InvType.Block, hash: h(1) }] },
    { type: 'getheaders', version: 70016, locator: [h(2)], stopHash: h(0) },
    { type: 'headers', headers: [BITCOIN_REGTEST.genesisHeader] },
    { type: 'block', block },
    { type: 'tx', tx: block.txs[1] ?? block.txs[0]! },
    { type: 'cfilter', filterType: 0, blockHash: h(3), filter: Uint8Array.of(1, 0x80, 0, 0) },
    { type: 'cfheaders', filterType: 0, stopHash: h(4), previousFilterHeader: h(5), filterHashes: [h(6)] },
    { type: 'cfcheckpt', filterType: 0, stopHash: h(7), filterHeaders: [h(8)] },
    { type: 'cmpctblock', compact: makeCompactBlock(block, 3n, 2) },
    { type: 'getblocktxn', blockHash: h(9), indexes: [0, 3] },
    { type: 'blocktxn', blockHash: h(9), txs: block.txs.slice(0, 1) },
  ];
}

function json(m: unknown): string {
  return JSON.stringify(m, (_k, v) =>
    v instanceof Uint8Array ? bytesToHex(v) : typeof v === 'bigint' ? `${v}n` : v,
  );
}

function checkRoundTrip(m: BtcMessage): void {
  const { command, payload } = encodePayload(m);
  const again = decodePayload(command, payload);
  if (json(again) !== json(m)) throw new Error(`${command} did not round trip`);
}

function guard(f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!isShoalError(e)) throw e;
  }
}

export const target: FuzzTarget = {
  seeds() {
    const msgs = sampleMessages();
    const frames = msgs.map((m) => encodeMessage(MAGIC, m));
    return [new Uint8Array(Buffer.concat(frames)), ...frames, ...msgs.map((m) => encodePayload(m).payload)];
  },
  run(input) {
    // The frame decoder, in chunks whose size the input picks.
    const step = 1 + ((input[0] ?? 0) % 61);
    const d = new BtcFrameDecoder({ magic: MAGIC, maxPayloadBytes: 1 << 16 });
    guard(() => {
      for (let at = 0; at < input.length; at += step)
        for (const m of d.push(input.subarray(at, at + step))) checkRoundTrip(m);
    });
    // The raw input as the payload of three commands its last bytes pick.
    for (let k = 1; k <= 3; k++) {
      const command = COMMANDS[(input[input.length - k] ?? k) % COMMANDS.length]!;
      guard(() => checkRoundTrip(decodePayload(command, input)));
    }
    guard(() => decodeTransaction(input));
    guard(() => decodeBlock(input));
    guard(() => {
      const gcs = new Gcs(input, new Uint8Array(16), BASIC_FILTER_PARAMS);
      gcs.matchAny([Uint8Array.of(1), input.subarray(0, 8)]);
    });
    guard(() => decodeHeaderFile(input, BITCOIN_REGTEST));
  },
};
