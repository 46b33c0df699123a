/**
 * The Bitcoin P2P messages Shoal speaks, as one discriminated union. Hashes are in internal byte
 * order; 64-bit integers are bigints. Every decoded message re-encodes to the same bytes, except
 * where the protocol is lenient on input (a `version` without its optional tail, a nonzero
 * boolean other than 1).
 */
import type { Block } from '../tx/block.js';
import type { CompactBlock } from '../tx/compact-block.js';
import type { Transaction } from '../tx/transaction.js';

/** The protocol version Shoal speaks: 70016, the first with `wtxidrelay` (BIP 339). */
export const PROTOCOL_VERSION = 70016;

/** Service bits of the `version` message and addresses. */
export const ServiceFlags = {
  Network: 1n,
  Bloom: 1n << 2n,
  Witness: 1n << 3n,
  /** BIP 157/158: serves compact filters. */
  CompactFilters: 1n << 6n,
  /** BIP 159: serves the last 288 blocks. */
  NetworkLimited: 1n << 10n,
} as const;

/** Inventory types of `inv`, `getdata`, `notfound` (BIP 144 adds the witness flag, BIP 339 `MSG_WTX`). */
export const InvType = {
  Error: 0,
  Tx: 1,
  Block: 2,
  FilteredBlock: 3,
  CompactBlock: 4,
  Wtx: 5,
  WitnessTx: 0x40000001,
  WitnessBlock: 0x40000002,
} as const;

/** BIP 155 network ids and their address lengths in bytes. */
export const AddrV2Network = {
  IPv4: 1,
  IPv6: 2,
  TorV2: 3,
  TorV3: 4,
  I2P: 5,
  CJDNS: 6,
  Yggdrasil: 7,
} as const;

/** Address length of each known BIP 155 network id. */
export const ADDRV2_LENGTHS: Readonly<Record<number, number>> = {
  1: 4,
  2: 16,
  3: 10,
  4: 32,
  5: 32,
  6: 16,
  7: 16,
};

/** A network address as the `version` message and `addr` carry it: IPv6, or IPv4 mapped into ::ffff:0:0/96. */
export interface NetAddress {
  readonly services: bigint;
  /** 16 bytes. */
  readonly ip: Uint8Array;
  readonly port: number;
}

/** An `addr` entry: an address and when it was last seen (Unix seconds). */
export interface AddrEntry extends NetAddress {
  readonly time: number;
}

/** An `addrv2` entry (BIP 155). Entries of unknown networks are kept; callers should ignore them. */
export interface AddrV2Entry {
  readonly time: number;
  readonly services: bigint;
  readonly networkId: number;
  readonly address: Uint8Array;
  readonly port: number;
}

/** An inventory vector. */
export interface InvItem {
  readonly type: number;
  readonly hash: Uint8Array;
}

export interface VersionMessage {
  readonly type: 'version';
  readonly version: number;
  readonly services: bigint;
  /** Sender's clock, Unix seconds. */
  readonly timestamp: bigint;
  readonly receiver: NetAddress;
  readonly sender: NetAddress;
  readonly nonce: bigint;
  readonly userAgent: string;
  readonly startHeight: number;
  /** BIP 37: announce transactions to this peer. A light node that only wants blocks sends false. */
  readonly relay: boolean;
}

export type BtcMessage =
  | VersionMessage
  | { readonly type: 'verack' }
  | { readonly type: 'wtxidrelay' }
  | { readonly type: 'sendaddrv2' }
  | { readonly type: 'sendheaders' }
  | { readonly type: 'getaddr' }
  | { readonly type: 'sendcmpct'; readonly announce: boolean; readonly version: bigint }
  | { readonly type: 'feefilter'; readonly feeRate: bigint }
  | { readonly type: 'ping'; readonly nonce: bigint }
  | { readonly type: 'pong'; readonly nonce: bigint }
  | { readonly type: 'addr'; readonly addresses: readonly AddrEntry[] }
  | { readonly type: 'addrv2'; readonly addresses: readonly AddrV2Entry[] }
  | { readonly type: 'inv'; readonly items: readonly InvItem[] }
  | { readonly type: 'getdata'; readonly items: readonly InvItem[] }
  | { readonly type: 'notfound'; readonly items: readonly InvItem[] }
  | {
      readonly type: 'getheaders';
      readonly version: number;
      readonly locator: readonly Uint8Array[];
      readonly stopHash: Uint8Array;
    }
  /** Each header is its 80 serialized bytes. */
  | { readonly type: 'headers'; readonly headers: readonly Uint8Array[] }
  | { readonly type: 'block'; readonly block: Block }
  | { readonly type: 'tx'; readonly tx: Transaction }
  | {
      readonly type: 'getcfilters';
      readonly filterType: number;
      readonly startHeight: number;
      readonly stopHash: Uint8Array;
    }
  | {
      readonly type: 'cfilter';
      readonly filterType: number;
      readonly blockHash: Uint8Array;
      readonly filter: Uint8Array;
    }
  | {
      readonly type: 'getcfheaders';
      readonly filterType: number;
      readonly startHeight: number;
      readonly stopHash: Uint8Array;
    }
  | {
      readonly type: 'cfheaders';
      readonly filterType: number;
      readonly stopHash: Uint8Array;
      readonly previousFilterHeader: Uint8Array;
      readonly filterHashes: readonly Uint8Array[];
    }
  | { readonly type: 'getcfcheckpt'; readonly filterType: number; readonly stopHash: Uint8Array }
  | {
      readonly type: 'cfcheckpt';
      readonly filterType: number;
      readonly stopHash: Uint8Array;
      readonly filterHeaders: readonly Uint8Array[];
    }
  | { readonly type: 'cmpctblock'; readonly compact: CompactBlock }
  /** Absolute transaction indexes (decoded from BIP 152's differential encoding). */
  | { readonly type: 'getblocktxn'; readonly blockHash: Uint8Array; readonly indexes: readonly number[] }
  | { readonly type: 'blocktxn'; readonly blockHash: Uint8Array; readonly txs: readonly Transaction[] }
  /** BIP 61 `reject`: obsolete, kept raw and ignored. */
  | { readonly type: 'reject'; readonly payload: Uint8Array }
  /** A command Shoal does not decode, with its raw payload. */
  | { readonly type: 'unknown'; readonly command: string; readonly payload: Uint8Array };

/** The command string of each message type (the type itself, except `unknown`). */
export type BtcCommand = Exclude<BtcMessage['type'], 'unknown'>;
