import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ByteWriter, bytesFromHex, bytesToHex, hashToHex } from '../../../src/bitcoin/codec/index.js';
import { sha256d } from '../../../src/bitcoin/crypto/index.js';
import {
  blockHash,
  decodeBlock,
  decodeTransaction,
  encodeBlock,
  encodeDer,
  encodeTransaction,
  hasWitness,
  isCoinbase,
  legacySighashPreimage,
  lowS,
  merkleProof,
  merkleRoot,
  PrivateKey,
  parseDer,
  rootFromProof,
  SighashType,
  sighashOf,
  signP2pkhInput,
  signP2wpkhInput,
  type Transaction,
  txid,
  verifyBlockCommitments,
  verifyMerkleProof,
  verifyPreimage,
  weight,
  witnessV0SighashPreimage,
  wtxid,
} from '../../../src/bitcoin/tx/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { BTC_MAX_BLOCK_TXS } from '../../../src/shared/limits.js';

const h = bytesFromHex;
const isCode = (code: string) => (e: unknown) => isShoalError(e) && e.code === code;

// BIP 143, "Native P2WPKH".
const UNSIGNED =
  '0100000002fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f0000000000eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac11000000';
const SIGNED =
  '01000000000102fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f00000000494830450221008b9d1dc26ba6a9cb62127b02742fa9d754cd3bebf337f7a55d114c8e5cdd30be022040529b194ba3f9281a99f2b1c0a19c0489bc22ede944ccf4ecbab4cc618ef3ed01eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac000247304402203609e17b84f6a7d30c80bfa610b5b4542f32a8a0d5447a12fb1366d7f01cc44a0220573a954c4518331561406f90300e8f3358f51928d43c212a8caed02de67eebee0121025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee635711000000';
const P2PK_SCRIPT = '2103c9f4836b9a4f77fc0d81f7bcb01b7f1b35916864b9476c241ce9fc198bd25432ac';
const KEY1 = 'bbc27228ddcb9209d7fd6f36b02f7dfa6252af40bb2f1cbc7a557da8027ff866';
const KEY2 = '619c335025c7f4012e556c2a58b2506e30b8511b53ade95ea316fd8c3286feb9';

describe('transactions (BIP 141/144)', () => {
  test('the BIP 143 transactions parse and serialize byte-identically', () => {
    const unsigned = decodeTransaction(h(UNSIGNED));
    assert.equal(unsigned.inputs.length, 2);
    assert.equal(unsigned.outputs[0]!.value, 112340000n);
    assert.equal(unsigned.lockTime, 17);
    assert.equal(unsigned.inputs[0]!.sequence, 0xffffffee);
    assert.equal(bytesToHex(encodeTransaction(unsigned)), UNSIGNED);
    const signed = decodeTransaction(h(SIGNED));
    assert.ok(hasWitness(signed));
    assert.equal(bytesToHex(encodeTransaction(signed)), SIGNED);
    assert.equal(signed.inputs[1]!.witness.length, 2);
    // The txid ignores the witness (and so equals the txid of the same tx with the script_sig),
    // the wtxid covers it.
    assert.equal(bytesToHex(txid(signed)), bytesToHex(sha256d(encodeTransaction(signed, false))));
    assert.notEqual(bytesToHex(txid(signed)), bytesToHex(wtxid(signed)));
    assert.equal(bytesToHex(txid(unsigned)), bytesToHex(wtxid(unsigned)));
    assert.equal(weight(signed), encodeTransaction(signed, false).length * 3 + h(SIGNED).length);
  });

  test('malformed transactions: unknown flags, superfluous witness, lying counts, trailing bytes', () => {
    const signed = h(SIGNED);
    const flags2 = signed.slice();
    flags2[5] = 0x03;
    assert.throws(() => decodeTransaction(flags2), isCode(ErrorCode.BtcBadTransaction));
    // Marker and flag with all-empty witnesses.
    const noWitness: Transaction = { ...decodeTransaction(h(UNSIGNED)) };
    const forced = encodeTransaction(noWitness, true);
    assert.throws(() => decodeTransaction(forced), isCode(ErrorCode.BtcBadTransaction));
    // An input count that the bytes cannot hold.
    const lying = h(UNSIGNED).slice();
    lying[4] = 0xfc;
    assert.throws(() => decodeTransaction(lying), isCode(ErrorCode.BtcTruncated));
    assert.throws(
      () => decodeTransaction(Uint8Array.of(...h(UNSIGNED), 0)),
      isCode(ErrorCode.BtcTrailingData),
    );
    assert.throws(() => decodeTransaction(h(UNSIGNED).subarray(0, 50)), isCode(ErrorCode.BtcTruncated));
    // A non-minimal CompactSize (0xfd 0x02 0x00 for 2 inputs).
    const nonMinimal = Uint8Array.of(
      ...h(UNSIGNED).subarray(0, 4),
      0xfd,
      0x02,
      0x00,
      ...h(UNSIGNED).subarray(5),
    );
    assert.throws(() => decodeTransaction(nonMinimal), isCode(ErrorCode.BtcNonCanonical));
  });
});

