/**
 * The serve path of one torrent: a `read-block` from the engine becomes a `piece` message.
 * Whole pieces are read once into the {@link PieceReadCache} (leased blocks, reused buffers), a
 * block waits for its turn at the session's upload limit, and it counts as sent only when the
 * stream took it below its high-water mark — the peer's reading speed is the back-pressure.
 */
import type { EngineAction, PeerKey, TorrentEngine } from '../engine/index.js';
import { type BlockLease, PieceReadCache } from '../storage/read-cache.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';
import type { SessionContext } from './context.js';
import type { PeerConnection } from './peers/peer-connection.js';

/** Bytes of whole pieces kept in memory to serve uploads. */
export const READ_CACHE_BYTES = 16 * 1024 * 1024;

export interface PieceServerHost {
  readonly ctx: SessionContext;
  readonly storage: TorrentStorage;
  readonly engine: TorrentEngine;
  isClosed(): boolean;
  run(actions: EngineAction[]): void;
  /** The connection of a peer still attached, if any. */
  connection(key: PeerKey): PeerConnection | undefined;
  /** Upload tokens for a block (the torrent's limit, then the session's). */
  acquireUp(bytes: number, cancelled: () => boolean): Promise<void> | undefined;
  warn(message: string, error: Error): void;
}

export class PieceServer {
  readonly #host: PieceServerHost;
  readonly #cache: PieceReadCache;

  constructor(host: PieceServerHost, pieceLength: number) {
    this.#host = host;
    this.#cache = new PieceReadCache(READ_CACHE_BYTES, pieceLength);
  }

  /** Piece `index` changed on disk (verified just now): cached copies are stale. */
  invalidate(index: number): void {
    this.#cache.invalidate(index);
  }

  clear(): void {
    this.#cache.clear();
  }

  /** Serves one `read-block` action. */
  async serve(key: PeerKey, piece: number, offset: number, length: number): Promise<void> {
    const h = this.#host;
    const block = { piece, offset, length };
    let lease: BlockLease;
    try {
      lease = await this.#cache.read(piece, offset, length, (i, into) => h.storage.readPiece(i, into));
    } catch (e) {
      h.warn(`read failed for piece ${piece}`, e as Error);
      if (!h.isClosed()) h.run(h.engine.onReadFailed(key, block, h.ctx.now()));
      return;
    }
    // Upload limit: wait for the block's turn at the session's tokens.
    const turn = h.acquireUp(length, () => h.isClosed());
    if (turn !== undefined) {
      await turn;
      if (h.isClosed()) {
        lease.release();
        return;
      }
    }
    const conn = h.connection(key);
    if (conn === undefined || h.isClosed()) {
      lease.release();
      return;
    }
    // The block's memory is reused once the stream handed it to the network (or dropped it).
    if (!conn.sendPiece(piece, offset, lease.data, lease.release)) await conn.whenWritable();
    if (h.isClosed() || h.connection(key) === undefined) return;
    h.run(h.engine.onBlockSent(key, block, h.ctx.now()));
  }
}
