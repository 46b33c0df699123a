/**
 * BEP 9 `ut_metadata`, serving side: a peer that connected by magnet link asks for the info
 * dictionary in 16 KiB pieces; we answer with the bytes of ours (a torrent always has its
 * metadata here: fetching it is the {@link MetadataFetcher}'s job, before the torrent exists).
 */
import { METADATA_PIECE_BYTES } from '../../shared/limits.js';
import { decodeUtMetadata, ExtensionName, encodeUtMetadata, metadataPieceCount } from '../../wire/index.js';
import type { ExtensionFactory } from './extension.js';

export const utMetadata: ExtensionFactory = (host) => {
  const info = host.metainfo.infoBytes;
  const count = metadataPieceCount(info.length);
  return {
    name: ExtensionName.UtMetadata,
    handshakeFields: () => ({ metadataSize: info.length }),
    onMessage(peer, payload) {
      const m = decodeUtMetadata(payload);
      if (m === undefined || m.type !== 'request') return;
      const reply =
        m.piece < count
          ? encodeUtMetadata({
              type: 'data',
              piece: m.piece,
              totalSize: info.length,
              data: info.subarray(
                m.piece * METADATA_PIECE_BYTES,
                Math.min(info.length, (m.piece + 1) * METADATA_PIECE_BYTES),
              ),
            })
          : encodeUtMetadata({ type: 'reject', piece: m.piece });
      peer.send(reply);
    },
  };
};
