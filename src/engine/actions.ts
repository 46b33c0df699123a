/**
 * The engine's contract with its runtime: peers are opaque {@link PeerKey}s, and every input
 * returns a list of {@link EngineAction}s — messages to send, connections to close or ban, blocks
 * to write or read, pieces to verify, and {@link EngineEvent}s for the session to publish.
 */
import type { ShoalError } from '../shared/errors.js';
import type { EncodableMessage } from '../wire/index.js';

/** An opaque, stable identifier of one peer connection, chosen by the runtime. */
export type PeerKey = string;

/** Why the engine closes a connection. */
export type CloseReason =
  /** A bitfield of the wrong size or with spare bits set (BEP 3). */
  | 'bad-bitfield'
  /** A second bitfield / have all / have none, or one after other messages (BEP 3, BEP 6). */
  | 'duplicate-bitfield'
  /** A `have` (or other piece index) outside the torrent. */
  | 'have-out-of-range'
  /** A BEP 6 message (have all/none, suggest, reject, allowed fast) without the fast extension. */
  | 'fast-extension-violation'
  /** Blocks we never asked for (BEP 6: MUST close; without it after MAX_UNREQUESTED_BLOCKS). */
  | 'unrequested-block'
  /** More than MAX_REQUESTS_WHILE_CHOKED requests while we choke the peer. */
  | 'requests-while-choked'
  /** More than MAX_INVALID_REQUESTS requests for bytes outside the torrent or that we lack. */
  | 'invalid-request'
  /** More than MAX_QUEUED_PEER_REQUESTS requests queued, without BEP 6 to reject them. */
  | 'request-flood'
  /** More than MAX_UNEXPECTED_REJECTS rejects of requests we never sent (BEP 6: SHOULD close). */
  | 'unexpected-reject'
  /** A message that makes no sense on an established connection (a second handshake). */
  | 'protocol-error'
  /** We want nothing more and the peer has everything: neither side needs the other. */
  | 'redundant';

/**
 * Why an address is banned, always on evidence: it was the only sender of a piece that failed
 * (`sole-sender`), one of its blocks differed from the copy that passed (`smart-ban`), or a block
 * failed its BEP 52 leaf hash (`bad-block`).
 */
export type BanReason = 'sole-sender' | 'smart-ban' | 'bad-block';

/** Events for the session to publish (it alone emits them). */
export type EngineEvent =
  | { readonly type: 'piece:verified'; readonly index: number }
  /** A piece failed its hash check; `contributors` are the blame ids (addresses) of its senders. */
  | { readonly type: 'piece:failed'; readonly index: number; readonly contributors: readonly string[] }
  | { readonly type: 'peer:snubbed'; readonly peer: PeerKey }
  | { readonly type: 'peer:unsnubbed'; readonly peer: PeerKey };

/** What the engine asks the runtime to do. */
export type EngineAction =
  /** Encode `msg` and write it to the peer's socket. */
  | { readonly type: 'send'; readonly peer: PeerKey; readonly msg: EncodableMessage }
  /** Close the connection (the engine already forgot the peer). */
  | {
      readonly type: 'close';
      readonly peer: PeerKey;
      readonly reason: CloseReason;
      readonly error?: ShoalError;
    }
  /**
   * Refuse `address` (a blame id: the runtime's address of a peer) from now on and close its
   * connections; the engine already forgot its peers. `evidence` says why, in words.
   */
  | { readonly type: 'ban'; readonly address: string; readonly reason: BanReason; readonly evidence: string }
  /**
   * Write `data` at `offset` of `piece` (buffer it, or write it in place — it is unverified).
   * `data` is a view into the frame decoder's buffer: write or copy it before the next push.
   */
  | {
      readonly type: 'write-block';
      readonly piece: number;
      readonly offset: number;
      readonly data: Uint8Array;
      readonly peer: PeerKey;
    }
  /**
   * Read `length` bytes at `offset` of `piece` and send them to `peer` as a `piece` message, then
   * call `onBlockSent` (when the socket accepted it: that is the back-pressure), or
   * `onReadFailed`.
   */
  | {
      readonly type: 'read-block';
      readonly peer: PeerKey;
      readonly piece: number;
      readonly offset: number;
      readonly length: number;
    }
  /**
   * Every block of `index` was handed out in `write-block`s: once they are written, hash the
   * piece and call `onPieceVerified(index, ok)`.
   */
  | { readonly type: 'piece-complete'; readonly index: number }
  /** Every wanted piece is verified (emitted each time the torrent becomes finished). */
  | { readonly type: 'done' }
  | { readonly type: 'event'; readonly event: EngineEvent };
