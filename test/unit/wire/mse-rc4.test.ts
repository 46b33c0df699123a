import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MSE_RC4_DISCARD_BYTES, Rc4 } from '../../../src/wire/index.js';
import { RC4_WASM_MIN_BYTES } from '../../../src/wire/mse/rc4.js';
import { RC4_WASM_CHUNK_BYTES, rc4Wasm } from '../../../src/wire/mse/rc4-wasm.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** RFC 6229 §2: keystream samples (16 bytes each) at the given offsets. */
const RFC6229: { key: string; samples: [number, string][] }[] = [
  {
    key: '0102030405',
    samples: [
      [0, 'b2 39 63 05  f0 3d c0 27   cc c3 52 4a  0a 11 18 a8'],
      [16, '69 82 94 4f  18 fc 82 d5   89 c4 03 a4  7a 0d 09 19'],
      [240, '28 cb 11 32  c9 6c e2 86   42 1d ca ad  b8 b6 9e ae'],
      [256, '1c fc f6 2b  03 ed db 64   1d 77 df cf  7f 8d 8c 93'],
      [496, '42 b7 d0 cd  d9 18 a8 a3   3d d5 17 81  c8 1f 40 41'],
      [512, '64 59 84 44  32 a7 da 92   3c fb 3e b4  98 06 61 f6'],
      [752, 'ec 10 32 7b  de 2b ee fd   18 f9 27 76  80 45 7e 22'],
      [768, 'eb 62 63 8d  4f 0b a1 fe   9f ca 20 e0  5b f8 ff 2b'],
      [1008, '45 12 90 48  e6 a0 ed 0b   56 b4 90 33  8f 07 8d a5'],
      [1024, '30 ab bc c7  c2 0b 01 60   9f 23 ee 2d  5f 6b b7 df'],
      [1520, '32 94 f7 44  d8 f9 79 05   07 e7 0f 62  e5 bb ce ea'],
      [1536, 'd8 72 9d b4  18 82 25 9b   ee 4f 82 53  25 f5 a1 30'],
      [2032, '1e b1 4a 0c  13 b3 bf 47   fa 2a 0b a9  3a d4 5b 8b'],
      [2048, 'cc 58 2f 8b  a9 f2 65 e2   b1 be 91 12  e9 75 d2 d7'],
      [3056, 'f2 e3 0f 9b  d1 02 ec bf   75 aa ad e9  bc 35 c4 3c'],
      [3072, 'ec 0e 11 c4  79 dc 32 9d   c8 da 79 68  fe 96 56 81'],
      [4080, '06 83 26 a2  11 84 16 d2   1f 9d 04 b2  cd 1c a0 50'],
      [4096, 'ff 25 b5 89  95 99 67 07   e5 1f bd f0  8b 34 d8 75'],
    ],
  },
  {
    key: '0102030405060708090a0b0c0d0e0f10',
    samples: [
      [0, '9a c7 cc 9a  60 9d 1e f7   b2 93 28 99  cd e4 1b 97'],
      [16, '52 48 c4 95  90 14 12 6a   6e 8a 84 f1  1d 1a 9e 1c'],
      [240, '06 59 02 e4  b6 20 f6 cc   36 c8 58 9f  66 43 2f 2b'],
      [256, 'd3 9d 56 6b  c6 bc e3 01   07 68 15 15  49 f3 87 3f'],
      [496, 'b6 d1 e6 c4  a5 e4 77 1c   ad 79 53 8d  f2 95 fb 11'],
      [512, 'c6 8c 1d 5c  55 9a 97 41   23 df 1d bc  52 a4 3b 89'],
      [752, 'c5 ec f8 8d  e8 97 fd 57   fe d3 01 70  1b 82 a2 59'],
      [768, 'ec cb e1 3d  e1 fc c9 1c   11 a0 b2 6c  0b c8 fa 4d'],
      [1008, 'e7 a7 25 74  f8 78 2a e2   6a ab cf 9e  bc d6 60 65'],
      [1024, 'bd f0 32 4e  60 83 dc c6   d3 ce dd 3c  a8 c5 3c 16'],
      [1520, 'b4 01 10 c4  19 0b 56 22   a9 61 16 b0  01 7e d2 97'],
      [1536, 'ff a0 b5 14  64 7e c0 4f   63 06 b8 92  ae 66 11 81'],
      [2032, 'd0 3d 1b c0  3c d3 3d 70   df f9 fa 5d  71 96 3e bd'],
      [2048, '8a 44 12 64  11 ea a7 8b   d5 1e 8d 87  a8 87 9b f5'],
      [3056, 'fa be b7 60  28 ad e2 d0   e4 87 22 e4  6c 46 15 a3'],
      [3072, 'c0 5d 88 ab  d5 03 57 f9   35 a6 3c 59  ee 53 76 23'],
      [4080, 'ff 38 26 5c  16 42 c1 ab   e8 d3 c2 fe  5e 57 2b f8'],
      [4096, 'a3 6a 4c 30  1a e8 ac 13   61 0c cb c1  22 56 ca cc'],
    ],
  },
  {
    key: '833222772a',
    samples: [
      [0, '80 ad 97 bd  c9 73 df 8a   2e 87 9e 92  a4 97 ef da'],
      [16, '20 f0 60 c2  f2 e5 12 65   01 d3 d4 fe  a1 0d 5f c0'],
      [240, 'fa a1 48 e9  90 46 18 1f   ec 6b 20 85  f3 b2 0e d9'],
      [256, 'f0 da f5 ba  b3 d5 96 83   98 57 84 6f  73 fb fe 5a'],
      [496, '1c 7e 2f c4  63 92 32 fe   29 75 84 b2  96 99 6b c8'],
      [512, '3d b9 b2 49  40 6c c8 ed   ff ac 55 cc  d3 22 ba 12'],
      [752, 'e4 f9 f7 e0  06 61 54 bb   d1 25 b7 45  56 9b c8 97'],
      [768, '75 d5 ef 26  2b 44 c4 1a   9c f6 3a e1  45 68 e1 b9'],
      [1008, '6d a4 53 db  f8 1e 82 33   4a 3d 88 66  cb 50 a1 e3'],
      [1024, '78 28 d0 74  11 9c ab 5c   22 b2 94 d7  a9 bf a0 bb'],
      [1520, 'ad b8 9c ea  9a 15 fb e6   17 29 5b d0  4b 8c a0 5c'],
      [1536, '62 51 d8 7f  d4 aa ae 9a   7e 4a d5 c2  17 d3 f3 00'],
      [2032, 'e7 11 9b d6  dd 9b 22 af   e8 f8 95 85  43 28 81 e2'],
      [2048, '78 5b 60 fd  7e c4 e9 fc   b6 54 5f 35  0d 66 0f ab'],
      [3056, 'af ec c0 37  fd b7 b0 83   8e b3 d7 0b  cd 26 83 82'],
      [3072, 'db c1 a7 b4  9d 57 35 8c   c9 fa 6d 61  d7 3b 7c f0'],
      [4080, '63 49 d1 26  a3 7a fc ba   89 79 4f 98  04 91 4f dc'],
      [4096, 'bf 42 c3 01  8c 2f 7c 66   bf de 52 49  75 76 81 15'],
    ],
  },
];

