/**
 * SipHash-2-4 (Aumasson and Bernstein), the keyed 64-bit hash of BIP 158 filters and BIP 152 short
 * transaction ids. JavaScript has no 64-bit integers outside BigInt, which is slow for this inner
 * loop, so each 64-bit lane is held as two unsigned 32-bit halves.
 */

/** A prepared 128-bit key: k0 and k1 as little-endian 64-bit words, each split into (low, high) halves. */
export type SipKey = Readonly<Uint32Array>;

/** The key whose k0 and k1 are the little-endian words of `key[0, 8)` and `key[8, 16)`. */
export function sipKey(key: Uint8Array): SipKey {
  if (key.length < 16) throw new RangeError(`SipHash key needs 16 bytes, got ${key.length}`);
  const v = new DataView(key.buffer, key.byteOffset, 16);
  return Uint32Array.of(
    v.getUint32(0, true),
    v.getUint32(4, true),
    v.getUint32(8, true),
    v.getUint32(12, true),
  );
}

// The state: v0..v3 as (low, high) pairs in one array, reused by every call (single-threaded).
const s = new Uint32Array(8);

function add(a: number, b: number): void {
  const lo = (s[a]! + s[b]!) >>> 0;
  const carry = lo < s[a]! ? 1 : 0;
  s[a + 1] = (s[a + 1]! + s[b + 1]! + carry) >>> 0;
  s[a] = lo;
}

function rotl(a: number, n: number): void {
  const lo = s[a]!;
  const hi = s[a + 1]!;
  if (n === 32) {
    s[a] = hi;
    s[a + 1] = lo;
    return;
  }
  s[a + 1] = ((hi << n) | (lo >>> (32 - n))) >>> 0;
  s[a] = ((lo << n) | (hi >>> (32 - n))) >>> 0;
}

function xor(a: number, b: number): void {
  s[a] = (s[a]! ^ s[b]!) >>> 0;
  s[a + 1] = (s[a + 1]! ^ s[b + 1]!) >>> 0;
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function round(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  rotl(V0, 32);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  rotl(V2, 32);
}

function compress(lo: number, hi: number): void {
  s[V3] = (s[V3]! ^ lo) >>> 0;
  s[V3 + 1] = (s[V3 + 1]! ^ hi) >>> 0;
  round();
  round();
  s[V0] = (s[V0]! ^ lo) >>> 0;
  s[V0 + 1] = (s[V0 + 1]! ^ hi) >>> 0;
}

/** Output of the last {@link siphash24Into} call: [low 32 bits, high 32 bits]. */
const out = new Uint32Array(2);

/** SipHash-2-4 of `data`; returns a shared [low, high] pair, valid until the next call. */
export function siphash24Into(key: SipKey, data: Uint8Array): Readonly<Uint32Array> {
  // "somepseudorandomlygeneratedbytes", the initialisation constants of the SipHash paper.
  s[0] = (key[0]! ^ 0x70736575) >>> 0;
  s[1] = (key[1]! ^ 0x736f6d65) >>> 0;
  s[2] = (key[2]! ^ 0x6e646f6d) >>> 0;
  s[3] = (key[3]! ^ 0x646f7261) >>> 0;
  s[4] = (key[0]! ^ 0x6e657261) >>> 0;
  s[5] = (key[1]! ^ 0x6c796765) >>> 0;
  s[6] = (key[2]! ^ 0x79746573) >>> 0;
  s[7] = (key[3]! ^ 0x74656462) >>> 0;
  const n = data.length;
  const whole = n - (n % 8);
  for (let i = 0; i < whole; i += 8) {
    const lo = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    const hi = (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24)) >>> 0;
    compress(lo, hi);
  }
  // The last word: the remaining bytes, and the length's low byte in the top byte.
  let lo = 0;
  let hi = (n & 0xff) << 24;
  for (let i = whole; i < n; i++) {
    const shift = (i - whole) * 8;
    if (shift < 32) lo |= data[i]! << shift;
    else hi |= data[i]! << (shift - 32);
  }
  compress(lo >>> 0, hi >>> 0);
  s[V2] = (s[V2]! ^ 0xff) >>> 0;
  round();
  round();
  round();
  round();
  out[0] = (s[0]! ^ s[2]! ^ s[4]! ^ s[6]!) >>> 0;
  out[1] = (s[1]! ^ s[3]! ^ s[5]! ^ s[7]!) >>> 0;
  return out;
}

/** SipHash-2-4 of `data` as an unsigned 64-bit bigint. */
export function siphash24(key: SipKey, data: Uint8Array): bigint {
  const r = siphash24Into(key, data);
  return (BigInt(r[1]!) << 32n) | BigInt(r[0]!);
}
