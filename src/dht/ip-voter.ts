/**
 * Our external IP, learned from the BEP 42 `ip` field of answers. A single node cannot be
 * trusted (BEP 42 §Bootstrapping), so an address is adopted only when at least
 * `DHT_IP_VOTES_NEEDED` distinct voters agree and they are a majority of the last
 * `MAX_DHT_IP_VOTES` voters (one vote per voter IP, the latest counts). The same rule elects the
 * address BEP 10 `yourip` fields claim (src/session/external-address.ts), with its own counts.
 */
import { MAX_DHT_IP_VOTES } from '../shared/limits.js';
import { type Address, type AddressFamily, binaryToBytes, bytesToBinary, parseIp } from './address.js';
import { DHT_IP_VOTES_NEEDED } from './constants.js';

/** Counts BEP 42 `ip` votes and elects our external address. */
export class ExternalIpVoter {
  readonly #family: AddressFamily;
  /** Voter IP → claimed IP (binary strings), oldest first. */
  readonly #votes = new Map<string, string>();
  #current: string | undefined;

  readonly #needed: number;
  readonly #max: number;

  /**
   * `needed`: distinct voters that must agree (@default DHT_IP_VOTES_NEEDED); `max`: voters
   * remembered, the oldest forgotten first (@default MAX_DHT_IP_VOTES).
   */
  constructor(family: AddressFamily, current?: Uint8Array, bounds: { needed?: number; max?: number } = {}) {
    this.#family = family;
    this.#needed = bounds.needed ?? DHT_IP_VOTES_NEEDED;
    this.#max = bounds.max ?? MAX_DHT_IP_VOTES;
    this.#current = current === undefined ? undefined : bytesToBinary(current);
  }

  /** The elected (or given) external IP, as bytes. */
  get current(): Uint8Array | undefined {
    return this.#current === undefined ? undefined : binaryToBytes(this.#current);
  }

  /**
   * Records that the node at IP `voterKey` (binary string) saw us as `claimed`. Returns the
   * newly elected IP (bytes) when this vote changes our external address, else undefined.
   */
  vote(voterKey: string, claimed: Address): Uint8Array | undefined {
    const ip = parseIp(claimed.host);
    if (ip === undefined || ip.length !== (this.#family === 4 ? 4 : 16)) return undefined;
    const claim = bytesToBinary(ip);
    this.#votes.delete(voterKey);
    this.#votes.set(voterKey, claim);
    if (this.#votes.size > this.#max) this.#votes.delete(this.#votes.keys().next().value as string);
    // A vote for the address we already hold cannot elect another one.
    if (claim === this.#current) return undefined;
    const counts = new Map<string, number>();
    let best: string | undefined;
    let bestCount = 0;
    for (const v of this.#votes.values()) {
      const n = (counts.get(v) ?? 0) + 1;
      counts.set(v, n);
      if (n > bestCount) {
        best = v;
        bestCount = n;
      }
    }
    if (best === undefined || best === this.#current || bestCount < this.#needed) return undefined;
    if (bestCount * 2 <= this.#votes.size) return undefined; // a majority, not only a plurality
    this.#current = best;
    return binaryToBytes(best);
  }
}
