/**
 * Every MSE bound crossed, and every refusal typed: padding, the two sync windows, IA, VC, the
 * public keys, the method fields. Hand-made messages (test/helpers/mse-peers.ts) supply the bytes a
 * correct peer never sends.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ErrorCode as Code, ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import {
  MSE_MAX_IA_BYTES,
  MSE_MAX_PAD_BYTES,
  MSE_MAX_REQ1_SYNC_BYTES,
  MSE_MAX_VC_SYNC_BYTES,
} from '../../../src/shared/limits.js';
import {
  MSE_CRYPTO_PLAINTEXT,
  MSE_CRYPTO_RC4,
  MSE_PRIME,
  type MseError,
  MseInitiator,
  type MseMethodSet,
  MseResponder,
} from '../../../src/wire/index.js';
import {
  concatBytes,
  HandMadeKeys,
  handMadeStep3,
  handMadeStep4,
  seededBytes,
  skeyIndex,
} from '../../helpers/mse-peers.js';

const infoHash = new Uint8Array(20).fill(0x42);
const BOTH: MseMethodSet = { plaintext: true, rc4: true };
const RC4: MseMethodSet = { plaintext: false, rc4: true };
const ia = new Uint8Array(68).fill(0x13);

function isMse(code: Code, fields: Partial<MseError['details']> = {}) {
  return (e: unknown): boolean => {
    assert.ok(isShoalError(e, code), `expected ${code}, got ${String(e)}`);
    for (const [k, v] of Object.entries(fields)) {
      assert.equal((e.details as Record<string, unknown>)[k], v, `details.${k}`);
    }
    return true;
  };
}

/** A random source whose padding-length draw gives `padLength` (with maxPadBytes 512). */
function paddingOf(padLength: number, seed: number): (n: number) => Uint8Array {
  const r = seededBytes(seed);
  return (n) => (n === 2 ? Uint8Array.of(padLength >> 8, padLength & 0xff) : r(n));
}

function responder(allow: MseMethodSet = BOTH, seed = 1): MseResponder {
  return new MseResponder({
    findSkey: skeyIndex([infoHash]),
    allow,
    prefer: 'rc4',
    random: seededBytes(seed),
  });
}

/** A responder that has answered a hand-made Ya; returns it, S and its Yb + PadB. */
function responderAfterYa(allow: MseMethodSet = BOTH) {
  const hand = new HandMadeKeys(7);
  const b = responder(allow);
  const ybPadB = b.push(hand.publicKey).send!;
  return { b, secret: hand.secret(ybPadB), ybPadB };
}

/** An initiator that has sent step 3 to a hand-made responder; returns it and S. */
function initiatorAfterStep3(provide: MseMethodSet = BOTH) {
  const hand = new HandMadeKeys(8);
  const a = new MseInitiator({ skey: infoHash, provide, ia, random: seededBytes(9) });
  const yaPadA = a.start();
  const step3 = a.push(hand.publicKey).send!;
  assert.ok(step3.length >= 40 + 16);
  return { a, secret: hand.secret(yaPadA) };
}

