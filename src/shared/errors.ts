/**
 * The one error hierarchy of Shoal.
 *
 * Every failure caused by untrusted input (a peer, a tracker reply, a DHT datagram, a .torrent
 * file, an API call) is a `ShoalError` with a stable `code`. Callers match on the code with
 * {@link isShoalError}, never on message text. The codes are listed in docs/ERRORS.md.
 */

/** Every error code Shoal raises, grouped by layer. */
export const ErrorCode = {
  // codec
  BencodeUnexpectedEnd: 'SHOAL_ERR_BENCODE_UNEXPECTED_END',
  BencodeInvalidByte: 'SHOAL_ERR_BENCODE_INVALID_BYTE',
  BencodeInvalidInteger: 'SHOAL_ERR_BENCODE_INVALID_INTEGER',
  BencodeIntegerRange: 'SHOAL_ERR_BENCODE_INTEGER_RANGE',
  BencodeInvalidLength: 'SHOAL_ERR_BENCODE_INVALID_LENGTH',
  BencodeTrailingData: 'SHOAL_ERR_BENCODE_TRAILING_DATA',
  BencodeTooDeep: 'SHOAL_ERR_BENCODE_TOO_DEEP',
  BencodeTooManyItems: 'SHOAL_ERR_BENCODE_TOO_MANY_ITEMS',
  BencodeKeyOrder: 'SHOAL_ERR_BENCODE_KEY_ORDER',
  BencodeDuplicateKey: 'SHOAL_ERR_BENCODE_DUPLICATE_KEY',
  BencodeUnencodable: 'SHOAL_ERR_BENCODE_UNENCODABLE',
  // metainfo
  MetainfoInvalid: 'SHOAL_ERR_METAINFO_INVALID',
  MetainfoTooLarge: 'SHOAL_ERR_METAINFO_TOO_LARGE',
  MetainfoUnsafePath: 'SHOAL_ERR_METAINFO_UNSAFE_PATH',
  MetainfoPieceLayers: 'SHOAL_ERR_METAINFO_PIECE_LAYERS',
  MetainfoCreate: 'SHOAL_ERR_METAINFO_CREATE',
  MagnetInvalid: 'SHOAL_ERR_MAGNET_INVALID',
  PeerAddressInvalid: 'SHOAL_ERR_PEER_ADDRESS_INVALID',
  // wire
  WireFrameTooLarge: 'SHOAL_ERR_WIRE_FRAME_TOO_LARGE',
  WireBadMessage: 'SHOAL_ERR_WIRE_BAD_MESSAGE',
  WireBadHandshake: 'SHOAL_ERR_WIRE_BAD_HANDSHAKE',
  WireProtocol: 'SHOAL_ERR_WIRE_PROTOCOL',
  // wire: message stream encryption (MSE/PE)
  WireMseBadPublicKey: 'SHOAL_ERR_WIRE_MSE_BAD_PUBLIC_KEY',
  WireMseNoSync: 'SHOAL_ERR_WIRE_MSE_NO_SYNC',
  WireMseBadVc: 'SHOAL_ERR_WIRE_MSE_BAD_VC',
  WireMseUnknownSkey: 'SHOAL_ERR_WIRE_MSE_UNKNOWN_SKEY',
  WireMseNoCommonMethod: 'SHOAL_ERR_WIRE_MSE_NO_COMMON_METHOD',
  WireMsePadTooLarge: 'SHOAL_ERR_WIRE_MSE_PAD_TOO_LARGE',
  WireMseIaTooLarge: 'SHOAL_ERR_WIRE_MSE_IA_TOO_LARGE',
  // storage
  StorageIo: 'SHOAL_ERR_STORAGE_IO',
  StorageResume: 'SHOAL_ERR_STORAGE_RESUME',
  StorageNoSpace: 'SHOAL_ERR_STORAGE_NO_SPACE',
  // net / session
  NetTimeout: 'SHOAL_ERR_NET_TIMEOUT',
  NetLimit: 'SHOAL_ERR_NET_LIMIT',
  NetConnectFailed: 'SHOAL_ERR_NET_CONNECT_FAILED',
  NetRefused: 'SHOAL_ERR_NET_REFUSED',
  NetProxy: 'SHOAL_ERR_NET_PROXY',
  NetBlocklist: 'SHOAL_ERR_NET_BLOCKLIST',
  SessionClosed: 'SHOAL_ERR_SESSION_CLOSED',
  SessionInvalidArgument: 'SHOAL_ERR_SESSION_INVALID_ARGUMENT',
  // session: feeds (publish / follow, BEP 46)
  FeedKey: 'SHOAL_ERR_FEED_KEY',
  FeedState: 'SHOAL_ERR_FEED_STATE',
  FeedValue: 'SHOAL_ERR_FEED_VALUE',
  FeedNoDht: 'SHOAL_ERR_FEED_NO_DHT',
  FeedPutFailed: 'SHOAL_ERR_FEED_PUT_FAILED',
  // discovery / tracker
  TrackerFailure: 'SHOAL_ERR_TRACKER_FAILURE',
  TrackerBadResponse: 'SHOAL_ERR_TRACKER_BAD_RESPONSE',
  TrackerTimeout: 'SHOAL_ERR_TRACKER_TIMEOUT',
  TrackerRequest: 'SHOAL_ERR_TRACKER_REQUEST',
  TrackerBadRequest: 'SHOAL_ERR_TRACKER_BAD_REQUEST',
  // session: web seeds (BEP 17, 19)
  WebSeedBadUrl: 'SHOAL_ERR_WEBSEED_BAD_URL',
  WebSeedStatus: 'SHOAL_ERR_WEBSEED_STATUS',
  WebSeedBusy: 'SHOAL_ERR_WEBSEED_BUSY',
  WebSeedBadResponse: 'SHOAL_ERR_WEBSEED_BAD_RESPONSE',
  WebSeedRedirects: 'SHOAL_ERR_WEBSEED_REDIRECTS',
  WebSeedTimeout: 'SHOAL_ERR_WEBSEED_TIMEOUT',
  WebSeedConnection: 'SHOAL_ERR_WEBSEED_CONNECTION',
  // dht
  DhtBadMessage: 'SHOAL_ERR_DHT_BAD_MESSAGE',
  DhtTimeout: 'SHOAL_ERR_DHT_TIMEOUT',
  DhtBadState: 'SHOAL_ERR_DHT_BAD_STATE',
  DhtInvalidArgument: 'SHOAL_ERR_DHT_INVALID_ARGUMENT',
  DhtLimit: 'SHOAL_ERR_DHT_LIMIT',
  DhtClosed: 'SHOAL_ERR_DHT_CLOSED',
  DhtItemInvalid: 'SHOAL_ERR_DHT_ITEM_INVALID',
  DhtIdChanged: 'SHOAL_ERR_DHT_ID_CHANGED',
  // utp (BEP 29)
  UtpTruncated: 'SHOAL_ERR_UTP_TRUNCATED',
  UtpBadVersion: 'SHOAL_ERR_UTP_BAD_VERSION',
  UtpBadType: 'SHOAL_ERR_UTP_BAD_TYPE',
  UtpBadExtension: 'SHOAL_ERR_UTP_BAD_EXTENSION',
  UtpTooManyExtensions: 'SHOAL_ERR_UTP_TOO_MANY_EXTENSIONS',
  UtpReset: 'SHOAL_ERR_UTP_RESET',
  UtpTimeout: 'SHOAL_ERR_UTP_TIMEOUT',
  UtpLimit: 'SHOAL_ERR_UTP_LIMIT',
  UtpClosed: 'SHOAL_ERR_UTP_CLOSED',
  // discovery / local service discovery (BEP 14)
  LsdBadMessage: 'SHOAL_ERR_LSD_BAD_MESSAGE',
  LsdClosed: 'SHOAL_ERR_LSD_CLOSED',
  LsdInvalidArgument: 'SHOAL_ERR_LSD_INVALID_ARGUMENT',
  // nat: port mapping (UPnP IGD, NAT-PMP, PCP)
  NatBadMessage: 'SHOAL_ERR_NAT_BAD_MESSAGE',
  NatTooLarge: 'SHOAL_ERR_NAT_TOO_LARGE',
  NatRefused: 'SHOAL_ERR_NAT_REFUSED',
  NatUnavailable: 'SHOAL_ERR_NAT_UNAVAILABLE',
  // daemon: HTTP API (the status each code maps to is in src/daemon/errors.ts)
  ApiBadRequest: 'SHOAL_ERR_API_BAD_REQUEST',
  ApiUnauthorized: 'SHOAL_ERR_API_UNAUTHORIZED',
  ApiForbidden: 'SHOAL_ERR_API_FORBIDDEN',
  ApiNotFound: 'SHOAL_ERR_API_NOT_FOUND',
  ApiConflict: 'SHOAL_ERR_API_CONFLICT',
  ApiPayloadTooLarge: 'SHOAL_ERR_API_PAYLOAD_TOO_LARGE',
  ApiUnsupportedMediaType: 'SHOAL_ERR_API_UNSUPPORTED_MEDIA_TYPE',
  ApiRangeNotSatisfiable: 'SHOAL_ERR_API_RANGE_NOT_SATISFIABLE',
  ApiNotImplemented: 'SHOAL_ERR_API_NOT_IMPLEMENTED',
  ApiUnavailable: 'SHOAL_ERR_API_UNAVAILABLE',
  ApiFetchFailed: 'SHOAL_ERR_API_FETCH_FAILED',
  ApiInternal: 'SHOAL_ERR_API_INTERNAL',
  // daemon: state directory and paths
  DaemonState: 'SHOAL_ERR_DAEMON_STATE',
  DaemonUnsafePath: 'SHOAL_ERR_DAEMON_UNSAFE_PATH',
  // cli
  CliUsage: 'SHOAL_ERR_CLI_USAGE',
  // bitcoin: byte codec, messages, header chain, filters, transactions
  BtcTruncated: 'SHOAL_ERR_BTC_TRUNCATED',
  BtcNonCanonical: 'SHOAL_ERR_BTC_NON_CANONICAL',
  BtcTooLarge: 'SHOAL_ERR_BTC_TOO_LARGE',
  BtcTrailingData: 'SHOAL_ERR_BTC_TRAILING_DATA',
  BtcBadMagic: 'SHOAL_ERR_BTC_BAD_MAGIC',
  BtcBadCommand: 'SHOAL_ERR_BTC_BAD_COMMAND',
  BtcFrameTooLarge: 'SHOAL_ERR_BTC_FRAME_TOO_LARGE',
  BtcBadChecksum: 'SHOAL_ERR_BTC_BAD_CHECKSUM',
  BtcBadMessage: 'SHOAL_ERR_BTC_BAD_MESSAGE',
  BtcBadTransaction: 'SHOAL_ERR_BTC_BAD_TRANSACTION',
  BtcBadBlock: 'SHOAL_ERR_BTC_BAD_BLOCK',
  BtcUnconnected: 'SHOAL_ERR_BTC_UNCONNECTED',
  BtcBadPow: 'SHOAL_ERR_BTC_BAD_POW',
  BtcBadBits: 'SHOAL_ERR_BTC_BAD_BITS',
  BtcBadTime: 'SHOAL_ERR_BTC_BAD_TIME',
  BtcTimeTooNew: 'SHOAL_ERR_BTC_TIME_TOO_NEW',
  BtcBadVersion: 'SHOAL_ERR_BTC_BAD_VERSION',
  BtcCheckpoint: 'SHOAL_ERR_BTC_CHECKPOINT',
  BtcForkTooDeep: 'SHOAL_ERR_BTC_FORK_TOO_DEEP',
  BtcLimit: 'SHOAL_ERR_BTC_LIMIT',
  BtcBadRecord: 'SHOAL_ERR_BTC_BAD_RECORD',
  BtcBadFilter: 'SHOAL_ERR_BTC_BAD_FILTER',
  BtcCompactBlock: 'SHOAL_ERR_BTC_COMPACT_BLOCK',
  BtcBadAddress: 'SHOAL_ERR_BTC_BAD_ADDRESS',
  BtcBadKey: 'SHOAL_ERR_BTC_BAD_KEY',
  BtcInvalidArgument: 'SHOAL_ERR_BTC_INVALID_ARGUMENT',
  // bitcoin: light node runtime
  BtcProtocol: 'SHOAL_ERR_BTC_PROTOCOL',
  BtcTimeout: 'SHOAL_ERR_BTC_TIMEOUT',
  BtcPeerClosed: 'SHOAL_ERR_BTC_PEER_CLOSED',
  BtcBadDescriptor: 'SHOAL_ERR_BTC_BAD_DESCRIPTOR',
  BtcInsufficientFunds: 'SHOAL_ERR_BTC_INSUFFICIENT_FUNDS',
  BtcMainnetRefused: 'SHOAL_ERR_BTC_MAINNET_REFUSED',
  BtcBadState: 'SHOAL_ERR_BTC_BAD_STATE',
  BtcNotFound: 'SHOAL_ERR_BTC_NOT_FOUND',
  BtcClosed: 'SHOAL_ERR_BTC_CLOSED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error Shoal raises on purpose. */
export class ShoalError<D extends object = Record<string, unknown>> extends Error {
  /** Stable machine-readable code, `SHOAL_ERR_<LAYER>_<WHAT>`. */
  readonly code: ErrorCode;
  /** Structured facts about the failure (offsets, field names, paths). */
  readonly details: Readonly<D>;

  constructor(code: ErrorCode, message: string, details: D, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** True when `err` is a ShoalError, optionally with the given code. */
export function isShoalError(err: unknown, code?: ErrorCode): err is ShoalError {
  return err instanceof ShoalError && (code === undefined || err.code === code);
}
