/**
 * BEP 52 hash messages of one torrent, at run time:
 * - answering peers' hash requests (from the layers we hold, or leaf hashes computed from disk);
 * - fetching the piece layers we lack (a v2 torrent added by magnet has only `pieces root`s), and
 *   trusting them only once they hash up to the root;
 * - naming the senders of bad blocks of a failed v2 piece from its leaf hashes, so that only they
 *   are banned (see {@link V2Hashes.startBlame}).
 */
import type { PeerKey } from '../engine/index.js';
import {
  hashesForRequest,
  log2,
  type Metainfo,
  nextPow2,
  padHash,
  treeLayersFrom,
  verifyHashes,
} from '../metainfo/index.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { sha256, toHex } from '../shared/hash.js';
import { BLOCK_BYTES } from '../shared/limits.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';
import type { WireMessage } from '../wire/index.js';
import type { LivePeer } from './peers/torrent-peers.js';
import { HASH_REQUEST_MAX_LENGTH, type HashRequestFields, PieceLayers } from './piece-layers.js';

/** Time a peer has to answer a leaf-hash request before another is asked. */
export const BLAME_TIMEOUT_MS = 20_000;

interface Blame {
  readonly index: number;
  readonly req: HashRequestFields;
  readonly root: Uint8Array;
  readonly blocks: number;
  /** Who sent each block (their blame ids: addresses). */
  readonly senders: readonly (string | undefined)[];
  /** Our hashes of the blocks as received. */
  readonly leaves: readonly Uint8Array[];
  readonly asked: Set<PeerKey>;
  peer?: PeerKey;
  at: number;
}

/** What the hash exchange needs from its torrent. */
export interface V2HashesHost {
  readonly metainfo: Metainfo;
  readonly storage: TorrentStorage;
  now(): number;
  peers(): Iterable<LivePeer>;
  has(key: PeerKey): boolean;
  /** Whether piece `index` is verified. */
  have(index: number): boolean;
  /** A peer's blame id (its address) is proven to have sent bad data: ban it. */
  banProven(address: string, why: string): void;
  /** Block-level blame found no culprit: the smart-ban record decides later. */
  blameUndecided(index: number): void;
  /** The set of files whose layers are known changed (priorities, resume record). */
  onLayersChanged(): void;
}

/** The ban reason for a peer whose block failed its BEP 52 leaf hash. */
export const BAD_BLOCK_BAN = 'a block failed its BEP 52 leaf hash';

export class V2Hashes {
  readonly layers: PieceLayers;
  readonly #host: V2HashesHost;
  /** Hash requests we sent (root hex + index) → the peer asked. */
  readonly #layerRequests = new Map<string, PeerKey>();
  /** Failed v2 pieces waiting for their leaf hashes to name the bad blocks' senders. */
  readonly #blames = new Map<string, Blame>();

  constructor(host: V2HashesHost) {
    this.#host = host;
    this.layers = new PieceLayers(host.metainfo);
  }

