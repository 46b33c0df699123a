/**
 * A Bitcoin regtest chain made in the test process: real blocks (a coinbase each, optionally a
 * spend), their headers ground to regtest proof of work, BIP 158 filters and BIP 157 filter
 * headers. Scripted peers serve it; tests compare what the node accepted with it.
 */
import {
  BITCOIN_REGTEST,
  type Block,
  type BlockHeader,
  buildBasicFilter,
  bytesFromHex,
  decodeHeader,
  decodeTransaction,
  encodeHeader,
  filterHash,
  filterHeader,
  hashToBigInt,
  headerHash,
  merkleRoot,
  pushData,
  type Transaction,
  txid,
} from '../../src/bitcoin/index.js';

/** The regtest genesis block's coinbase (the same as mainnet's). */
const GENESIS_COINBASE =
  '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000';

/** One block of the fixture chain. */
export interface ChainBlock {
  readonly height: number;
  readonly block: Block;
  readonly header: Uint8Array;
  readonly hash: Uint8Array;
  readonly filter: Uint8Array;
  readonly filterHash: Uint8Array;
  readonly filterHeader: Uint8Array;
}

function coinbase(height: number, script: Uint8Array, salt: number): Transaction {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, height, true);
  return {
    version: 2,
    inputs: [
      {
        prevout: { txid: new Uint8Array(32), index: 0xffffffff },
        scriptSig: Uint8Array.of(...pushData(h), ...pushData(Uint8Array.of(salt & 0xff, 0x42))),
        sequence: 0xffffffff,
        witness: [],
      },
    ],
    outputs: [{ value: 50n * 100_000_000n, script }],
    lockTime: 0,
  };
}

/** A header on `prev` meeting the regtest target (about half of all nonces do). */
export function grind(h: Omit<BlockHeader, 'nonce'>, good = true): Uint8Array {
  const target = 0x7fffffn << (8n * (0x20n - 3n));
  for (let nonce = 0; ; nonce++) {
    const raw = encodeHeader({ ...h, nonce });
    if (hashToBigInt(headerHash(raw)) <= target === good) return raw;
  }
}

/**
 * `n` blocks on the regtest genesis (or after the blocks `from`): each holds one coinbase paying
 * `payTo(height)`.
 */
export function buildChain(
  n: number,
  payTo: (height: number) => Uint8Array,
  o: { salt?: number; from?: readonly ChainBlock[] } = {},
): ChainBlock[] {
  const genesisTx = decodeTransaction(bytesFromHex(GENESIS_COINBASE));
  const genesisHeader = BITCOIN_REGTEST.genesisHeader;
  const genesisBlock: Block = { header: decodeHeader(genesisHeader), txs: [genesisTx] };
  const chain: ChainBlock[] = o.from?.slice() ?? [];
  if (chain.length === 0) {
    const filter = buildBasicFilter(genesisBlock, []);
    const fh = filterHash(filter);
    chain.push({
      height: 0,
      block: genesisBlock,
      header: genesisHeader,
      hash: headerHash(genesisHeader),
      filter,
      filterHash: fh,
      filterHeader: filterHeader(fh, new Uint8Array(32)),
    });
  }
  const start = chain.length;
  for (let height = start; height < start + n; height++) {
    const prev = chain[height - 1]!;
    const txs = [coinbase(height, payTo(height), o.salt ?? 0)];
    const header = grind({
      version: 0x20000000,
      prevHash: prev.hash,
      merkleRoot: merkleRoot(txs.map(txid)).root,
      time: prev.block.header.time + 600,
      bits: 0x207fffff,
    });
    const block: Block = { header: decodeHeader(header), txs };
    const filter = buildBasicFilter(block, []);
    const fh = filterHash(filter);
    chain.push({
      height,
      block,
      header,
      hash: headerHash(header),
      filter,
      filterHash: fh,
      filterHeader: filterHeader(fh, prev.filterHeader),
    });
  }
  return chain;
}