describe('signature hashes and signing', () => {
  const unsigned = decodeTransaction(h(UNSIGNED));
  const signed = decodeTransaction(h(SIGNED));
  const key2 = PrivateKey.fromBytes(h(KEY2));

  test('keys: the public keys of the BIP 143 private keys', () => {
    assert.equal(bytesToHex(PrivateKey.fromBytes(h(KEY1)).publicKey), P2PK_SCRIPT.slice(2, 68));
    assert.equal(
      bytesToHex(key2.publicKey),
      '025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee6357',
    );
    assert.equal(bytesToHex(key2.publicKeyHash), '1d0f172a0ecb48aee1be1f2687d2963ae33f71a1');
    assert.throws(() => PrivateKey.fromBytes(new Uint8Array(32)), isCode(ErrorCode.BtcBadKey));
    assert.throws(() => PrivateKey.fromBytes(new Uint8Array(32).fill(0xff)), isCode(ErrorCode.BtcBadKey));
    assert.throws(() => PrivateKey.fromBytes(new Uint8Array(31).fill(1)), isCode(ErrorCode.BtcBadKey));
  });

  test('BIP 143 P2WPKH: the preimage and sighash of the vector, and its signature verifies', () => {
    const scriptCode = h('76a9141d0f172a0ecb48aee1be1f2687d2963ae33f71a188ac');
    const pre = witnessV0SighashPreimage(unsigned, 1, scriptCode, 600000000n, SighashType.All);
    assert.equal(
      bytesToHex(pre),
      '0100000096b827c8483d4e9b96712b6713a7b68d6e8003a781feba36c31143470b4efd3752b0a642eea2fb7ae638c36f6252b6750293dbe574a806984b8e4d8548339a3bef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a010000001976a9141d0f172a0ecb48aee1be1f2687d2963ae33f71a188ac0046c32300000000ffffffff863ef3e1a92afbfdb97f31ad0fc7683ee943e9abcf2501590ff8f6551f47e5e51100000001000000',
    );
    assert.equal(
      bytesToHex(sighashOf(pre)),
      'c37af31116d1b27caf68aae9e3ac82f1477929014d5b917657d0eb49478cb670',
    );
    const sig = signed.inputs[1]!.witness[0]!;
    assert.equal(sig[sig.length - 1], SighashType.All);
    assert.ok(verifyPreimage(key2.publicKey, pre, sig.subarray(0, -1)));
    assert.ok(!verifyPreimage(key2.publicKey, Uint8Array.of(...pre, 0), sig.subarray(0, -1)));
  });

  test("legacy sighash: the vector's P2PK input signature verifies against our preimage", () => {
    const pre = legacySighashPreimage(unsigned, 0, h(P2PK_SCRIPT), SighashType.All);
    const scriptSig = signed.inputs[0]!.scriptSig;
    const sig = scriptSig.subarray(1, 1 + scriptSig[0]! - 1);
    assert.ok(verifyPreimage(h(P2PK_SCRIPT).subarray(1, 34), pre, sig));
    // Another hash type commits to something else.
    const none = legacySighashPreimage(unsigned, 0, h(P2PK_SCRIPT), SighashType.None);
    assert.ok(!verifyPreimage(h(P2PK_SCRIPT).subarray(1, 34), none, sig));
    assert.throws(
      () => legacySighashPreimage({ ...unsigned, outputs: [] }, 0, h(P2PK_SCRIPT), SighashType.Single),
      isCode(ErrorCode.BtcInvalidArgument),
    );
  });

  test('signing a P2WPKH input: the witness verifies and S is low', () => {
    const out = signP2wpkhInput(unsigned, 1, key2, 600000000n);
    const [sig, pub] = out.inputs[1]!.witness;
    assert.equal(bytesToHex(pub!), bytesToHex(key2.publicKey));
    const der = sig!.subarray(0, -1);
    const pre = witnessV0SighashPreimage(
      unsigned,
      1,
      h('76a9141d0f172a0ecb48aee1be1f2687d2963ae33f71a188ac'),
      600000000n,
      1,
    );
    assert.ok(verifyPreimage(key2.publicKey, pre, der));
    const { s } = parseDer(der);
    assert.ok(s <= 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n, 'low S');
    // The txid of the signed transaction is the txid of the unsigned one (segwit's point).
    assert.equal(bytesToHex(txid(out)), bytesToHex(txid(unsigned)));
  });

  test('signing a P2PKH input: the script_sig pushes a verifying signature and the key', () => {
    const key = PrivateKey.fromBytes(h(KEY1));
    const out = signP2pkhInput(unsigned, 0, key);
    const ss = out.inputs[0]!.scriptSig;
    const sig = ss.subarray(1, 1 + ss[0]!);
    assert.equal(bytesToHex(ss.subarray(2 + ss[0]!)), bytesToHex(key.publicKey));
    const pre = legacySighashPreimage(unsigned, 0, h(`76a914${bytesToHex(key.publicKeyHash)}88ac`), 1);
    assert.ok(verifyPreimage(key.publicKey, pre, sig.subarray(0, -1)));
  });

  test('low-S normalisation replaces a high S with n − S', () => {
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const high = encodeDer(5n, n - 7n);
    assert.deepEqual(parseDer(lowS(high)), { r: 5n, s: 7n });
    const low = encodeDer(5n, 7n);
    assert.equal(lowS(low), low);
    assert.throws(() => parseDer(Uint8Array.of(0x30, 1, 2)), isCode(ErrorCode.BtcBadKey));
  });
});

