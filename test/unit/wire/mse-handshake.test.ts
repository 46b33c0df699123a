import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { MSE_MAX_IA_BYTES } from '../../../src/shared/limits.js';
import {
  classifyFirstBytes,
  encodeHandshake,
  MSE_CRYPTO_RC4,
  MseInitiator,
  type MseMethod,
  type MseMethodSet,
  type MsePolicy,
  MseResponder,
  makeReserved,
  msePolicyPlan,
} from '../../../src/wire/index.js';
import {
  concatBytes,
  exchange,
  HandMadeKeys,
  handMadeStep3,
  hexOf,
  seededBytes,
  skeyIndex,
} from '../../helpers/mse-peers.js';

const infoHash = new Uint8Array(20).fill(0x5a);
const others = [new Uint8Array(20).fill(1), new Uint8Array(32).fill(2)];
const btHandshake = encodeHandshake({
  reserved: makeReserved({ extended: true }),
  infoHash,
  peerId: new TextEncoder().encode('-SH0100-abcdefghijkl'),
});
const payloadA = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
const payloadB = new Uint8Array(2500).map((_, i) => (i * 13 + 1) & 0xff);
const BOTH: MseMethodSet = { plaintext: true, rc4: true };
const RC4: MseMethodSet = { plaintext: false, rc4: true };
const PLAIN: MseMethodSet = { plaintext: true, rc4: false };

function run(
  provide: MseMethodSet,
  allow: MseMethodSet,
  prefer: MseMethod,
  o: {
    seed?: number;
    chunkSizes?: number[];
    turns?: number[];
    ia?: Uint8Array;
    skey?: Uint8Array;
    maxPadBytes?: number;
  } = {},
) {
  const seed = o.seed ?? 1;
  const pad = o.maxPadBytes === undefined ? {} : { maxPadBytes: o.maxPadBytes };
  return exchange(
    { skey: o.skey ?? infoHash, provide, ia: o.ia ?? btHandshake, random: seededBytes(seed), ...pad },
    { findSkey: skeyIndex([...others, infoHash]), allow, prefer, random: seededBytes(seed + 1000), ...pad },
    {
      initiatorPayload: payloadA,
      responderPayload: payloadB,
      ...(o.chunkSizes ? { chunkSizes: o.chunkSizes } : {}),
      ...(o.turns ? { turns: o.turns } : {}),
    },
  );
}

function assertDelivered(x: ReturnType<typeof run>, method: MseMethod, ia = btHandshake): void {
  assert.equal(x.error, undefined, String(x.error?.error));
  assert.equal(x.initiator?.method, method);
  assert.equal(x.responder?.method, method);
  assert.deepEqual(x.responder?.skey, infoHash);
  assert.deepEqual(x.responder?.ia, ia);
  assert.equal(hexOf(x.atResponder), hexOf(new Uint8Array([...ia, ...payloadA])), 'IA then A payload');
  assert.equal(hexOf(x.atInitiator), hexOf(payloadB), 'B payload');
}

