export { ancestorAt, type HeaderLink, nextBitsRequired, retarget, walkBackBits } from './difficulty.js';
export {
  type BlockHeader,
  decodeHeader,
  encodeHeader,
  HEADER_BYTES,
  headerHash,
  type PowAlgorithm,
  powHash,
  readHeader,
} from './header.js';
export {
  type AcceptOptions,
  type AcceptResult,
  HeaderChain,
  type HeaderChainOptions,
  type HeaderEntry,
} from './header-chain.js';
export { HeightIndex } from './height-index.js';
export { medianTimePast } from './median-time.js';
export {
  type AddressPrefixes,
  BIP94_MAX_TIMEWARP_S,
  BITCOIN_MAINNET,
  BITCOIN_REGTEST,
  BITCOIN_SIGNET,
  BITCOIN_TESTNET4,
  type ChainParams,
  type Checkpoint,
  LITECOIN_REGTEST,
  MAX_FUTURE_BLOCK_TIME_S,
  MEDIAN_TIME_SPAN,
  NETWORKS,
} from './params.js';
export {
  type DecodedHeaderFile,
  decodeHeaderFile,
  encodeHeaderFileHeader,
  encodeHeaderRecord,
  HEADER_FILE_VERSION,
  HEADER_RECORD_BYTES,
  headerRecordOffset,
  RECORD_FILE_HEADER_BYTES,
  writeHeaderRecord,
} from './record.js';
export {
  bitsToTarget,
  type DecodedBits,
  hashToBigInt,
  targetToBits,
  validTarget,
  workForBits,
} from './target.js';
