/**
 * The parsed shape of a torrent (BEP 3 v1, BEP 52 v2, and hybrids of both). Produced by
 * `parseTorrent` from untrusted bytes, after every check in docs/LIMITS.md has passed: every
 * path is safe, every length is in range, hash strings have the right sizes.
 */

export type TorrentVersion = 'v1' | 'v2' | 'hybrid';

/** One file of the torrent, in torrent order. */
export interface TorrentFile {
  /** Path components below the torrent's folder, each checked by `assertSafePathComponent`. */
  readonly path: readonly string[];
  /** Length in bytes. */
  readonly length: number;
  /**
   * Offset of the file's first byte in the torrent's piece space: the v1 concatenation
   * (padding files included) or, for v2-only torrents, the layout where every file starts on
   * a piece boundary. The two agree for valid hybrids.
   */
  readonly offset: number;
  /** A BEP 47 padding file: never downloaded, written or shown. */
  readonly isPadding: boolean;
  /** BEP 47 attribute letters (`x` executable, `h` hidden, `p` padding, `l` symlink). */
  readonly attr: string;
  /** v2 `pieces root` (32 bytes) for non-empty files of v2 and hybrid torrents. */
  readonly piecesRoot?: Uint8Array;
}

/** A tracker tier list (BEP 12): tiers in order, URLs within a tier in listed order. */
export type TrackerTiers = readonly (readonly string[])[];

export interface Metainfo {
  readonly version: TorrentVersion;
  /** SHA-1 of the raw info dictionary (v1 and hybrid). */
  readonly infoHashV1?: Uint8Array;
  /** SHA-256 of the raw info dictionary (v2 and hybrid). */
  readonly infoHashV2?: Uint8Array;
  /** The torrent's name (single file name, or the folder name). */
  readonly name: string;
  readonly pieceLength: number;
  /** Number of pieces in the piece space. */
  readonly pieceCount: number;
  /** v1 piece hashes, 20 bytes each, concatenated (a view into the source bytes). */
  readonly pieces?: Uint8Array;
  /** True for the v1 single-file form (`length` instead of `files`). */
  readonly isSingleFile: boolean;
  /** All files including padding files, in torrent order. */
  readonly files: readonly TorrentFile[];
  /** Sum of the lengths of the non-padding files. */
  readonly totalLength: number;
  /** v2 piece layers: hex of `pieces root` → concatenated 32-byte piece hashes. */
  readonly pieceLayers: ReadonlyMap<string, Uint8Array>;
  /** BEP 27 private flag. */
  readonly isPrivate: boolean;
  /** BEP 12 tiers, or one tier holding `announce` when there is no `announce-list`. */
  readonly trackers: TrackerTiers;
  /** BEP 19 web seeds (`url-list`). */
  readonly webSeeds: readonly string[];
  /** BEP 17 HTTP seeds (`httpseeds`): scripts that serve pieces. */
  readonly httpSeeds?: readonly string[];
  readonly comment?: string;
  readonly createdBy?: string;
  /** Seconds since the Unix epoch. */
  readonly creationDate?: number;
  /** The original bytes of the info dictionary (what the info-hashes are over). */
  readonly infoBytes: Uint8Array;
  /** Oddities tolerated while parsing (unsorted keys, unknown fields of note). */
  readonly warnings: readonly string[];
}

/** A peer address as host and port. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** A parsed magnet URI (BEP 9, BEP 53, BEP 52 `btmh`). */
export interface MagnetLink {
  readonly infoHashV1?: Uint8Array;
  readonly infoHashV2?: Uint8Array;
  /** `dn`: display name. */
  readonly name?: string;
  /** `tr`: tracker URLs. */
  readonly trackers: readonly string[];
  /** `ws`: web seeds. */
  readonly webSeeds: readonly string[];
  /** `x.pe`: peer addresses. */
  readonly peers: readonly PeerAddress[];
  /** `so` (BEP 53): selected file indices, expanded from ranges. */
  readonly selectOnly?: readonly number[];
  /**
   * `xs=urn:btpk:` (BEP 46): the publisher's ed25519 public key (32 bytes). The torrent is the one
   * the DHT's mutable item under this key and {@link salt} names, and may change over time.
   */
  readonly publicKey?: Uint8Array;
  /** `s` (BEP 46): the mutable item's salt (0 to 64 bytes; empty when absent). */
  readonly salt?: Uint8Array;
}

/**
 * A BEP 46 magnet link (`magnet:?xs=urn:btpk:<key>&s=<salt>`): it names a mutable DHT item, whose
 * value `{ih: <info-hash>}` names the torrent. An `xt` is optional.
 */
export interface MutableMagnetLink extends MagnetLink {
  readonly publicKey: Uint8Array;
  readonly salt: Uint8Array;
}