describe('MSE bounds', () => {
  test(`PadA: ${MSE_MAX_PAD_BYTES} bytes pass; one more and HASH('req1', S) is past the window`, () => {
    for (const extra of [0, 1]) {
      const a = new MseInitiator({ skey: infoHash, provide: RC4, ia, random: paddingOf(512, 2) });
      const yaPadA = a.start();
      assert.equal(yaPadA.length, 96 + 512);
      const b = responder();
      const first = concatBytes(yaPadA, new Uint8Array(extra));
      const yb = b.push(first).send!;
      const step3 = a.push(yb).send!;
      if (extra === 0) {
        const r = b.push(step3).result;
        assert.deepEqual(r?.ia, ia);
      } else {
        // 96 + 513 + 20 = 629 > MSE_MAX_REQ1_SYNC_BYTES.
        assert.throws(
          () => b.push(step3),
          isMse(ErrorCode.WireMseNoSync, { role: 'responder', state: 'req1', offset: 96 }),
        );
      }
    }
  });

  test(`the responder gives up exactly when ${MSE_MAX_REQ1_SYNC_BYTES} bytes hold no HASH('req1', S)`, () => {
    const { b } = responderAfterYa();
    const window = MSE_MAX_REQ1_SYNC_BYTES - 96;
    // One short: the hash could still end in the next byte.
    assert.deepEqual(b.push(new Uint8Array(window - 1)), { send: undefined, result: undefined });
    assert.throws(() => b.push(Uint8Array.of(0)), isMse(ErrorCode.WireMseNoSync));
    // Failed for good: the same error again, whatever arrives.
    assert.throws(() => b.push(new Uint8Array(1)), isMse(ErrorCode.WireMseNoSync));
    assert.equal(b.state, 'failed');
  });

  test('a flood after Ya fails at the window in one push, whatever its size', () => {
    const { b } = responderAfterYa();
    assert.throws(() => b.push(new Uint8Array(10 * 1024 * 1024)), isMse(ErrorCode.WireMseNoSync));
  });

  test(`PadB: ${MSE_MAX_PAD_BYTES} bytes pass; one more and ENCRYPT(VC) is past the window`, () => {
    for (const extra of [0, 1]) {
      const a = new MseInitiator({ skey: infoHash, provide: RC4, ia, random: seededBytes(3) });
      const b = new MseResponder({
        findSkey: skeyIndex([infoHash]),
        allow: RC4,
        prefer: 'rc4',
        random: paddingOf(512, 4),
      });
      const ybPadB = b.push(a.start()).send!;
      assert.equal(ybPadB.length, 96 + 512);
      const step3 = a.push(concatBytes(ybPadB, new Uint8Array(extra))).send!;
      const s = b.push(step3);
      if (extra === 0) assert.equal(a.push(s.send!).result?.method, 'rc4');
      else {
        assert.throws(
          () => a.push(s.send!),
          isMse(ErrorCode.WireMseNoSync, { role: 'initiator', state: 'vc', offset: 96 }),
        );
      }
    }
  });

  test(`the initiator gives up exactly when ${MSE_MAX_VC_SYNC_BYTES} bytes hold no ENCRYPT(VC)`, () => {
    const a = new MseInitiator({ skey: infoHash, provide: RC4, ia, random: seededBytes(5) });
    a.start();
    const hand = new HandMadeKeys(6);
    const window = MSE_MAX_VC_SYNC_BYTES - 96;
    assert.ok(a.push(concatBytes(hand.publicKey, new Uint8Array(window - 1))).send !== undefined);
    assert.throws(() => a.push(Uint8Array.of(0)), isMse(ErrorCode.WireMseNoSync, { state: 'vc' }));
  });

  test(`PadC: ${MSE_MAX_PAD_BYTES} bytes pass, ${MSE_MAX_PAD_BYTES + 1} are refused`, () => {
    for (const len of [MSE_MAX_PAD_BYTES, MSE_MAX_PAD_BYTES + 1]) {
      const { b, secret } = responderAfterYa();
      const step3 = handMadeStep3(secret, infoHash, {
        provide: MSE_CRYPTO_RC4,
        padC: new Uint8Array(len),
        ia,
      });
      if (len === MSE_MAX_PAD_BYTES) assert.deepEqual(b.push(step3.bytes).result?.ia, ia);
      else
        assert.throws(() => b.push(step3.bytes), isMse(ErrorCode.WireMsePadTooLarge, { state: 'provide' }));
    }
  });

  test(`PadD: ${MSE_MAX_PAD_BYTES} bytes pass, ${MSE_MAX_PAD_BYTES + 1} are refused`, () => {
    for (const len of [MSE_MAX_PAD_BYTES, MSE_MAX_PAD_BYTES + 1]) {
      const { a, secret } = initiatorAfterStep3();
      const step4 = handMadeStep4(secret, infoHash, { select: MSE_CRYPTO_RC4, padD: new Uint8Array(len) });
      if (len === MSE_MAX_PAD_BYTES) {
        // Padding over several reads, then B's first payload byte.
        const tail = Uint8Array.of(0x99);
        step4.encrypt.process(tail);
        const bytes = concatBytes(step4.bytes, tail);
        assert.equal(a.push(bytes.subarray(0, 300)).result, undefined);
        assert.deepEqual(a.push(bytes.subarray(300)).result?.rest, Uint8Array.of(0x99));
      } else {
        assert.throws(() => a.push(step4.bytes), isMse(ErrorCode.WireMsePadTooLarge, { state: 'select' }));
      }
    }
  });

  test(`IA: ${MSE_MAX_IA_BYTES} bytes pass, a len(IA) of ${MSE_MAX_IA_BYTES + 1} is refused before IA arrives`, () => {
    const big = new Uint8Array(MSE_MAX_IA_BYTES).map((_, i) => i % 251);
    const ok = responderAfterYa();
    const good = handMadeStep3(ok.secret, infoHash, { provide: MSE_CRYPTO_RC4, ia: big });
    assert.deepEqual(ok.b.push(good.bytes).result?.ia, big);
    const over = responderAfterYa();
    const bad = handMadeStep3(over.secret, infoHash, {
      provide: MSE_CRYPTO_RC4,
      iaLength: MSE_MAX_IA_BYTES + 1,
    });
    assert.throws(() => over.b.push(bad.bytes), isMse(ErrorCode.WireMseIaTooLarge, { state: 'iaLength' }));
    // The largest length the wire can say.
    const max = responderAfterYa();
    const worst = handMadeStep3(max.secret, infoHash, { provide: MSE_CRYPTO_RC4, iaLength: 0xffff });
    assert.throws(() => max.b.push(worst.bytes), isMse(ErrorCode.WireMseIaTooLarge));
  });
});