describe('merkle roots and proofs', () => {
  const leaves = Array.from({ length: 7 }, (_, i) => sha256d(Uint8Array.of(i)));

  test('a proof for every leaf of an odd tree verifies, and not for another leaf or index', () => {
    const { root, mutated } = merkleRoot(leaves);
    assert.equal(mutated, false);
    for (let i = 0; i < leaves.length; i++) {
      const p = merkleProof(leaves, i);
      assert.equal(p.siblings.length, 3);
      assert.ok(verifyMerkleProof(leaves[i]!, p, root), `leaf ${i}`);
      assert.ok(!verifyMerkleProof(leaves[(i + 1) % 7]!, p, root));
      // (The last leaf of an odd level is its own sibling: its index cannot be told from its twin's.)
      if (i < 6) assert.ok(!verifyMerkleProof(leaves[i]!, { ...p, index: i ^ 1 }, root));
      assert.ok(!verifyMerkleProof(leaves[i]!, { ...p, index: i + 8 }, root), 'index beyond the depth');
    }
    assert.equal(bytesToHex(rootFromProof(leaves[0]!, merkleProof([leaves[0]!], 0))), bytesToHex(leaves[0]!));
    assert.throws(() => merkleProof(leaves, 7), RangeError);
  });

  test('CVE-2012-2459: a duplicated last hash gives the same root but is flagged mutated', () => {
    const three = leaves.slice(0, 3);
    const four = [...three, three[2]!];
    assert.equal(bytesToHex(merkleRoot(three).root), bytesToHex(merkleRoot(four).root));
    assert.equal(merkleRoot(three).mutated, false);
    assert.equal(merkleRoot(four).mutated, true);
    // A duplicated pair deeper in the tree is caught too.
    const six = [...leaves.slice(0, 4), leaves[4]!, leaves[5]!];
    const dupPairs = [...six, leaves[4]!, leaves[5]!];
    assert.equal(merkleRoot(dupPairs).mutated, true);
    assert.equal(bytesToHex(merkleRoot([]).root), '00'.repeat(32));
  });
});

