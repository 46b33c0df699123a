/**
 * Fuzz target for the MSE/PE handshake state machines. Every input goes to a fresh responder and
 * a fresh initiator, both with fixed (seeded) keys and padding, so a recorded transcript stays
 * valid for them and mutations of it reach every state, not only the key exchange.
 *
 * Input layout: byte 0 is a control byte (bits 0-1: the responder's accepted methods; bit 2: its
 * preference; bits 5-7: the read size), the rest is the byte stream both machines receive. The
 * seeds are real transcripts in both directions (RC4 and plaintext, with and without IA, with
 * the peer's first payload behind them), and every prefix of each: truncated input must only
 * ever wait. A machine may only return (waiting or done) or throw a ShoalError; a completed
 * handshake must have read at least the smallest legal transcript.
 */
import { SeededRandom } from '../src/engine/index.js';
import { isShoalError } from '../src/shared/errors.js';
import {
  MseInitiator,
  type MseMethod,
  type MseMethodSet,
  MseResponder,
  mseReq2Hash,
} from '../src/wire/index.js';
import { exchange } from '../test/helpers/mse-peers.js';
import type { FuzzTarget } from './target.js';

const SKEY = new Uint8Array(20).fill(0x33);
const OTHER = new Uint8Array(20).fill(0x44);
const REQ2 = new Map([SKEY, OTHER].map((k) => [Buffer.from(mseReq2Hash(k)).toString('hex'), k] as const));
const findSkey = (h: Uint8Array): Uint8Array | undefined => REQ2.get(Buffer.from(h).toString('hex'));
const IA = new Uint8Array(68).map((_, i) => i);
const ALLOW: readonly MseMethodSet[] = [
  { plaintext: true, rc4: true },
  { plaintext: false, rc4: true },
  { plaintext: true, rc4: false },
  { plaintext: true, rc4: true },
];
const READ_SIZES = [1 << 20, 1, 2, 3, 7, 20, 97, 600];
/** Ya (96) + req1 (20) + masked req2 (20) + VC, provide, len(PadC), len(IA) (16). */
const MIN_TO_RESPONDER = 96 + 40 + 16;
/** Yb (96) + VC, select, len(PadD) (14). */
const MIN_TO_INITIATOR = 96 + 14;

function seeded(seed: number): (n: number) => Uint8Array {
  const r = new SeededRandom(seed);
  return (n) => r.bytes(n);
}

function config(control: number): { allow: MseMethodSet; prefer: MseMethod; readSize: number } {
  return {
    allow: ALLOW[control & 3]!,
    prefer: control & 4 ? 'plaintext' : 'rc4',
    readSize: READ_SIZES[control >> 5]!,
  };
}

function newResponder(control: number): MseResponder {
  const c = config(control);
  return new MseResponder({ findSkey, allow: c.allow, prefer: c.prefer, random: seeded(2) });
}

function newInitiator(): MseInitiator {
  return new MseInitiator({ skey: SKEY, provide: { plaintext: true, rc4: true }, ia: IA, random: seeded(1) });
}

/** Feeds `stream` in `readSize` reads; returns the bytes fed when the handshake completed. */
function drive(
  push: (chunk: Uint8Array) => { result: unknown },
  stream: Uint8Array,
  readSize: number,
): number {
  for (let at = 0; at < stream.length; at += readSize) {
    const end = Math.min(stream.length, at + readSize);
    if (push(stream.subarray(at, end)).result !== undefined) return end;
  }
  return -1;
}

function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [control, ia] of [
    [0, IA],
    [4, IA],
    [1, new Uint8Array(0)],
    [2, IA],
  ] as const) {
    const c = config(control);
    const x = exchange(
      { skey: SKEY, provide: { plaintext: true, rc4: true }, ia, random: seeded(1) },
      { findSkey, allow: c.allow, prefer: c.prefer, random: seeded(2) },
      { initiatorPayload: new Uint8Array(40).fill(7), responderPayload: new Uint8Array(40).fill(9) },
    );
    if (x.error !== undefined) throw new Error(`seed transcript failed: ${String(x.error.error)}`);
    for (const stream of [x.wireToResponder, x.wireToInitiator]) {
      // The whole transcript, then every truncation of it.
      for (let n = stream.length; n >= 0; n--) {
        const s = new Uint8Array(n + 1);
        s[0] = control | ((n % 8) << 5);
        s.set(stream.subarray(0, n), 1);
        out.push(s);
      }
    }
  }
  return out;
}

function guard(body: () => void): void {
  try {
    body();
  } catch (e) {
    if (!isShoalError(e)) throw e;
  }
}

export const target: FuzzTarget = {
  seeds,
  run(input) {
    const control = input[0] ?? 0;
    const stream = input.subarray(1);
    const { readSize } = config(control);
    guard(() => {
      const b = newResponder(control);
      const used = drive((c) => b.push(c), stream, readSize);
      if (used >= 0 && used < MIN_TO_RESPONDER) throw new Error(`responder done after ${used} bytes`);
    });
    guard(() => {
      const a = newInitiator();
      a.start();
      const used = drive((c) => a.push(c), stream, readSize);
      if (used >= 0 && used < MIN_TO_INITIATOR) throw new Error(`initiator done after ${used} bytes`);
    });
  },
};