describe('MSE refusals', () => {
  test('a VC that is not zero', () => {
    const { b, secret } = responderAfterYa();
    const step3 = handMadeStep3(secret, infoHash, {
      vc: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1),
      provide: MSE_CRYPTO_RC4,
    });
    assert.throws(() => b.push(step3.bytes), isMse(ErrorCode.WireMseBadVc, { state: 'provide' }));
  });

  test('public keys outside [2, P-2], on both sides', () => {
    const pMinus1 = Uint8Array.from(MSE_PRIME);
    pMinus1[95]! -= 1;
    for (const y of [new Uint8Array(96), concatBytes(new Uint8Array(95), Uint8Array.of(1)), pMinus1]) {
      assert.throws(
        () => responder().push(y),
        isMse(ErrorCode.WireMseBadPublicKey, { role: 'responder', state: 'ya', offset: 96 }),
      );
      const a = new MseInitiator({ skey: infoHash, provide: RC4, random: seededBytes(11) });
      a.start();
      assert.throws(
        () => a.push(y),
        isMse(ErrorCode.WireMseBadPublicKey, { role: 'initiator', state: 'yb' }),
      );
    }
  });

  test('crypto_provide with nothing we allow (zero, unknown bits only, or the other method)', () => {
    for (const [provide, allow] of [
      [0, BOTH],
      [0x04 | 0x80000000, BOTH],
      [MSE_CRYPTO_PLAINTEXT, RC4],
    ] as const) {
      const { b, secret } = responderAfterYa(allow);
      const step3 = handMadeStep3(secret, infoHash, { provide });
      assert.throws(() => b.push(step3.bytes), isMse(ErrorCode.WireMseNoCommonMethod, { state: 'provide' }));
    }
    // Unknown bits beside a known one are ignored.
    const { b, secret } = responderAfterYa(RC4);
    const step3 = handMadeStep3(secret, infoHash, { provide: 0xff00 | MSE_CRYPTO_RC4, ia });
    assert.equal(b.push(step3.bytes).result?.method, 'rc4');
  });

  test('crypto_select that is not exactly one method we provided', () => {
    for (const [select, provide] of [
      [0, BOTH],
      [MSE_CRYPTO_PLAINTEXT | MSE_CRYPTO_RC4, BOTH],
      [0x04, BOTH],
      [MSE_CRYPTO_PLAINTEXT, RC4],
    ] as const) {
      const { a, secret } = initiatorAfterStep3(provide);
      const step4 = handMadeStep4(secret, infoHash, { select });
      assert.throws(() => a.push(step4.bytes), isMse(ErrorCode.WireMseNoCommonMethod, { state: 'select' }));
    }
  });

  test('a short read never fails: every prefix of a valid transcript just waits', () => {
    const { b, secret, ybPadB } = responderAfterYa();
    assert.ok(ybPadB.length >= 96);
    const step3 = handMadeStep3(secret, infoHash, { provide: MSE_CRYPTO_RC4, padC: new Uint8Array(40), ia });
    for (let n = 0; n < step3.bytes.length; n++) {
      const { b: fresh, secret: s } = responderAfterYa();
      const bytes = handMadeStep3(s, infoHash, {
        provide: MSE_CRYPTO_RC4,
        padC: new Uint8Array(40),
        ia,
      }).bytes;
      assert.equal(fresh.push(bytes.subarray(0, n)).result, undefined, `prefix ${n}`);
    }
    assert.deepEqual(b.push(step3.bytes).result?.ia, ia);
  });

  test('misuse is a programmer error, not a ShoalError', () => {
    assert.throws(
      () =>
        new MseInitiator({
          skey: infoHash,
          provide: { plaintext: false, rc4: false },
          random: seededBytes(1),
        }),
      RangeError,
    );
    assert.throws(
      () =>
        new MseResponder({
          findSkey: () => undefined,
          allow: { plaintext: false, rc4: false },
          prefer: 'rc4',
          random: seededBytes(1),
        }),
      RangeError,
    );
    assert.throws(
      () => new MseInitiator({ skey: infoHash, provide: RC4, random: seededBytes(1), maxPadBytes: 513 }),
      RangeError,
    );
    const a = new MseInitiator({ skey: infoHash, provide: RC4, random: seededBytes(1) });
    assert.throws(
      () => a.push(new Uint8Array(1)),
      (e: unknown) => e instanceof Error && !isShoalError(e),
    );
  });
});
