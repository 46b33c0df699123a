/**
 * Payload encoding and decoding by command, and the largest payload each command may declare
 * (checked by the frame decoder before it buffers anything).
 */
import { ErrorCode } from '../../shared/errors.js';
import {
  BTC_MAX_ADDR_PER_MESSAGE,
  BTC_MAX_ADDRV2_ADDRESS_BYTES,
  BTC_MAX_CFCHECKPT_HEADERS,
  BTC_MAX_CFHEADERS_PER_MESSAGE,
  BTC_MAX_HEADERS_PER_MESSAGE,
  BTC_MAX_INV_ITEMS,
  BTC_MAX_LOCATOR_HASHES,
  BTC_MAX_MESSAGE_BYTES,
  BTC_MAX_USER_AGENT_BYTES,
} from '../../shared/limits.js';
import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { BtcError } from '../errors.js';
import { readBlock, writeBlock } from '../tx/block.js';
import { readTransaction, writeTransaction } from '../tx/transaction.js';
import { readAddr, readAddrV2, writeAddr, writeAddrV2 } from './addr.js';
import {
  readBlockTxn,
  readCmpctBlock,
  readGetBlockTxn,
  writeBlockTxn,
  writeCmpctBlock,
  writeGetBlockTxn,
} from './compact.js';
import { readVersion, writeVersion } from './control.js';
import {
  readCfcheckpt,
  readCfheaders,
  readCfilter,
  readFilterRequest,
  readGetCfcheckpt,
  writeFilterMessage,
} from './filters.js';
import {
  readGetHeaders,
  readHeaders,
  readInv,
  writeGetHeaders,
  writeHeaders,
  writeInv,
} from './inventory.js';
import type { BtcCommand, BtcMessage } from './types.js';

/** Largest CompactSize, in bytes. */
const CS = 9;
/** Room kept in a `version` for fields later protocol versions may append, in bytes. */
const VERSION_SLACK_BYTES = 256;

/**
 * The largest payload each known command may declare, in bytes, derived from its layout and
 * bounds; commands not listed (block, tx, compact blocks, cfilter, unknown ones) are bounded by
 * {@link BTC_MAX_MESSAGE_BYTES}.
 */
export const MAX_PAYLOAD_BYTES: Readonly<Partial<Record<string, number>>> = Object.freeze({
  version: 4 + 8 + 8 + 26 + 26 + 8 + CS + BTC_MAX_USER_AGENT_BYTES + 4 + 1 + VERSION_SLACK_BYTES,
  verack: 0,
  wtxidrelay: 0,
  sendaddrv2: 0,
  sendheaders: 0,
  getaddr: 0,
  sendcmpct: 9,
  feefilter: 8,
  ping: 8,
  pong: 8,
  addr: CS + BTC_MAX_ADDR_PER_MESSAGE * 30,
  addrv2: CS + BTC_MAX_ADDR_PER_MESSAGE * (4 + CS + 1 + 3 + BTC_MAX_ADDRV2_ADDRESS_BYTES + 2),
  inv: CS + BTC_MAX_INV_ITEMS * 36,
  getdata: CS + BTC_MAX_INV_ITEMS * 36,
  notfound: CS + BTC_MAX_INV_ITEMS * 36,
  getheaders: 4 + CS + BTC_MAX_LOCATOR_HASHES * 32 + 32,
  headers: CS + BTC_MAX_HEADERS_PER_MESSAGE * (80 + CS),
  getcfilters: 1 + 4 + 32,
  getcfheaders: 1 + 4 + 32,
  cfheaders: 1 + 32 + 32 + CS + BTC_MAX_CFHEADERS_PER_MESSAGE * 32,
  getcfcheckpt: 1 + 32,
  cfcheckpt: 1 + 32 + CS + BTC_MAX_CFCHECKPT_HEADERS * 32,
});

/** The payload bound of `command`: its own, or the general one. */
export function maxPayloadBytes(command: string): number {
  return Math.min(MAX_PAYLOAD_BYTES[command] ?? BTC_MAX_MESSAGE_BYTES, BTC_MAX_MESSAGE_BYTES);
}

const EMPTY = new Set<string>(['verack', 'wtxidrelay', 'sendaddrv2', 'sendheaders', 'getaddr']);

/**
 * Decodes the payload of `command`. Unknown commands come back raw. Throws `BtcError` (with the
 * offset inside the payload) when a known command's payload breaks its layout or bounds. Byte
 * fields may be views of `payload`: pass a buffer the caller owns.
 */
export function decodePayload(command: string, payload: Uint8Array): BtcMessage {
  const r = new ByteReader(payload);
  const msg = read(command, r);
  r.expectEnd(command);
  return msg;
}

