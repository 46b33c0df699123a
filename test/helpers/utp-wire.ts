/**
 * A BitTorrent conversation over one {@link PeerStream} for transport interop tests: Shoal's wire
 * encoders out, Shoal's frame decoder in, every message recorded and waited on (bounded by a
 * timeout, never a sleep). {@link downloadPiece} asks a seeder for one whole piece.
 */
import { createHash } from 'node:crypto';
import type { PeerStream } from '../../src/net/transport.js';
import {
  type EncodableMessage,
  encodeHandshake,
  encodeMessage,
  FrameDecoder,
  makeReserved,
  type WireMessage,
} from '../../src/wire/index.js';
import { scriptedPeerId } from './scripted-peer.js';

const STEP_TIMEOUT_MS = 20_000;
const BLOCK = 16 * 1024;

/** A BitTorrent conversation over one stream: messages decoded as they arrive, waited on by type. */
export class Wire {
  readonly messages: WireMessage[] = [];
  closed: Error | 'clean' | undefined;
  readonly #decoder: FrameDecoder;
  readonly #waiters = new Set<() => void>();

  constructor(
    readonly stream: PeerStream,
    pieceCount: number,
    firstChunk?: Uint8Array,
  ) {
    this.#decoder = new FrameDecoder({ handshake: true, borrowedChunks: true, pieceCount });
    const onData = (chunk: Uint8Array) => {
      for (const m of this.#decoder.push(chunk)) {
        // Piece blocks are borrowed: keep a copy.
        this.messages.push(m.type === 'piece' ? { ...m, block: m.block.slice() } : m);
      }
      this.#wake();
    };
    if (firstChunk !== undefined) onData(firstChunk);
    stream.bind({
      data: onData,
      drain: () => {},
      close: (error) => {
        this.closed = error ?? 'clean';
        this.#wake();
      },
    });
  }

  send(bytes: Uint8Array): void {
    this.stream.write(bytes);
  }

  sendMessage(m: EncodableMessage): void {
    this.send(encodeMessage(m));
  }

  /** Resolves once `done()` holds; rejects when the stream closes first or at the timeout. */
  until<T>(what: string, done: () => T | undefined, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = done();
        if (v !== undefined) {
          cleanup();
          resolve(v);
        } else if (this.closed !== undefined) {
          cleanup();
          reject(new Error(`stream closed (${String(this.closed)}) before ${what}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}; got ${this.messages.map((m) => m.type).join(',')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/**
 * Handshakes with a seeder on `stream`, asks for piece `index` (`pieceBytes` long) block by block
 * and returns the piece's SHA-1 and the remote's peer id.
 */
export async function downloadPiece(
  stream: PeerStream,
  t: { readonly infoHash: Uint8Array; readonly pieceCount: number },
  index: number,
  pieceBytes: number,
): Promise<{ readonly sha1: Buffer; readonly remoteInfoHash: Uint8Array; readonly peerId: Uint8Array }> {
  const wire = new Wire(stream, t.pieceCount);
  wire.send(
    encodeHandshake({
      infoHash: t.infoHash,
      peerId: scriptedPeerId(),
      reserved: makeReserved({ fast: true }),
    }),
  );
  const hs = await wire.until('handshake', () => wire.messages.find((m) => m.type === 'handshake'));
  await wire.until('have-all or bitfield', () =>
    wire.messages.find((m) => m.type === 'have-all' || m.type === 'bitfield'),
  );
  wire.sendMessage({ type: 'interested' });
  await wire.until('unchoke', () => wire.messages.find((m) => m.type === 'unchoke'));
  for (let begin = 0; begin < pieceBytes; begin += BLOCK) {
    wire.sendMessage({ type: 'request', index, begin, length: Math.min(BLOCK, pieceBytes - begin) });
  }
  const blocks = await wire.until('every block of the piece', () => {
    const got = wire.messages.filter((m) => m.type === 'piece' && m.index === index);
    return got.length === Math.ceil(pieceBytes / BLOCK) ? got : undefined;
  });
  const piece = new Uint8Array(pieceBytes);
  for (const b of blocks) if (b.type === 'piece') piece.set(b.block, b.begin);
  stream.destroy();
  await wire.until('close', () => wire.closed);
  if (hs.type !== 'handshake') throw new Error('no handshake');
  return { sha1: createHash('sha1').update(piece).digest(), remoteInfoHash: hs.infoHash, peerId: hs.peerId };
}

/**
 * Seeds `data` (the whole torrent payload, `pieceBytes` per piece) to a leecher on `stream`, whose
 * handshake is already in `wire`: answers with our handshake, have-all and unchoke, then serves
 * every request. Resolves with the bytes served when the stream closes.
 */
export function servePieces(
  wire: Wire,
  t: { readonly infoHash: Uint8Array; readonly pieceBytes: number; readonly data: Uint8Array },
): Promise<number> {
  wire.send(
    encodeHandshake({
      infoHash: t.infoHash,
      peerId: scriptedPeerId(),
      reserved: makeReserved({ fast: true }),
    }),
  );
  wire.sendMessage({ type: 'have-all' });
  wire.sendMessage({ type: 'unchoke' });
  let served = 0;
  let seen = 0;
  return new Promise((resolve) => {
    const step = () => {
      for (; seen < wire.messages.length; seen++) {
        const m = wire.messages[seen]!;
        if (m.type !== 'request') continue;
        const at = m.index * t.pieceBytes + m.begin;
        wire.sendMessage({
          type: 'piece',
          index: m.index,
          begin: m.begin,
          block: t.data.subarray(at, at + m.length),
        });
        served += m.length;
      }
      return wire.closed !== undefined ? served : undefined;
    };
    void wire.until('the leecher to go', step, 120_000).then(resolve, () => resolve(served));
  });
}
