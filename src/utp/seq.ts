/**
 * 16-bit sequence-number arithmetic (BEP 29: `seq_nr` and `ack_nr` count packets and wrap at
 * 65536). Comparisons are modular: `a` is before `b` when `b - a` (mod 2¹⁶) is in 1 … 32767, so
 * they hold across the 65535 → 0 wrap as long as the live window stays under 32768 packets.
 */

/** Mask of a 16-bit sequence number. */
export const SEQ_MASK = 0xffff;

/** `a + n` modulo 2¹⁶. */
export function seqAdd(a: number, n: number): number {
  return (a + n) & SEQ_MASK;
}

/** `a - b` modulo 2¹⁶, in 0 … 65535 (how far `a` is after `b`). */
export function seqDiff(a: number, b: number): number {
  return (a - b) & SEQ_MASK;
}

/** True when `a` comes strictly before `b`. */
export function seqLess(a: number, b: number): boolean {
  const d = (b - a) & SEQ_MASK;
  return d !== 0 && d < 0x8000;
}