  /** Asks a v2 peer for the piece layers we lack (BEP 52 hash requests). */
  requestLayers(peer: LivePeer): void {
    if (!peer.supportsV2) return;
    for (const req of this.layers.requests()) {
      const key = `${toHex(req.piecesRoot)}:${req.index}`;
      const asked = this.#layerRequests.get(key);
      if (asked !== undefined && this.#host.has(asked)) continue;
      this.#layerRequests.set(key, peer.key);
      peer.conn.send({ type: 'hash-request', ...req });
    }
  }

  /** A peer's connection closed: its outstanding layer requests go to another peer. */
  onPeerClosed(peer: LivePeer): void {
    if ([...this.#layerRequests.values()].includes(peer.key)) this.#askAnotherForLayers(peer.key);
  }

  onMessage(peer: LivePeer, msg: WireMessage): void {
    if (msg.type === 'hash-request') {
      const fields: HashRequestFields = {
        piecesRoot: msg.piecesRoot,
        baseLayer: msg.baseLayer,
        index: msg.index,
        length: msg.length,
        proofLayers: msg.proofLayers,
      };
      const reply = (hashes: Uint8Array | undefined) =>
        peer.conn.send(
          hashes === undefined ? { type: 'hash-reject', ...fields } : { type: 'hashes', ...fields, hashes },
        );
      // With 16 KiB pieces the leaf layer is the piece layer: answered from the layers we hold.
      const pieceLayer = log2(this.#host.metainfo.pieceLength / BLOCK_BYTES);
      if (msg.baseLayer === 0 && pieceLayer > 0)
        void this.#answerLeaves(fields).then(reply, () => reply(undefined));
      else reply(this.layers.answer(msg));
      return;
    }
    if (msg.type !== 'hashes' && msg.type !== 'hash-reject') return;
    const key = `${toHex(msg.piecesRoot)}:${msg.index}`;
    if (msg.baseLayer === 0 && this.#blames.has(key)) {
      this.#onLeafHashes(peer, msg);
      return;
    }
    if (this.#layerRequests.get(key) !== peer.key) return; // unrequested: ignore
    this.#layerRequests.delete(key);
    if (msg.type !== 'hashes') {
      this.#askAnotherForLayers(peer.key);
      return;
    }
    const r = this.layers.onHashes(msg);
    if (r === false) {
      // Hashes that do not lead to the file's root: a lying or broken peer.
      peer.conn.close(
        'bad-hashes',
        new ShoalError(ErrorCode.WireProtocol, 'hashes do not match the pieces root', {}),
      );
      return;
    }
    if (r === undefined) return;
    const hex = toHex(this.#host.metainfo.files[r]!.piecesRoot!);
    const layer = this.layers.layers().get(hex);
    if (layer !== undefined) this.#host.storage.setPieceLayer(hex, layer);
    this.#host.onLayersChanged();
  }

  /**
   * A v2 piece failed: asks a peer for its leaf hashes; the blocks whose hash differs name their
   * senders exactly, and only they are banned. `senders` are the blame ids (addresses) of each
   * block's sender. Returns false when block-level blame is not possible (v1-only torrents,
   * padding, unknown layers): the smart-ban record alone decides then.
   */
  startBlame(index: number, data: Uint8Array, senders: readonly (string | undefined)[]): boolean {
    const m = this.#host.metainfo;
    if (m.version === 'v1') return false;
    const fi = this.#host.storage.map.fileAt(index * m.pieceLength);
    const file = m.files[fi];
    if (file === undefined || file.isPadding) return false;
    const pieceInFile = index - Math.floor(file.offset / m.pieceLength);
    const plan = this.layers.leafRequest(file, pieceInFile);
    if (plan === undefined) return false;
    const v2Bytes = Math.min(m.pieceLength, file.length - pieceInFile * m.pieceLength);
    const leaves: Uint8Array[] = [];
    for (let b = 0; b < plan.blocks; b++) {
      leaves.push(sha256(data.subarray(b * BLOCK_BYTES, Math.min((b + 1) * BLOCK_BYTES, v2Bytes))));
    }
    const blame: Blame = { ...plan, index, senders, leaves, asked: new Set(), at: this.#host.now() };
    this.#blames.set(`${toHex(plan.req.piecesRoot)}:${plan.req.index}`, blame);
    this.#askForLeaves(blame);
    return true;
  }

  /** Housekeeping: leaf-hash requests unanswered for {@link BLAME_TIMEOUT_MS} go to another peer. */
  tick(now: number): void {
    for (const b of [...this.#blames.values()]) if (now - b.at > BLAME_TIMEOUT_MS) this.#askForLeaves(b);
  }

  #askForLeaves(blame: Blame): void {
    // Peers that sent none of the piece first: a culprit has no reason to answer truthfully
    // (its answer is verified anyway) or at all.
    const contributed = (p: LivePeer) => Number(blame.senders.includes(p.conn.remoteAddress));
    const peers = [...this.#host.peers()].sort((a, b) => contributed(a) - contributed(b));
    for (const p of peers) {
      if (!p.supportsV2 || blame.asked.has(p.key)) continue;
      blame.asked.add(p.key);
      blame.peer = p.key;
      blame.at = this.#host.now();
      p.conn.send({ type: 'hash-request', ...blame.req });
      return;
    }
    // Nobody could give the leaf hashes.
    this.#blames.delete(`${toHex(blame.req.piecesRoot)}:${blame.req.index}`);
    this.#host.blameUndecided(blame.index);
  }

  #onLeafHashes(
    peer: LivePeer,
    msg: HashRequestFields & { readonly type: string; readonly hashes?: Uint8Array },
  ): void {
    const key = `${toHex(msg.piecesRoot)}:${msg.index}`;
    const blame = this.#blames.get(key);
    if (blame === undefined || blame.peer !== peer.key) return;
    if (msg.type !== 'hashes' || msg.hashes === undefined) {
      this.#askForLeaves(blame);
      return;
    }
    const base = verifyHashes(blame.root, blame.req.length, 0, blame.req.length, msg.hashes);
    if (base === undefined) {
      // Leaf hashes that do not lead to the torrent's piece hash: this peer lied.
      this.#host.banProven(peer.conn.remoteAddress, 'sent leaf hashes that do not match the piece layer');
      this.#askForLeaves(blame);
      return;
    }
    this.#blames.delete(key);
    const culprits = new Set<string>();
    blame.leaves.forEach((leaf, b) => {
      const sender = blame.senders[b];
      if (sender !== undefined && Buffer.compare(leaf, base[b]!) !== 0) culprits.add(sender);
    });
    if (culprits.size === 0) {
      this.#host.blameUndecided(blame.index);
      return;
    }
    for (const c of culprits) this.#host.banProven(c, BAD_BLOCK_BAN);
  }

  /** Leaf hashes (base layer 0) of one piece we have, computed from disk, with proofs. */
  async #answerLeaves(req: HashRequestFields): Promise<Uint8Array | undefined> {
    const m = this.#host.metainfo;
    const fi = m.files.findIndex(
      (f) => f.piecesRoot !== undefined && Buffer.compare(f.piecesRoot, req.piecesRoot) === 0,
    );
    const file = m.files[fi];
    if (file === undefined || req.length < 1 || req.length > HASH_REQUEST_MAX_LENGTH) return undefined;
    const perPiece = m.pieceLength / BLOCK_BYTES;
    const small = file.length <= m.pieceLength;
    const span = small ? nextPow2(Math.ceil(file.length / BLOCK_BYTES)) : perPiece;
    const pieceInFile = Math.floor(req.index / span);
    if (req.index % req.length !== 0 || req.length > span || (req.index % span) + req.length > span)
      return undefined;
    if (req.proofLayers > log2(span) - 1) return undefined; // proofs above the piece: not served
    const index = Math.floor(file.offset / m.pieceLength) + pieceInFile;
    if (!this.#host.have(index)) return undefined;
    const data = await this.#host.storage.readPiece(index);
    const v2Bytes = Math.min(m.pieceLength, file.length - pieceInFile * m.pieceLength);
    const leaves: Uint8Array[] = [];
    for (let at = 0; at < v2Bytes; at += BLOCK_BYTES)
      leaves.push(sha256(data.subarray(at, Math.min(at + BLOCK_BYTES, v2Bytes))));
    while (leaves.length < span) leaves.push(padHash(0));
    const out = hashesForRequest(treeLayersFrom(leaves, 0), req.index % span, req.length, req.proofLayers);
    return out === undefined ? undefined : Buffer.concat(out);
  }

  #askAnotherForLayers(except: PeerKey): void {
    for (const p of this.#host.peers()) {
      if (p.key !== except && p.supportsV2) {
        this.requestLayers(p);
        return;
      }
    }
  }
}