describe('blocks (the BIP 158 vector blocks)', () => {
  const vectors = JSON.parse(
    readFileSync(new URL('../../fixtures/bitcoin/bip158-testnet-19.json', import.meta.url), 'utf8'),
  ) as unknown[][];
  const rows = vectors.slice(1) as [number, string, string, string[], string, string, string, string][];

  test('parse, hash, re-serialize and verify every block', () => {
    for (const [height, hash, blockHex] of rows) {
      const b = decodeBlock(h(blockHex));
      assert.equal(hashToHex(blockHash(b)), hash, `block ${height}`);
      assert.equal(bytesToHex(encodeBlock(b)), blockHex, `block ${height} round trip`);
      assert.ok(isCoinbase(b.txs[0]!));
      verifyBlockCommitments(b);
    }
  });

  test(`a block declaring more than BTC_MAX_BLOCK_TXS (${BTC_MAX_BLOCK_TXS}) transactions is refused`, () => {
    const header = h(rows[0]![2]).subarray(0, 80);
    const over = new ByteWriter()
      .bytes(header)
      .compactSize(BTC_MAX_BLOCK_TXS + 1)
      .bytes(new Uint8Array(10 * (BTC_MAX_BLOCK_TXS + 1)))
      .finish();
    assert.throws(() => decodeBlock(over), isCode(ErrorCode.BtcTooLarge));
    const at = new ByteWriter()
      .bytes(header)
      .compactSize(BTC_MAX_BLOCK_TXS)
      .bytes(new Uint8Array(10 * BTC_MAX_BLOCK_TXS))
      .finish();
    // At the bound: ten zero bytes are the smallest transaction (no inputs, no outputs).
    assert.equal(decodeBlock(at).txs.length, BTC_MAX_BLOCK_TXS);
  });

  test('a block whose transactions do not match its header is refused', () => {
    const b = decodeBlock(h(rows[4]![2]));
    assert.ok(b.txs.length > 1);
    const swapped = { ...b, txs: [b.txs[0]!, ...b.txs.slice(1).reverse()] };
    if (b.txs.length > 2) assert.throws(() => verifyBlockCommitments(swapped), isCode(ErrorCode.BtcBadBlock));
    const duplicated = { ...b, txs: [...b.txs, b.txs[b.txs.length - 1]!] };
    if (b.txs.length % 2 === 1)
      assert.throws(() => verifyBlockCommitments(duplicated), isCode(ErrorCode.BtcBadBlock));
    assert.throws(() => verifyBlockCommitments({ ...b, txs: [] }), isCode(ErrorCode.BtcBadBlock));
  });

  test('a segwit block: the witness commitment is checked', () => {
    const segwit = rows.find((r) => decodeBlock(h(r[2])).txs.some(hasWitness));
    assert.ok(segwit, 'a vector block with witness data');
    const b = decodeBlock(h(segwit[2]));
    verifyBlockCommitments(b);
    const i = b.txs.findIndex(hasWitness);
    const tx = b.txs[i]!;
    const tampered = {
      ...tx,
      inputs: tx.inputs.map((inp) =>
        inp.witness.length > 0 ? { ...inp, witness: [...inp.witness, Uint8Array.of(1)] } : inp,
      ),
    };
    const bad = { ...b, txs: b.txs.map((t, k) => (k === i ? tampered : t)) };
    assert.throws(() => verifyBlockCommitments(bad), isCode(ErrorCode.BtcBadBlock));
  });
});
