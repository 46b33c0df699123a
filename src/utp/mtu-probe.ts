/**
 * Path-MTU discovery of one connection, in datagram bytes: a binary search between a floor known
 * to pass and a ceiling (libtorrent does the same). Full packets are cut at the floor; while the
 * two are more than {@link MTU_PROBE_STEP_BYTES} apart, one packet at a time is a probe of the
 * midpoint. An acknowledged probe raises the floor to its size, a lost one lowers the ceiling
 * below it. The ceiling starts at what every peer takes and rises only for a peer that declared
 * larger datagrams (see `EXTENSION_DATAGRAM_SIZE`). A lost probe is resent at its size (uTP never repackages a sequence number), so the
 * ceiling must not exceed what the peer accepts at all. Probing down: when packets of the floor's
 * size stop getting through (repeated timeouts), the path may have narrowed — the floor drops
 * halfway to the minimum and the search starts again below the old floor, as libtorrent does.
 */

/** Probing stops once the floor is this close to the ceiling, in bytes. */
export const MTU_PROBE_STEP_BYTES = 16;

/** The MTU search of one connection. */
export class MtuProbe {
  /** Largest datagram known to pass, in bytes. */
  floor: number;
  /** Largest datagram that may pass, in bytes. */
  ceiling: number;
  /** Seq of the probe in flight, or -1. */
  probeSeq = -1;

  readonly #minimum: number;

  constructor(floor: number, ceiling: number) {
    this.floor = floor;
    this.ceiling = ceiling;
    this.#minimum = floor;
  }

  /** The peer takes datagrams up to `bytes` on a path that may carry them: search up to there. */
  raiseCeiling(bytes: number): void {
    if (bytes > this.ceiling) this.ceiling = bytes;
  }

  /** The path may have narrowed: search again between the minimum and just below the floor. */
  narrowed(): void {
    if (this.floor <= this.#minimum) return;
    this.ceiling = this.floor - 1;
    this.floor = (this.#minimum + this.floor) >> 1;
    this.probeSeq = -1;
  }

  /** Size of the next probe, or 0 when none is due (one in flight, or the search is done). */
  nextProbeBytes(): number {
    if (this.probeSeq >= 0 || this.ceiling - this.floor < MTU_PROBE_STEP_BYTES) return 0;
    return (this.floor + this.ceiling + 1) >> 1;
  }

  /** A probe of `bytes` went out as `seq`. */
  sent(seq: number): void {
    this.probeSeq = seq;
  }

  /** Packet `seq` of `bytes` was acknowledged. */
  acked(seq: number, bytes: number): void {
    if (seq !== this.probeSeq) return;
    this.floor = Math.max(this.floor, bytes);
    this.probeSeq = -1;
  }

  /** Packet `seq` of `bytes` was lost. */
  lost(seq: number, bytes: number): void {
    if (seq !== this.probeSeq) return;
    this.ceiling = Math.max(this.floor, bytes - 1);
    this.probeSeq = -1;
  }
}
