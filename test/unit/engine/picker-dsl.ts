/**
 * String tables for piece-picker tests, in the style of libtorrent's `setup_picker("1111", "  * ")`:
 * one character per piece.
 *
 * - peers' bitfields: `'1'`/`'*'` = has, `' '`/`'0'` = lacks;
 * - our haves: `'*'` = verified;
 * - priorities: a digit per piece (`0` skip, `1` normal, `2` high).
 */
import {
  type BlockRef,
  type PickerPeerView,
  PiecePicker,
  type PiecePriority,
  SeededRandom,
  uniformLayout,
} from '../../../src/engine/index.js';
import { BLOCK_BYTES } from '../../../src/shared/limits.js';

export interface PickerTable {
  /** Our haves, e.g. `' * '`. */
  readonly have?: string;
  /** Peer key → bitfield string. Every string has one character per piece. */
  readonly peers: Readonly<Record<string, string>>;
  /** Priorities per piece, e.g. `'1021'`. */
  readonly priorities?: string;
  /** Blocks per piece. @default 4 */
  readonly blocksPerPiece?: number;
  /** Bytes of the last piece (short last piece); @default a full piece */
  readonly lastPieceBytes?: number;
  /** @default 0 (rarest first from the start) */
  readonly randomFirstPieces?: number;
  readonly seed?: number;
}

export interface PickerFixture {
  readonly picker: PiecePicker;
  readonly peer: (key: string) => PickerPeerView;
  readonly pieceLength: number;
}

/** Builds a picker from a string table. */
export function setupPicker(t: PickerTable): PickerFixture {
  const first = Object.values(t.peers)[0] ?? t.have ?? t.priorities ?? '';
  const pieces = first.length;
  const pieceLength = (t.blocksPerPiece ?? 4) * BLOCK_BYTES;
  const total = (pieces - 1) * pieceLength + (t.lastPieceBytes ?? pieceLength);
  const picker = new PiecePicker(uniformLayout(total, pieceLength), new SeededRandom(t.seed ?? 1), {
    randomFirstPieces: t.randomFirstPieces ?? 0,
  });
  const views = new Map<string, PickerPeerView>();
  for (const [key, bits] of Object.entries(t.peers)) {
    if (bits.length !== pieces) throw new Error(`peer ${key}: ${bits.length} pieces, want ${pieces}`);
    const has = [...bits].map((c) => c === '1' || c === '*');
    views.set(key, { key, has: (i) => has[i] === true });
    picker.addPeerPieces(has.flatMap((h, i) => (h ? [i] : [])));
  }
  [...(t.have ?? '')].forEach((c, i) => {
    if (c === '*') picker.onPieceVerified(i);
  });
  [...(t.priorities ?? '')].forEach((c, i) => {
    picker.setPiecePriority(i, Number(c) as PiecePriority);
  });
  return {
    picker,
    pieceLength,
    peer: (key) => {
      const v = views.get(key);
      if (v === undefined) throw new Error(`no peer ${key}`);
      return v;
    },
  };
}

/** `piece:block` labels of picked blocks, for compact assertions. */
export function labels(blocks: readonly BlockRef[]): string[] {
  return blocks.map((b) => `${b.piece}:${b.offset / BLOCK_BYTES}`);
}

/** Distinct pieces of picked blocks, in order of first appearance. */
export function piecesOf(blocks: readonly BlockRef[]): number[] {
  return [...new Set(blocks.map((b) => b.piece))];
}
