/**
 * Round-trip time and retransmission timeout of one connection (BEP 29 §timeouts, RFC 6298 in
 * spirit): a smoothed RTT and its variance from packets acknowledged after a single transmission
 * (Karn's rule), a timeout of `rtt + 4·rtt_var` within [{@link UTP_MIN_RTO_MS},
 * {@link UTP_MAX_RTO_MS}], doubled for each consecutive timeout. Times are in ms.
 */
import { UTP_INITIAL_RTO_MS, UTP_MAX_RTO_MS, UTP_MIN_RTO_MS } from '../shared/limits.js';

/** The RTT estimator and timeout of one connection. */
export class RttEstimator {
  /** Smoothed round-trip time, in ms (0 before the first sample). */
  rttMs = 0;
  /** Mean deviation of the round-trip time, in ms. */
  rttVarMs = 0;
  /** Smallest sample seen, in ms (Infinity before the first sample). */
  minRttMs = Number.POSITIVE_INFINITY;
  /** Consecutive timeouts since the last acknowledgement; each doubles the timeout. */
  backoff = 0;
  #hasSample = false;
  #baseRtoMs = UTP_INITIAL_RTO_MS;

  /** Feeds one round-trip sample of a packet sent once, in ms. */
  sample(ms: number): void {
    if (ms < 0) return;
    if (!this.#hasSample) {
      this.#hasSample = true;
      this.rttMs = ms;
      this.rttVarMs = ms / 2;
    } else {
      // BEP 29: delta = rtt - packet_rtt; rtt_var += (|delta| - rtt_var) / 4; rtt += (packet_rtt - rtt) / 8
      const delta = this.rttMs - ms;
      this.rttVarMs += (Math.abs(delta) - this.rttVarMs) / 4;
      this.rttMs += (ms - this.rttMs) / 8;
    }
    if (ms < this.minRttMs) this.minRttMs = ms;
    this.#baseRtoMs = Math.min(UTP_MAX_RTO_MS, Math.max(UTP_MIN_RTO_MS, this.rttMs + 4 * this.rttVarMs));
  }

  /** The current retransmission timeout, back-off included, in ms. */
  get rtoMs(): number {
    return Math.min(UTP_MAX_RTO_MS, this.#baseRtoMs * 2 ** Math.min(this.backoff, 16));
  }

  /** True once a sample was taken. */
  get hasSample(): boolean {
    return this.#hasSample;
  }
}
