/**
 * RC4's keystream loop in WebAssembly, for the long runs of an MSE/PE connection (every byte of an
 * encrypted transfer goes through it). The module is assembled here from its instructions, so
 * the bytes below are the whole of it: no build step and no binary blob.
 *
 * Why WebAssembly: RC4 is a chain of dependent byte loads and stores into a 256-byte table. In
 * JavaScript each of them is a bounds-checked typed-array access; in WebAssembly they are plain
 * loads from linear memory. Measured on the 2-core EPYC with `npm run bench:rc4` (CPU time, same
 * run): about a fifth faster than the JavaScript word loop in rc4.ts with both copies in and out of
 * the module's memory counted.
 *
 * The module's memory (one instance per thread, shared by every generator in it):
 *   [0, 256)     the table S of the generator being run
 *   256, 257     its indices i and j
 *   [1024, 1024 + RC4_WASM_CHUNK_BYTES)   the bytes being processed, in place
 * A generator copies its state in before a call and out after it, so generators stay independent
 * JavaScript objects (258 bytes copied per call, against up to 256 KiB of data).
 *
 * Exported function `rc4(ptr, len)`: XORs `len` bytes at `ptr` with the keystream from the state
 * at [0, 258). Four bytes per iteration as one 32-bit word (little-endian, as WebAssembly always
 * is), then a byte loop for the tail.
 */

/** Bytes processed per call; a longer run goes through in several calls. */
export const RC4_WASM_CHUNK_BYTES = 256 * 1024;
/** Where the data area starts in the module's memory. */
const DATA_AT = 1024;
const PAGE_BYTES = 65536;

// --- a tiny assembler for the one function -------------------------------------------------------

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};

// Parameters 0–1, locals 2–7.
const PTR = 0;
const LEN = 1;
const I = 2;
const J = 3;
const SI = 4;
const SJ = 5;
const END = 6;
const X = 7;
const LOCALS = 6;

const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  get: (l: number) => [0x20, l],
  set: (l: number) => [0x21, l],
  tee: (l: number) => [0x22, l],
  const: (n: number) => [0x41, ...sleb(n)],
  load8: [0x2d, 0, 0],
  load32: [0x28, 0, 0],
  store8: [0x3a, 0, 0],
  store32: [0x36, 0, 0],
  add: [0x6a],
  sub: [0x6b],
  and: [0x71],
  or: [0x72],
  xor: [0x73],
  shl: [0x74],
  ltU: [0x49],
  geU: [0x4f],
} as const;

/** One keystream byte left on the stack: i += 1; j += S[i]; swap S[i], S[j]; S[S[i] + S[j]]. */
const keystreamByte = (): number[] => [
  ...op.get(I),
  ...op.const(1),
  ...op.add,
  ...op.const(255),
  ...op.and,
  ...op.tee(I),
  ...op.load8,
  ...op.tee(SI),
  ...op.get(J),
  ...op.add,
  ...op.const(255),
  ...op.and,
  ...op.tee(J),
  ...op.load8,
  ...op.set(SJ),
  ...op.get(I),
  ...op.get(SJ),
  ...op.store8,
  ...op.get(J),
  ...op.get(SI),
  ...op.store8,
  ...op.get(SI),
  ...op.get(SJ),
  ...op.add,
  ...op.const(255),
  ...op.and,
  ...op.load8,
];

/** `X |= <byte on the stack> << shift`. */
const orInto = (shift: number): number[] => [
  ...op.const(shift),
  ...op.shl,
  ...op.get(X),
  ...op.or,
  ...op.set(X),
];

const body: number[] = [
  // i, j from memory; END = ptr + len
  ...op.const(256),
  ...op.load8,
  ...op.set(I),
  ...op.const(257),
  ...op.load8,
  ...op.set(J),
  ...op.get(PTR),
  ...op.get(LEN),
  ...op.add,
  ...op.set(END),
  // while (END - ptr >= 4): one word
  ...op.block,
  ...op.loop,
  ...op.get(END),
  ...op.get(PTR),
  ...op.sub,
  ...op.const(4),
  ...op.ltU,
  ...op.brIf(1),
  ...keystreamByte(),
  ...op.set(X),
  ...keystreamByte(),
  ...orInto(8),
  ...keystreamByte(),
  ...orInto(16),
  ...keystreamByte(),
  ...orInto(24),
  ...op.get(PTR),
  ...op.get(PTR),
  ...op.load32,
  ...op.get(X),
  ...op.xor,
  ...op.store32,
  ...op.get(PTR),
  ...op.const(4),
  ...op.add,
  ...op.set(PTR),
  ...op.br(0),
  ...op.end,
  ...op.end,
  // while (ptr < END): one byte
  ...op.block,
  ...op.loop,
  ...op.get(PTR),
  ...op.get(END),
  ...op.geU,
  ...op.brIf(1),
  ...keystreamByte(),
  ...op.set(X),
  ...op.get(PTR),
  ...op.get(PTR),
  ...op.load8,
  ...op.get(X),
  ...op.xor,
  ...op.store8,
  ...op.get(PTR),
  ...op.const(1),
  ...op.add,
  ...op.set(PTR),
  ...op.br(0),
  ...op.end,
  ...op.end,
  // i, j back to memory
  ...op.const(256),
  ...op.get(I),
  ...op.store8,
  ...op.const(257),
  ...op.get(J),
  ...op.store8,
  ...op.end,
];

const I32 = 0x7f;
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const name = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const func = [1, LOCALS, I32, ...body];
const pages = Math.ceil((DATA_AT + RC4_WASM_CHUNK_BYTES) / PAGE_BYTES);

/** The module's bytes (exported for the tests, which check it validates). */
export const RC4_WASM_MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [1, 0x60, 2, I32, I32, 0]), // type 0: (i32, i32) → ()
  ...section(3, [1, 0]), // function 0 has type 0
  ...section(5, [1, 0, ...uleb(pages)]), // one memory, `pages` pages, no maximum
  ...section(7, [2, ...name('rc4'), 0, 0, ...name('mem'), 2, 0]),
  ...section(10, [1, ...uleb(func.length), ...func]),
]);

/** The instance of this thread, or undefined where WebAssembly is missing or refused. */
export interface Rc4Wasm {
  /** The module's memory as bytes (state at 0, data at {@link Rc4Wasm.dataAt}). */
  readonly memory: Uint8Array;
  readonly dataAt: number;
  /** XORs `len` bytes at `ptr` with the keystream of the state at [0, 258). */
  readonly run: (ptr: number, len: number) => void;
}

/** The part of the WebAssembly JavaScript API used here (the compiler's libs here do not declare it). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: Record<string, unknown> };
}

let instance: Rc4Wasm | null | undefined;

/** This thread's RC4 module (compiled once, synchronously: it is under 1 KB). */
export function rc4Wasm(): Rc4Wasm | undefined {
  if (instance === undefined) {
    instance = null;
    const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    try {
      if (api !== undefined) {
        const wasm = new api.Instance(new api.Module(RC4_WASM_MODULE));
        const mem = wasm.exports.mem as { readonly buffer: ArrayBuffer };
        instance = {
          memory: new Uint8Array(mem.buffer),
          dataAt: DATA_AT,
          run: wasm.exports.rc4 as (ptr: number, len: number) => void,
        };
      }
    } catch {
      // Refused (a policy against WebAssembly, say): the JavaScript loops serve.
    }
  }
  return instance ?? undefined;
}