/** The textbook byte-at-a-time RC4, as an oracle for the word path. */
function referenceKeystream(key: Uint8Array, n: number): Uint8Array {
  const s = Array.from({ length: 256 }, (_, i) => i);
  let j = 0;
  for (let i = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) % 256;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = new Uint8Array(n);
  let i = 0;
  j = 0;
  for (let k = 0; k < n; k++) {
    i = (i + 1) % 256;
    j = (j + s[i]!) % 256;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[k] = s[(s[i]! + s[j]!) % 256]!;
  }
  return out;
}

describe('RC4', () => {
  test('matches every RFC 6229 sample of three keys (one pass over 4112 zero bytes)', () => {
    for (const v of RFC6229) {
      const stream = new Uint8Array(4112);
      new Rc4(hex(v.key)).process(stream);
      for (const [at, want] of v.samples) {
        assert.deepEqual(stream.subarray(at, at + 16), hex(want), `key ${v.key} offset ${at}`);
      }
    }
  });

  test('discarding 1024 bytes (as MSE does) starts the keystream at RFC 6229 offset 1024', () => {
    for (const v of RFC6229) {
      const out = new Uint8Array(16);
      new Rc4(hex(v.key), MSE_RC4_DISCARD_BYTES).process(out);
      assert.deepEqual(out, hex(v.samples.find(([at]) => at === 1024)![1]));
      const skipped = new Rc4(hex(v.key));
      skipped.skip(1008);
      const out2 = new Uint8Array(32);
      skipped.process(out2);
      assert.deepEqual(out2.subarray(16), out);
    }
  });

  test('any split, alignment and chunking gives the reference keystream', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 32 }),
        fc.integer({ min: 0, max: 7 }),
        fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 8 }),
        (key, offset, sizes) => {
          const total = sizes.reduce((a, b) => a + b, 0);
          const backing = new Uint8Array(offset + total + 5).fill(0xaa);
          const data = backing.subarray(offset, offset + total);
          data.fill(0);
          const rc4 = new Rc4(key);
          let at = 0;
          for (const n of sizes) {
            rc4.process(data, at, at + n);
            at += n;
          }
          assert.deepEqual(data, referenceKeystream(key, total));
          // Bytes around the range are untouched.
          assert.ok(backing.subarray(0, offset).every((b) => b === 0xaa));
          assert.ok(backing.subarray(offset + total).every((b) => b === 0xaa));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('the WebAssembly loop is there in Node (else every long run would take the slower path)', () => {
    assert.ok(rc4Wasm() !== undefined);
  });

  test('runs on both sides of the WebAssembly threshold, two generators interleaved, match the reference', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 32 }),
        fc.array(fc.integer({ min: RC4_WASM_MIN_BYTES - 8, max: 3 * RC4_WASM_MIN_BYTES }), {
          minLength: 1,
          maxLength: 6,
        }),
        (key, sizes) => {
          const total = sizes.reduce((a, b) => a + b, 0);
          const a = new Rc4(key);
          const b = new Rc4(key);
          const da = new Uint8Array(total);
          const db = new Uint8Array(total);
          let at = 0;
          // The generators share this thread's module memory: each call must leave the other's state alone.
          for (const n of sizes) {
            a.process(da, at, at + n);
            b.process(db, at, at + n);
            at += n;
          }
          const want = referenceKeystream(key, total);
          assert.deepEqual(da, want);
          assert.deepEqual(db, want);
        },
      ),
      { numRuns: 100 },
    );
  });

  test("a run longer than the module's data area goes through in several calls", () => {
    const key = hex('0102030405');
    const n = 2 * RC4_WASM_CHUNK_BYTES + 123;
    const data = new Uint8Array(n + 3).subarray(3);
    new Rc4(key).process(data);
    assert.deepEqual(data, referenceKeystream(key, n));
  });

  test('processTo leaves the source untouched and writes at the destination offset', () => {
    const key = hex('0102030405');
    const src = new Uint8Array(300).map((_, i) => i & 0xff);
    const copy = Uint8Array.from(src);
    const dst = new Uint8Array(320).fill(0x55);
    new Rc4(key).processTo(src, dst, 10, 290, 7);
    assert.deepEqual(src, copy, 'source unchanged');
    const ks = referenceKeystream(key, 280);
    const want = copy.subarray(10, 290).map((b, k) => b ^ ks[k]!);
    assert.deepEqual(dst.subarray(7, 287), want);
    assert.ok(dst.subarray(0, 7).every((b) => b === 0x55));
    assert.ok(dst.subarray(287).every((b) => b === 0x55));
    // Decrypting restores the plaintext.
    const back = new Uint8Array(280);
    new Rc4(key).processTo(dst, back, 7, 287);
    assert.deepEqual(back, copy.subarray(10, 290));
  });

  test('one generator across two buffers, and a clone continues the same keystream', () => {
    const key = hex('833222772a');
    const a = new Rc4(key);
    const first = new Uint8Array(100);
    a.process(first);
    const b = a.clone();
    const fromA = new Uint8Array(Buffer.alloc(203).buffer, 3, 200);
    fromA.fill(0);
    const fromB = new Uint8Array(200);
    a.process(fromA);
    b.process(fromB);
    assert.deepEqual(fromA, fromB);
    assert.deepEqual(fromB, referenceKeystream(key, 300).subarray(100));
  });

  test('bad keys and ranges are programmer errors', () => {
    assert.throws(() => new Rc4(new Uint8Array(0)), RangeError);
    assert.throws(() => new Rc4(new Uint8Array(257)), RangeError);
    const r = new Rc4(Uint8Array.of(1));
    assert.throws(() => r.process(new Uint8Array(4), 2, 5), RangeError);
    assert.throws(() => r.processTo(new Uint8Array(4), new Uint8Array(3)), RangeError);
  });
});
