/**
 * The light node's typed events (STYLE §3): readonly, JSON-able payloads with a `type`. Amounts
 * are numbers of base units (satoshis, litoshis): every amount fits a double exactly (21e14 and
 * 84e14 are below 2^53). Hashes are display hex.
 */

/** A header joined the best chain. */
export interface HeaderEvent {
  readonly type: 'header';
  readonly height: number;
  readonly hash: string;
  /** Block time, Unix seconds. */
  readonly time: number;
}

/** A block was fetched (its filter matched a watched script), checked against its header, and scanned. */
export interface BlockEvent {
  readonly type: 'block';
  readonly height: number;
  readonly hash: string;
  readonly txCount: number;
  /** Wallet transactions it confirmed. */
  readonly walletTxids: readonly string[];
  /** Rebuilt from a compact block. */
  readonly compact: boolean;
}

/** A wallet transaction appeared or changed (seen unconfirmed, confirmed, unconfirmed by a reorg). */
export interface TxEvent {
  readonly type: 'tx';
  readonly txid: string;
  readonly confirmed: boolean;
  readonly height: number | undefined;
  /** Net change to the wallet, base units. */
  readonly delta: number;
}

/** The best chain switched branches. */
export interface ReorgEvent {
  readonly type: 'reorg';
  /** Height of the last common block. */
  readonly forkHeight: number;
  readonly disconnected: readonly { readonly height: number; readonly hash: string }[];
  readonly connected: readonly { readonly height: number; readonly hash: string }[];
}

export interface PeerEvent {
  readonly type: 'peer';
  readonly endpoint: string;
  readonly userAgent: string;
}

export interface PeerClosedEvent {
  readonly type: 'peer-closed';
  readonly endpoint: string;
  readonly reason: string;
  /** The peer misbehaved and its address is banned. */
  readonly banned: boolean;
}

/** Headers, filter headers and the wallet scan reached every peer's tip. */
export interface SyncedEvent {
  readonly type: 'synced';
  readonly height: number;
  readonly hash: string;
}

export interface BtcNodeEvents {
  header: HeaderEvent;
  block: BlockEvent;
  tx: TxEvent;
  reorg: ReorgEvent;
  'peer:connected': PeerEvent;
  'peer:disconnected': PeerClosedEvent;
  synced: SyncedEvent;
}
