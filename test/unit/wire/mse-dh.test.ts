import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeededRandom } from '../../../src/engine/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import {
  isValidMsePublicKey,
  MSE_KEY_BYTES,
  MSE_PRIME,
  msePrivateKey,
  msePublicKey,
  mseSharedSecret,
} from '../../../src/wire/index.js';

const P = BigInt(`0x${Buffer.from(MSE_PRIME).toString('hex')}`);
const toBig = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
const to96 = (n: bigint): Uint8Array => new Uint8Array(Buffer.from(n.toString(16).padStart(192, '0'), 'hex'));

/** Square-and-multiply, the oracle for OpenSSL's exponentiation. */
function modpow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
  }
  return r;
}

describe('MSE Diffie-Hellman', () => {
  test("the prime is the spec's 768-bit P", () => {
    assert.equal(MSE_PRIME.length, MSE_KEY_BYTES);
    assert.equal(
      Buffer.from(MSE_PRIME).toString('hex').toUpperCase(),
      'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
    );
  });

  test('private keys are 160 bits from the injected source; public keys are 2^X mod P in 96 bytes', () => {
    const random = new SeededRandom(1);
    for (let k = 0; k < 20; k++) {
      const x = msePrivateKey((n) => random.bytes(n));
      assert.equal(x.length, 20);
      assert.ok(x[0]! >= 0x80, 'top bit set: a full 160-bit exponent');
      const y = msePublicKey(x);
      assert.equal(y.length, MSE_KEY_BYTES);
      assert.deepEqual(y, to96(modpow(2n, toBig(x), P)));
    }
  });

  test('both sides agree on S, equal to the BigInt oracle, left-padded to 96 bytes', () => {
    const random = new SeededRandom(2);
    for (let k = 0; k < 10; k++) {
      const xa = msePrivateKey((n) => random.bytes(n));
      const xb = msePrivateKey((n) => random.bytes(n));
      const sa = mseSharedSecret(xa, msePublicKey(xb));
      const sb = mseSharedSecret(xb, msePublicKey(xa));
      assert.deepEqual(sa, sb);
      assert.equal(sa.length, MSE_KEY_BYTES);
      assert.deepEqual(sa, to96(modpow(modpow(2n, toBig(xb), P), toBig(xa), P)));
    }
    // A secret with leading zero bytes still comes out as 96 bytes: with the exponent 1, S is the
    // remote key itself, here 2^700 (its first 8 bytes are zero).
    const y = to96(2n ** 700n);
    assert.deepEqual(mseSharedSecret(Uint8Array.of(1), y), y);
  });

  test('remote public keys outside [2, P-2] are refused with a typed error', () => {
    const x = msePrivateKey((n) => new SeededRandom(3).bytes(n));
    const bad = [0n, 1n, P - 1n, P, P + 1n, 2n ** 768n - 1n];
    for (const y of bad) {
      assert.equal(isValidMsePublicKey(to96(y)), false, `y = ${y.toString(16)}`);
      assert.throws(
        () => mseSharedSecret(x, to96(y)),
        (e: unknown) => isShoalError(e, ErrorCode.WireMseBadPublicKey),
      );
    }
    for (const y of [2n, 3n, 2n ** 700n, P - 2n]) assert.equal(isValidMsePublicKey(to96(y)), true);
    assert.equal(isValidMsePublicKey(new Uint8Array(95).fill(1)), false, 'wrong length');
  });
});
