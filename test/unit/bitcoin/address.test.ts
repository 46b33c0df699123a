import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BITCOIN_MAINNET,
  BITCOIN_REGTEST,
  BITCOIN_TESTNET4,
  LITECOIN_REGTEST,
} from '../../../src/bitcoin/chain/index.js';
import { bytesFromHex, bytesToHex } from '../../../src/bitcoin/codec/index.js';
import { hash160, sha256 } from '../../../src/bitcoin/crypto/index.js';
import {
  addressToScript,
  base58CheckDecode,
  base58CheckEncode,
  base58Decode,
  base58Encode,
  bech32Decode,
  classifyOutputScript,
  decodeSegwitAddress,
  p2pkhScript,
  p2shScript,
  p2wpkhScript,
  p2wshScript,
  pushData,
  removeCodeSeparators,
  scriptToAddress,
  witnessScript,
} from '../../../src/bitcoin/tx/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';

const bad = (e: unknown) => isShoalError(e, ErrorCode.BtcBadAddress);

describe('Bech32 and Bech32m strings (BIP 173, BIP 350)', () => {
  const validBech32 = [
    'A12UEL5L',
    'a12uel5l',
    'an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs',
    'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw',
    '11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j',
    'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w',
    '?1ezyfcl',
  ];
  const validBech32m = [
    'A1LQFN3A',
    'a1lqfn3a',
    'an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6',
    'abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx',
    '11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8',
    'split1checkupstagehandshakeupstreamerranterredcaperredlc445v',
    '?1v759aa',
  ];
  test('valid strings decode with their variant', () => {
    for (const s of validBech32) assert.equal(bech32Decode(s).variant, 'bech32', s);
    for (const s of validBech32m) assert.equal(bech32Decode(s).variant, 'bech32m', s);
  });

  test('invalid strings are refused', () => {
    const invalid = [
      '\x201nwldj5',
      '\x7f1axkwrx',
      '\x801eym55h',
      'an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx',
      'pzry9x0s0muk',
      '1pzry9x0s0muk',
      'x1b4n0q5v',
      'li1dgmt3',
      'de1lg7wt\xff',
      'A1G7SGD8',
      '10a06t8',
      '1qzzfhee',
      '\x201xj0phk',
      '\x7f1g6xzxy',
      '\x801vctc34',
      'an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4',
      'qyrz8wqd2c9m',
      '1qyrz8wqd2c9m',
      'y1b0jsk6g',
      'lt1igcx5c0',
      'in1muywd',
      'mm1crxm3i',
      'au1s5cgom',
      'M1VUXWEZ',
      '16plkw9',
      '1p2gdwpf',
    ];
    for (const s of invalid) assert.throws(() => bech32Decode(s), bad, JSON.stringify(s));
  });
});

describe('segwit addresses (BIP 173, BIP 350)', () => {
  const valid: [string, string][] = [
    ['BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', '0014751e76e8199196d454941c45d1b3a323f1433bd6'],
    [
      'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7',
      '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262',
    ],
    [
      'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y',
      '5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6',
    ],
    ['BC1SW50QGDZ25J', '6002751e'],
    ['bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs', '5210751e76e8199196d454941c45d1b3a323'],
    [
      'tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy',
      '0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433',
    ],
    [
      'tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c',
      '5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433',
    ],
    [
      'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0',
      '512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
    ],
  ];

  test('valid addresses give their scripts, and scripts give the address back (lower case)', () => {
    for (const [addr, script] of valid) {
      const params = addr.toLowerCase().startsWith('bc') ? BITCOIN_MAINNET : BITCOIN_TESTNET4;
      assert.equal(bytesToHex(addressToScript(addr, params)), script, addr);
      assert.equal(scriptToAddress(bytesFromHex(script), params), addr.toLowerCase(), addr);
    }
  });

  test('invalid addresses are refused', () => {
    const invalid: [string, string][] = [
      ['tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty', 'tb'],
      ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5', 'bc'],
      ['BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2', 'bc'],
      ['bc1rw5uspcuh', 'bc'],
      ['bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90', 'bc'],
      ['BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P', 'bc'],
      ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7', 'tb'],
      ['bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du', 'bc'],
      ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv', 'tb'],
      ['bc1gmk9yu', 'bc'],
      ['tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut', 'tb'],
      ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd', 'bc'],
      ['tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf', 'tb'],
      ['BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL', 'bc'],
      ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh', 'bc'],
      ['tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47', 'tb'],
      ['bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4', 'bc'],
      ['BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R', 'bc'],
      ['bc1pw5dgrnzv', 'bc'],
      ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav', 'bc'],
      ['tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq', 'tb'],
      ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf', 'bc'],
      ['tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j', 'tb'],
    ];
    for (const [addr, hrp] of invalid) assert.throws(() => decodeSegwitAddress(addr, hrp), bad, addr);
  });

  test("another network's address is refused", () => {
    assert.throws(() => addressToScript('BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', BITCOIN_REGTEST), bad);
    assert.throws(() => addressToScript('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', BITCOIN_REGTEST), bad);
  });
});

