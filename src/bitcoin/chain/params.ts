/**
 * Chain parameters as data: everything that tells one network from another for a light node.
 * Facts from Bitcoin Core's and Litecoin Core's chain parameters, BIP 94 (testnet4) and BIP 325
 * (signet); each genesis header is stored as its 80 bytes and its hash is checked by the tests.
 *
 * Signet blocks also carry a signature of the network's challenge in the coinbase; a node that
 * only sees headers cannot check it and relies on the peers it chose, as every header-only client
 * of signet does.
 */
import { bytesFromHex, hashFromHex } from '../codec/hex.js';
import type { PowAlgorithm } from './header.js';

/** A block the chain must contain: a header at `height` with another hash is refused. */
export interface Checkpoint {
  readonly height: number;
  /** Block hash, internal byte order. */
  readonly hash: Uint8Array;
}

/** Address encodings of a network (base58check version bytes, BIP 173 human-readable part). */
export interface AddressPrefixes {
  /** Version byte of P2PKH base58check addresses. */
  readonly pubkeyHash: number;
  /** Version byte of P2SH base58check addresses (the one used when encoding). */
  readonly scriptHash: number;
  /** Further P2SH version bytes accepted when decoding (Litecoin's older `2…`/`m…` form). */
  readonly legacyScriptHash?: number;
  /** Bech32/bech32m human-readable part of segwit addresses. */
  readonly bech32Hrp: string;
}

/** Parameters of one network. */
export interface ChainParams {
  /** Stable name: `'bitcoin'`, `'bitcoin-testnet4'`, `'bitcoin-signet'`, `'bitcoin-regtest'`, `'litecoin-regtest'`. */
  readonly name: string;
  /** The four message-start bytes that open every P2P frame. */
  readonly magic: Uint8Array;
  /** TCP port nodes listen on by default. */
  readonly defaultPort: number;
  /** The genesis block's 80-byte header. */
  readonly genesisHeader: Uint8Array;
  /** The genesis block hash, internal byte order. */
  readonly genesisHash: Uint8Array;
  /** Proof-of-work function (Bitcoin SHA-256d, Litecoin scrypt). */
  readonly pow: PowAlgorithm;
  /** Largest (easiest) target a header may have. */
  readonly powLimit: bigint;
  /** Blocks between two difficulty retargets. */
  readonly retargetInterval: number;
  /** Time the retarget interval should take, in seconds. */
  readonly targetTimespanS: number;
  /** Intended time between blocks, in seconds. */
  readonly targetSpacingS: number;
  /** Testnet's 20-minute rule: a block more than twice the spacing after its parent may use the pow limit. */
  readonly allowMinDifficultyBlocks: boolean;
  /** Regtest: the difficulty never changes at a retarget. */
  readonly noRetargeting: boolean;
  /** BIP 94 (testnet4): retarget from the period's first block's bits, and the 600-second time-warp rule. */
  readonly enforceBip94: boolean;
  /**
   * Litecoin's time-warp fix: a retarget measures the full interval (from the last block of the
   * period before), except at the first retarget after genesis.
   */
  readonly fullPeriodRetarget: boolean;
  /** Heights from which header versions below 2, 3 and 4 are refused (BIP 34, 66, 65). */
  readonly minVersionHeights: readonly [bip34: number, bip66: number, bip65: number];
  /** Known blocks, ascending by height. */
  readonly checkpoints: readonly Checkpoint[];
  /** DNS seeds to ask for peer addresses (mainnet only; the runtime resolves them). */
  readonly dnsSeeds: readonly string[];
  /** BIP 158 filter type served for this network: 0, the basic filter. */
  readonly basicFilterType: 0;
  readonly address: AddressPrefixes;
}

/** Largest future drift of a header's time over the local clock, in seconds (Bitcoin Core's MAX_FUTURE_BLOCK_TIME). */
export const MAX_FUTURE_BLOCK_TIME_S = 2 * 60 * 60;
/** Blocks whose times make the median time past (BIP 113). */
export const MEDIAN_TIME_SPAN = 11;
/** BIP 94: the first block of a period may be at most this much older than its parent, in seconds. */
export const BIP94_MAX_TIMEWARP_S = 600;

