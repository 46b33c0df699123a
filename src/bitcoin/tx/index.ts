export {
  addressToScript,
  decodeSegwitAddress,
  encodeSegwitAddress,
  scriptToAddress,
} from './address.js';
export { base58CheckDecode, base58CheckEncode, base58Decode, base58Encode } from './base58.js';
export { BECH32_MAX_LENGTH, type Bech32Variant, bech32Decode, bech32Encode, convertBits } from './bech32.js';
export {
  type Block,
  blockHash,
  decodeBlock,
  encodeBlock,
  readBlock,
  verifyBlockCommitments,
  witnessCommitment,
  writeBlock,
} from './block.js';
export {
  type CompactBlock,
  finishReconstruction,
  MAX_COMPACT_INDEX,
  makeCompactBlock,
  type PartialBlock,
  type PrefilledTransaction,
  shortId,
  shortIdKey,
  startReconstruction,
} from './compact-block.js';
export { type MerkleProof, merkleProof, merkleRoot, rootFromProof, verifyMerkleProof } from './merkle.js';
export {
  classifyOutputScript,
  OP_0,
  OP_1,
  OP_CHECKSIG,
  OP_CODESEPARATOR,
  OP_DUP,
  OP_EQUAL,
  OP_EQUALVERIFY,
  OP_HASH160,
  OP_RETURN,
  type OutputScript,
  p2pkhScript,
  p2shScript,
  p2trScript,
  p2wpkhScript,
  p2wshScript,
  pushData,
  removeCodeSeparators,
  witnessProgram,
  witnessScript,
} from './script.js';
export { legacySighashPreimage, SighashType, sighashOf, witnessV0SighashPreimage } from './sighash.js';
export {
  encodeDer,
  lowS,
  PrivateKey,
  parseDer,
  signP2pkhInput,
  signP2wpkhInput,
  verifyPreimage,
} from './sign.js';
export {
  baseSize,
  decodeTransaction,
  encodeTransaction,
  hasWitness,
  isCoinbase,
  type OutPoint,
  readTransaction,
  type Transaction,
  type TxInput,
  type TxOutput,
  txid,
  weight,
  writeTransaction,
  wtxid,
} from './transaction.js';