describe('MSE handshake: initiator ↔ responder', () => {
  test('every combination of provided and accepted methods', () => {
    const sets: [string, MseMethodSet][] = [
      ['plaintext', PLAIN],
      ['rc4', RC4],
      ['both', BOTH],
    ];
    let seed = 10;
    for (const [pn, provide] of sets) {
      for (const [an, allow] of sets) {
        for (const prefer of ['plaintext', 'rc4'] as const) {
          const x = run(provide, allow, prefer, { seed: seed++ });
          const common = (['plaintext', 'rc4'] as const).filter((m) => provide[m] && allow[m]);
          const what = `provide ${pn}, allow ${an}, prefer ${prefer}`;
          if (common.length === 0) {
            assert.equal(x.error?.side, 'responder', what);
            assert.ok(isShoalError(x.error.error, ErrorCode.WireMseNoCommonMethod), what);
            assert.equal(x.responder, undefined);
          } else {
            const expected = common.length === 2 ? prefer : common[0]!;
            assertDelivered(x, expected);
          }
        }
      }
    }
  });

  test('RC4 hides the payload on the wire; plaintext leaves it readable; IA is encrypted either way', () => {
    const contains = (hay: Uint8Array, needle: Uint8Array): boolean =>
      Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;
    for (const method of ['rc4', 'plaintext'] as const) {
      const seen: Uint8Array[] = [];
      const x = exchange(
        { skey: infoHash, provide: BOTH, ia: btHandshake, random: seededBytes(3) },
        {
          findSkey: (h) => {
            seen.push(h);
            return skeyIndex([infoHash])(h);
          },
          allow: BOTH,
          prefer: method,
          random: seededBytes(4),
        },
        { initiatorPayload: payloadA, responderPayload: payloadB },
      );
      assertDelivered(x, method);
      assert.equal(seen.length, 1, 'findSkey called once');
      assert.equal(contains(x.wireToResponder, payloadA), method === 'plaintext');
      assert.equal(contains(x.wireToInitiator, payloadB), method === 'plaintext');
      assert.equal(contains(x.wireToResponder, btHandshake.subarray(0, 20)), false, 'IA is RC4');
      assert.equal(contains(x.wireToResponder, infoHash), false, 'the info-hash never crosses');
    }
  });

  test('bytes after the handshake in the same read come out as rest, decrypted, on both sides', () => {
    for (const method of ['rc4', 'plaintext'] as const) {
      const a = new MseInitiator({ skey: infoHash, provide: BOTH, ia: btHandshake, random: seededBytes(30) });
      const b = new MseResponder({
        findSkey: skeyIndex([infoHash]),
        allow: BOTH,
        prefer: method,
        random: seededBytes(31),
      });
      const yb = b.push(a.start()).send!;
      const step3 = a.push(yb).send!;
      // Step 3 but its last byte: B has crypto_provide, so step 4 goes out; IA is not complete.
      const s1 = b.push(step3.subarray(0, step3.length - 1));
      assert.equal(s1.result, undefined);
      const step4 = s1.send!;
      // Step 4 but its last byte: A waits.
      assert.deepEqual(a.push(step4.subarray(0, step4.length - 1)), { send: undefined, result: undefined });
      // The last byte of IA completes B.
      const s2 = b.push(step3.subarray(step3.length - 1));
      const rb = s2.result!;
      assert.equal(rb.method, method);
      assert.deepEqual(rb.ia, btHandshake);
      assert.equal(rb.rest.length, 0);
      // B's payload follows step 4's last byte in one read.
      const outB = Uint8Array.from(payloadB);
      if (rb.method === 'rc4') rb.encrypt.process(outB);
      const ra = a.push(concatBytes(step4.subarray(step4.length - 1), outB)).result!;
      assert.equal(ra.method, method);
      assert.deepEqual(ra.rest, payloadB);
      assert.equal(a.state, 'done');
    }
    // The responder's rest: an initiator that provides only RC4 knows the method and may send its
    // payload right behind IA, before step 4 arrives.
    const hand = new HandMadeKeys(40);
    const b = new MseResponder({
      findSkey: skeyIndex([infoHash]),
      allow: BOTH,
      prefer: 'plaintext',
      random: seededBytes(41),
    });
    const yb = b.push(hand.publicKey).send!;
    const s = hand.secret(yb);
    const step3 = handMadeStep3(s, infoHash, { provide: MSE_CRYPTO_RC4, ia: btHandshake });
    const early = Uint8Array.from(payloadA);
    step3.encrypt.process(early);
    const r = b.push(concatBytes(step3.bytes, early)).result!;
    assert.equal(r.method, 'rc4');
    assert.deepEqual(r.ia, btHandshake);
    assert.deepEqual(r.rest, payloadA);
  });

  test('bytes delivered one at a time, in both directions', () => {
    for (const prefer of ['rc4', 'plaintext'] as const) {
      assertDelivered(run(BOTH, BOTH, prefer, { seed: 20, chunkSizes: [1] }), prefer);
    }
  });

  test('any split of either direction, any interleaving (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom<MseMethod>('rc4', 'plaintext'),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 300 }),
        (chunkSizes, turns, prefer, seed, iaLen) => {
          const ia = new Uint8Array(iaLen).map((_, i) => i ^ seed);
          assertDelivered(run(BOTH, BOTH, prefer, { seed, chunkSizes, turns, ia }), prefer, ia);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('the responder finds the SKEY among several, and refuses an unknown one', () => {
    // others[1] is 32 bytes: its first 20 are not a known SKEY.
    const x = run(RC4, RC4, 'rc4', { skey: others[1]!.subarray(0, 20), maxPadBytes: 0 });
    assert.equal(x.error?.side, 'responder');
    const e = x.error.error;
    assert.ok(isShoalError(e, ErrorCode.WireMseUnknownSkey));
    // Ya (96), no PadA, HASH('req1', S) and the masked HASH('req2', SKEY) (20 each) were read.
    assert.deepEqual(e.details, { role: 'responder', state: 'skey', offset: 96 + 40 });
    const y = run(RC4, RC4, 'rc4', { skey: others[0]! });
    assert.equal(y.error, undefined);
    assert.deepEqual(y.responder?.skey, others[0]);
  });

  test('empty IA, and an IA of exactly MSE_MAX_IA_BYTES', () => {
    assertDelivered(run(RC4, RC4, 'rc4', { seed: 5, ia: new Uint8Array(0) }), 'rc4', new Uint8Array(0));
    const big = new Uint8Array(MSE_MAX_IA_BYTES).map((_, i) => i & 0xff);
    assertDelivered(run(BOTH, BOTH, 'plaintext', { seed: 6, ia: big, chunkSizes: [999] }), 'plaintext', big);
    assert.throws(
      () => run(RC4, RC4, 'rc4', { ia: new Uint8Array(MSE_MAX_IA_BYTES + 1) }),
      RangeError,
      'our own IA over the bound is a programmer error',
    );
  });

  test('without padding (maxPadBytes 0) the messages have their minimal sizes', () => {
    const x = run(RC4, RC4, 'rc4', { maxPadBytes: 0, ia: new Uint8Array(0) });
    assert.equal(x.error, undefined);
    // Ya; the two hashes; VC, crypto_provide, len(PadC), len(IA); then A's payload.
    assert.equal(x.wireToResponder.length, 96 + 40 + 8 + 4 + 2 + 2 + payloadA.length);
    // Yb; VC, crypto_select, len(PadD); then B's payload.
    assert.equal(x.wireToInitiator.length, 96 + 8 + 4 + 2 + payloadB.length);
    const padded = run(RC4, RC4, 'rc4', { seed: 77, ia: new Uint8Array(0) });
    assert.ok(padded.wireToResponder.length > x.wireToResponder.length, 'PadA drawn by default');
  });
});

describe('MSE policies', () => {
  /** What a dialler with policy `d` and an acceptor with policy `l` end up with. */
  function connect(d: MsePolicy, l: MsePolicy): MseMethod | 'refused' {
    const dial = msePolicyPlan(d);
    const listen = msePolicyPlan(l);
    let seed = 100;
    for (const attempt of dial.dial) {
      if (attempt.kind === 'plaintext') {
        if (listen.acceptPlaintext) return 'plaintext';
        continue;
      }
      if (listen.accept === undefined) continue;
      const x = exchange(
        { skey: infoHash, provide: attempt.provide, random: seededBytes(seed++) },
        {
          findSkey: skeyIndex([infoHash]),
          allow: listen.accept.allow,
          prefer: listen.accept.prefer,
          random: seededBytes(seed++),
        },
      );
      if (x.error === undefined) return x.initiator!.method;
      assert.ok(isShoalError(x.error.error, ErrorCode.WireMseNoCommonMethod));
    }
    return 'refused';
  }

  test('dialler policy × acceptor policy', () => {
    // Rows: dialler; columns: acceptor (disabled, enabled, prefer, require). "plaintext" in the
    // MSE rows means the MSE handshake chose plaintext payload, except for a plain BT dial.
    const expected: Record<MsePolicy, (MseMethod | 'refused')[]> = {
      disabled: ['plaintext', 'plaintext', 'plaintext', 'refused'],
      enabled: ['plaintext', 'plaintext', 'plaintext', 'rc4'],
      prefer: ['plaintext', 'plaintext', 'rc4', 'rc4'],
      require: ['refused', 'rc4', 'rc4', 'rc4'],
    };
    const policies: MsePolicy[] = ['disabled', 'enabled', 'prefer', 'require'];
    for (const d of policies) {
      assert.deepEqual(
        policies.map((l) => connect(d, l)),
        expected[d],
        `dialler ${d}`,
      );
    }
  });

  test('what each policy dials and accepts', () => {
    assert.deepEqual(msePolicyPlan('disabled').dial, [{ kind: 'plaintext' }]);
    assert.deepEqual(msePolicyPlan('enabled').dial, [{ kind: 'plaintext' }, { kind: 'mse', provide: BOTH }]);
    assert.deepEqual(msePolicyPlan('prefer').dial, [{ kind: 'mse', provide: BOTH }, { kind: 'plaintext' }]);
    assert.deepEqual(msePolicyPlan('require').dial, [{ kind: 'mse', provide: RC4 }]);
    assert.equal(msePolicyPlan('require').acceptPlaintext, false);
    assert.equal(msePolicyPlan('disabled').accept, undefined);
    assert.deepEqual(msePolicyPlan('enabled').accept, { allow: BOTH, prefer: 'plaintext' });
    assert.deepEqual(msePolicyPlan('prefer').accept, { allow: BOTH, prefer: 'rc4' });
  });
});

describe('classifyFirstBytes', () => {
  test('plaintext BitTorrent, something else, or not enough yet', () => {
    assert.equal(classifyFirstBytes(btHandshake), 'bittorrent');
    assert.equal(classifyFirstBytes(btHandshake.subarray(0, 20)), 'bittorrent');
    for (let n = 0; n < 20; n++) assert.equal(classifyFirstBytes(btHandshake.subarray(0, n)), 'need-more');
    assert.equal(classifyFirstBytes(Uint8Array.of(0x14)), 'not-bittorrent');
    const wrong = Uint8Array.from(btHandshake.subarray(0, 20));
    wrong[19] = 0x6d; // 'BitTorrent protocom'
    assert.equal(classifyFirstBytes(wrong), 'not-bittorrent');
    assert.equal(classifyFirstBytes(wrong.subarray(0, 19)), 'need-more');
    // An initiator's first bytes (its public key) are not a BitTorrent handshake.
    for (let seed = 0; seed < 20; seed++) {
      const ya = exchange(
        { skey: infoHash, provide: RC4, random: seededBytes(seed) },
        { findSkey: skeyIndex([infoHash]), allow: RC4, prefer: 'rc4', random: seededBytes(seed + 1) },
      ).wireToResponder.subarray(0, 96);
      assert.equal(classifyFirstBytes(ya), 'not-bittorrent');
    }
  });
});
