export {
  BtcFrameDecoder,
  type BtcFrameDecoderOptions,
  encodeFrame,
  encodeMessage,
  FRAME_HEADER_BYTES,
} from './frame.js';
export { ipToString, ipv4Mapped, isIpv4Mapped } from './net-address.js';
export {
  decodePayload,
  encodePayload,
  KNOWN_COMMANDS,
  MAX_PAYLOAD_BYTES,
  maxPayloadBytes,
} from './payload.js';
export {
  ADDRV2_LENGTHS,
  type AddrEntry,
  type AddrV2Entry,
  AddrV2Network,
  type BtcCommand,
  type BtcMessage,
  type InvItem,
  InvType,
  type NetAddress,
  PROTOCOL_VERSION,
  ServiceFlags,
  type VersionMessage,
} from './types.js';
