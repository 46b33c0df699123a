/**
 * What a torrent knows when it starts, and what it leaves behind: its fast-resume record
 * (`<resumeDir>/<id>.resume`: verified pieces, totals, v2 piece layers fetched from peers). A
 * record is trusted only as far as the files on disk are long enough; without one, data already
 * on disk is rechecked.
 */
import { join } from 'node:path';
import type { Metainfo } from '../metainfo/index.js';
import { decodeResume, readResumeFile } from '../storage/resume.js';
import type { TorrentStorage } from '../storage/torrent-storage.js';
import { Bitfield } from '../wire/index.js';
import type { PieceLayers } from './piece-layers.js';

/** Where a torrent's resume record lives, if records are kept. */
export function resumePathOf(resumeDir: string | undefined, id: string): string | undefined {
  return resumeDir === undefined ? undefined : join(resumeDir, `${id}.resume`);
}

export interface StartState {
  /** Verified pieces, by index. */
  readonly have: boolean[];
  /** Totals carried over from earlier runs. */
  readonly uploaded: number;
  readonly downloaded: number;
}

/**
 * Loads the resume record (unless `recheck`), restoring its piece layers into `layers` and
 * `storage`; falls back to a recheck of what is on disk.
 */
export async function loadStartState(
  m: Metainfo,
  storage: TorrentStorage,
  layers: PieceLayers,
  resumePath: string | undefined,
  recheck: boolean,
): Promise<StartState> {
  if (resumePath !== undefined && !recheck) {
    const bytes = await readResumeFile(resumePath);
    const rec =
      bytes === undefined
        ? undefined
        : decodeResume(bytes, {
            infoHashV1: m.infoHashV1,
            infoHashV2: m.infoHashV2,
            pieceCount: m.pieceCount,
            fileCount: m.files.length,
          });
    if (rec !== undefined) {
      const claimed = Bitfield.fromWire(rec.pieces, m.pieceCount);
      const have = await storage.trustedPieces(
        Array.from({ length: m.pieceCount }, (_, i) => claimed.get(i)),
      );
      for (const [hex, layer] of rec.pieceLayers ?? []) {
        if (layers.restore(hex, layer)) storage.setPieceLayer(hex, layer);
      }
      return { have, uploaded: rec.uploaded, downloaded: rec.downloaded };
    }
  }
  const stats = await storage.fileStats();
  const have = stats.some((s) => s.size > 0)
    ? await storage.recheck()
    : new Array<boolean>(m.pieceCount).fill(false);
  return { have, uploaded: 0, downloaded: 0 };
}

/** The record to save now. */
export async function resumeSnapshot(
  m: Metainfo,
  storage: TorrentStorage,
  pieces: Bitfield,
  layers: PieceLayers,
  totals: { readonly uploaded: number; readonly downloaded: number },
) {
  const files = await storage.fileStats();
  return {
    ...(m.infoHashV1 ? { infoHashV1: m.infoHashV1 } : {}),
    ...(m.infoHashV2 ? { infoHashV2: m.infoHashV2 } : {}),
    pieces: pieces.toWire(),
    files,
    pieceLayers: layers.layers(),
    uploaded: totals.uploaded,
    downloaded: totals.downloaded,
  };
}