const POW_LIMIT_MAIN = (1n << 224n) - 1n;
const POW_LIMIT_REGTEST = (1n << 255n) - 1n;
const TWO_WEEKS_S = 14 * 24 * 60 * 60;

function params(
  p: Omit<ChainParams, 'genesisHash' | 'genesisHeader'> & {
    genesisHeaderHex: string;
    genesisHashHex: string;
  },
): ChainParams {
  const { genesisHeaderHex, genesisHashHex, ...rest } = p;
  return Object.freeze({
    ...rest,
    genesisHeader: bytesFromHex(genesisHeaderHex),
    genesisHash: hashFromHex(genesisHashHex),
  });
}

const cp = (height: number, hex: string): Checkpoint => ({ height, hash: hashFromHex(hex) });

/** Bitcoin mainnet. */
export const BITCOIN_MAINNET: ChainParams = params({
  name: 'bitcoin',
  magic: bytesFromHex('f9beb4d9'),
  defaultPort: 8333,
  genesisHeaderHex:
    '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
  genesisHashHex: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
  pow: 'sha256d',
  powLimit: POW_LIMIT_MAIN,
  retargetInterval: 2016,
  targetTimespanS: TWO_WEEKS_S,
  targetSpacingS: 600,
  allowMinDifficultyBlocks: false,
  noRetargeting: false,
  enforceBip94: false,
  fullPeriodRetarget: false,
  minVersionHeights: [227931, 363725, 388381],
  checkpoints: [
    cp(11111, '0000000069e244f73d78e8fd29ba2fd2ed618bd6fa2ee92559f542fdb26e7c1d'),
    cp(33333, '000000002dd5588a74784eaa7ab0507a18ad16a236e7b1ce69f00d7ddfb5d0a6'),
    cp(74000, '0000000000573993a3c9e41ce34471c079dcf5f52a0e824a81e7f953b8661a20'),
    cp(105000, '00000000000291ce28027faea320c8d2b054b2e0fe44a773f3eefb151d6bdc97'),
    cp(134444, '00000000000005b12ffd4cd315cd34ffd4a594f430ac814c91184a0d42d2b0fe'),
    cp(168000, '000000000000099e61ea72015e79632f216fe6cb33d7899acb35b75c8303b763'),
    cp(193000, '000000000000059f452a5f7340de6682a977387c17010ff6e6c3bd83ca8b1317'),
    cp(210000, '000000000000048b95347e83192f69cf0366076336c639f9b7228e9ba171342e'),
    cp(216116, '00000000000001b4f4b433e81ee46494af945cf96014816a4e2370f11b23df4e'),
    cp(225430, '00000000000001c108384350f74090433e7fcf79a606b8e797f065b130575932'),
    cp(250000, '000000000000003887df1f29024b06fc2200b55f8af8f35453d7be294df2d214'),
    cp(279000, '0000000000000001ae8c72a0b0c301f67e3afca10e819efa9041e458e9bd7e40'),
    cp(295000, '00000000000000004d9b4ef50f0f9d686fd69db2e03af35a100370c64632a983'),
  ],
  dnsSeeds: [
    'seed.bitcoin.sipa.be',
    'dnsseed.bluematt.me',
    'seed.bitcoinstats.com',
    'seed.bitcoin.jonasschnelli.ch',
    'seed.btc.petertodd.net',
    'seed.bitcoin.sprovoost.nl',
    'dnsseed.emzy.de',
    'seed.bitcoin.wiz.biz',
  ],
  basicFilterType: 0,
  address: { pubkeyHash: 0x00, scriptHash: 0x05, bech32Hrp: 'bc' },
});

/** Bitcoin testnet4 (BIP 94). */
export const BITCOIN_TESTNET4: ChainParams = params({
  name: 'bitcoin-testnet4',
  magic: bytesFromHex('1c163f28'),
  defaultPort: 48333,
  genesisHeaderHex:
    '0100000000000000000000000000000000000000000000000000000000000000000000004e7b2b9128fe0291db0693af2ae418b767e657cd407e80cb1434221eaea7a07a046f3566ffff001dbb0c7817',
  genesisHashHex: '00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043',
  pow: 'sha256d',
  powLimit: POW_LIMIT_MAIN,
  retargetInterval: 2016,
  targetTimespanS: TWO_WEEKS_S,
  targetSpacingS: 600,
  allowMinDifficultyBlocks: true,
  noRetargeting: false,
  enforceBip94: true,
  fullPeriodRetarget: false,
  minVersionHeights: [1, 1, 1],
  checkpoints: [],
  dnsSeeds: [],
  basicFilterType: 0,
  address: { pubkeyHash: 0x6f, scriptHash: 0xc4, bech32Hrp: 'tb' },
});