function read(command: string, r: ByteReader): BtcMessage {
  if (EMPTY.has(command)) return { type: command as 'verack' };
  switch (command) {
    case 'version':
      return readVersion(r);
    case 'sendcmpct': {
      const announce = r.u8('announce') !== 0;
      return { type: 'sendcmpct', announce, version: r.u64le('version') };
    }
    case 'feefilter':
      return { type: 'feefilter', feeRate: r.i64le('feerate') };
    case 'ping':
    case 'pong':
      return { type: command, nonce: r.u64le('nonce') };
    case 'addr':
      return { type: 'addr', addresses: readAddr(r) };
    case 'addrv2':
      return { type: 'addrv2', addresses: readAddrV2(r) };
    case 'inv':
    case 'getdata':
    case 'notfound':
      return { type: command, items: readInv(r, command) };
    case 'getheaders':
      return { type: 'getheaders', ...readGetHeaders(r) };
    case 'headers':
      return { type: 'headers', headers: readHeaders(r) };
    case 'block':
      return { type: 'block', block: readBlock(r) };
    case 'tx':
      return { type: 'tx', tx: readTransaction(r) };
    case 'getcfilters':
    case 'getcfheaders':
      return readFilterRequest(r, command);
    case 'cfilter':
      return readCfilter(r);
    case 'cfheaders':
      return readCfheaders(r);
    case 'getcfcheckpt':
      return readGetCfcheckpt(r);
    case 'cfcheckpt':
      return readCfcheckpt(r);
    case 'cmpctblock':
      return { type: 'cmpctblock', compact: readCmpctBlock(r) };
    case 'getblocktxn':
      return { type: 'getblocktxn', ...readGetBlockTxn(r) };
    case 'blocktxn':
      return { type: 'blocktxn', ...readBlockTxn(r) };
    case 'reject':
      return { type: 'reject', payload: r.bytesView(r.remaining, 'reject') };
    default:
      return { type: 'unknown', command, payload: r.bytesView(r.remaining, 'payload') };
  }
}

/** The command and payload of a message. */
export function encodePayload(msg: BtcMessage): { command: string; payload: Uint8Array } {
  const w = new ByteWriter(64);
  const command: string = msg.type === 'unknown' ? msg.command : msg.type;
  switch (msg.type) {
    case 'verack':
    case 'wtxidrelay':
    case 'sendaddrv2':
    case 'sendheaders':
    case 'getaddr':
      break;
    case 'version':
      writeVersion(w, msg);
      break;
    case 'sendcmpct':
      w.u8(msg.announce ? 1 : 0).u64le(msg.version);
      break;
    case 'feefilter':
      w.i64le(msg.feeRate);
      break;
    case 'ping':
    case 'pong':
      w.u64le(msg.nonce);
      break;
    case 'addr':
      writeAddr(w, msg.addresses);
      break;
    case 'addrv2':
      writeAddrV2(w, msg.addresses);
      break;
    case 'inv':
    case 'getdata':
    case 'notfound':
      writeInv(w, msg.items);
      break;
    case 'getheaders':
      writeGetHeaders(w, msg.version, msg.locator, msg.stopHash);
      break;
    case 'headers':
      writeHeaders(w, msg.headers);
      break;
    case 'block':
      writeBlock(w, msg.block);
      break;
    case 'tx':
      writeTransaction(w, msg.tx);
      break;
    case 'getcfilters':
    case 'getcfheaders':
    case 'cfilter':
    case 'cfheaders':
    case 'getcfcheckpt':
    case 'cfcheckpt':
      writeFilterMessage(w, msg);
      break;
    case 'cmpctblock':
      writeCmpctBlock(w, msg.compact);
      break;
    case 'getblocktxn':
      writeGetBlockTxn(w, msg.blockHash, msg.indexes);
      break;
    case 'blocktxn':
      writeBlockTxn(w, msg.blockHash, msg.txs);
      break;
    case 'reject':
    case 'unknown':
      w.bytes(msg.payload);
      break;
    default:
      return assertNever(msg);
  }
  const payload = w.finish();
  if (payload.length > maxPayloadBytes(command)) {
    throw new BtcError(
      ErrorCode.BtcTooLarge,
      `${command}: payload of ${payload.length} bytes exceeds ${maxPayloadBytes(command)}`,
      {
        command,
      },
    );
  }
  return { command, payload };
}

function assertNever(x: never): never {
  throw new Error(`unhandled message ${JSON.stringify(x)}`);
}

/** Commands with their own decoder. */
export const KNOWN_COMMANDS: ReadonlySet<BtcCommand> = new Set<BtcCommand>([
  'version',
  'verack',
  'wtxidrelay',
  'sendaddrv2',
  'sendheaders',
  'getaddr',
  'sendcmpct',
  'feefilter',
  'ping',
  'pong',
  'addr',
  'addrv2',
  'inv',
  'getdata',
  'notfound',
  'getheaders',
  'headers',
  'block',
  'tx',
  'getcfilters',
  'cfilter',
  'getcfheaders',
  'cfheaders',
  'getcfcheckpt',
  'cfcheckpt',
  'cmpctblock',
  'getblocktxn',
  'blocktxn',
  'reject',
]);