describe('Base58Check addresses', () => {
  test('the genesis coinbase key hash is 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', () => {
    const script = p2pkhScript(bytesFromHex('62e907b15cbf27d5425399ebf6f0fb50ebb88f18'));
    assert.equal(scriptToAddress(script, BITCOIN_MAINNET), '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa');
    assert.equal(
      bytesToHex(addressToScript('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', BITCOIN_MAINNET)),
      bytesToHex(script),
    );
  });

  test('leading zero bytes, checksum errors, bad characters, lengths', () => {
    assert.equal(base58Encode(Uint8Array.of(0, 0, 1)), '112');
    assert.deepEqual([...base58Decode('112')], [0, 0, 1]);
    const s = base58CheckEncode(Uint8Array.of(5, 1, 2, 3));
    assert.deepEqual([...base58CheckDecode(s)], [5, 1, 2, 3]);
    const flipped = s.slice(0, -1) + (s.endsWith('1') ? '2' : '1');
    assert.throws(() => base58CheckDecode(flipped), bad);
    assert.throws(() => base58Decode('0OIl'), bad);
    assert.throws(() => base58Decode('1'.repeat(129)), bad);
    assert.throws(() => addressToScript(base58CheckEncode(Uint8Array.of(0, 1, 2)), BITCOIN_MAINNET), bad);
  });

  test('Litecoin regtest addresses as litecoind derives them for one key', () => {
    const pub = bytesFromHex('025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee6357');
    const P = LITECOIN_REGTEST;
    const pkh = p2pkhScript(hash160(pub));
    assert.equal(scriptToAddress(pkh, P), 'miAby844kZiD9aRnxUUiDAoEfLu7FygGRv');
    const wpkh = p2wpkhScript(hash160(pub));
    assert.equal(scriptToAddress(wpkh, P), 'rltc1qr583w2swedy2acd7rung055k8t3n7udpgwu4lv');
    const shwpkh = p2shScript(hash160(wpkh));
    assert.equal(scriptToAddress(shwpkh, P), 'QduBt6kb5rhKG22pSERr84RgfoEN9MpuZt');
    const wsh = p2wshScript(sha256(pkh));
    assert.equal(scriptToAddress(wsh, P), 'rltc1qm5mv697ynl8eve4evscydpllu22kuxhdf5rtj83uplwqdwukqraqrpn8wn');
    for (const addr of ['miAby844kZiD9aRnxUUiDAoEfLu7FygGRv', 'QduBt6kb5rhKG22pSERr84RgfoEN9MpuZt']) {
      assert.equal(scriptToAddress(addressToScript(addr, P), P), addr);
    }
    // The older P2SH version byte (196) still decodes to the same script.
    const legacy = base58CheckEncode(Uint8Array.of(0xc4, ...hash160(wpkh)));
    assert.equal(bytesToHex(addressToScript(legacy, P)), bytesToHex(shwpkh));
  });
});

describe('scripts', () => {
  test('classification of the standard forms', () => {
    const h20 = new Uint8Array(20).fill(1);
    const h32 = new Uint8Array(32).fill(2);
    assert.equal(classifyOutputScript(p2pkhScript(h20)).type, 'p2pkh');
    assert.equal(classifyOutputScript(p2shScript(h20)).type, 'p2sh');
    assert.equal(classifyOutputScript(p2wpkhScript(h20)).type, 'p2wpkh');
    assert.equal(classifyOutputScript(p2wshScript(h32)).type, 'p2wsh');
    assert.equal(classifyOutputScript(witnessScript(1, h32)).type, 'p2tr');
    assert.equal(classifyOutputScript(witnessScript(2, h20)).type, 'witness');
    assert.equal(classifyOutputScript(Uint8Array.of(0x6a, 1, 2)).type, 'op-return');
    assert.equal(classifyOutputScript(Uint8Array.of(0x51)).type, 'nonstandard');
    assert.equal(scriptToAddress(Uint8Array.of(0x6a), BITCOIN_MAINNET), undefined);
    assert.throws(
      () => witnessScript(17, h20),
      (e: unknown) => isShoalError(e, ErrorCode.BtcInvalidArgument),
    );
    assert.throws(
      () => p2pkhScript(h32),
      (e: unknown) => isShoalError(e, ErrorCode.BtcInvalidArgument),
    );
  });

  test('pushes and OP_CODESEPARATOR removal skip pushed data', () => {
    assert.deepEqual([...pushData(new Uint8Array(3))], [3, 0, 0, 0]);
    assert.deepEqual([...pushData(new Uint8Array(80)).subarray(0, 2)], [0x4c, 80]);
    assert.deepEqual([...pushData(new Uint8Array(300)).subarray(0, 3)], [0x4d, 0x2c, 0x01]);
    assert.deepEqual(
      [...removeCodeSeparators(Uint8Array.of(0xab, 0x02, 0xab, 0xab, 0xac, 0xab))],
      [0x02, 0xab, 0xab, 0xac],
    );
  });
});