/** The default Bitcoin signet (BIP 325). */
export const BITCOIN_SIGNET: ChainParams = params({
  name: 'bitcoin-signet',
  magic: bytesFromHex('0a03cf40'),
  defaultPort: 38333,
  genesisHeaderHex:
    '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a008f4d5fae77031e8ad22203',
  genesisHashHex: '00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6',
  pow: 'sha256d',
  powLimit: 0x00000377aen << 216n,
  retargetInterval: 2016,
  targetTimespanS: TWO_WEEKS_S,
  targetSpacingS: 600,
  allowMinDifficultyBlocks: false,
  noRetargeting: false,
  enforceBip94: false,
  fullPeriodRetarget: false,
  minVersionHeights: [1, 1, 1],
  checkpoints: [],
  dnsSeeds: [],
  basicFilterType: 0,
  address: { pubkeyHash: 0x6f, scriptHash: 0xc4, bech32Hrp: 'tb' },
});

/** Bitcoin regtest: near-free proof of work and a difficulty that never changes. */
export const BITCOIN_REGTEST: ChainParams = params({
  name: 'bitcoin-regtest',
  magic: bytesFromHex('fabfb5da'),
  defaultPort: 18444,
  genesisHeaderHex:
    '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4adae5494dffff7f2002000000',
  genesisHashHex: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
  pow: 'sha256d',
  powLimit: POW_LIMIT_REGTEST,
  retargetInterval: 2016,
  targetTimespanS: TWO_WEEKS_S,
  targetSpacingS: 600,
  allowMinDifficultyBlocks: true,
  noRetargeting: true,
  enforceBip94: false,
  fullPeriodRetarget: false,
  minVersionHeights: [1, 1, 1],
  checkpoints: [],
  dnsSeeds: [],
  basicFilterType: 0,
  address: { pubkeyHash: 0x6f, scriptHash: 0xc4, bech32Hrp: 'bcrt' },
});

/**
 * Litecoin regtest (Litecoin Core 0.21): Bitcoin's message start and header layout, scrypt proof
 * of work, 2.5-minute spacing over a 3.5-day timespan (the same 2016-block interval).
 */
export const LITECOIN_REGTEST: ChainParams = params({
  name: 'litecoin-regtest',
  magic: bytesFromHex('fabfb5da'),
  defaultPort: 19444,
  genesisHeaderHex:
    '010000000000000000000000000000000000000000000000000000000000000000000000d9ced4ed1130f7b7faad9be25323ffafa33232a17c3edf6cfd97bee6bafbdd97dae5494dffff7f2000000000',
  genesisHashHex: '530827f38f93b43ed12af0b3ad25a288dc02ed74d6d7857862df51fc56c416f9',
  pow: 'scrypt',
  powLimit: POW_LIMIT_REGTEST,
  retargetInterval: 2016,
  targetTimespanS: 7 * 12 * 60 * 60,
  targetSpacingS: 150,
  allowMinDifficultyBlocks: true,
  noRetargeting: true,
  enforceBip94: false,
  fullPeriodRetarget: true,
  minVersionHeights: [500, 1251, 1351],
  checkpoints: [],
  dnsSeeds: [],
  basicFilterType: 0,
  address: { pubkeyHash: 0x6f, scriptHash: 0x3a, legacyScriptHash: 0xc4, bech32Hrp: 'rltc' },
});

/** Every network Shoal knows, by name. */
export const NETWORKS: Readonly<Record<string, ChainParams>> = Object.freeze({
  [BITCOIN_MAINNET.name]: BITCOIN_MAINNET,
  [BITCOIN_TESTNET4.name]: BITCOIN_TESTNET4,
  [BITCOIN_SIGNET.name]: BITCOIN_SIGNET,
  [BITCOIN_REGTEST.name]: BITCOIN_REGTEST,
  [LITECOIN_REGTEST.name]: LITECOIN_REGTEST,
});
