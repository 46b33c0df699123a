/**
 * Our external IP address as peers see it: each BEP 10 extended handshake may carry `yourip`
 * (the address the peer sees us at). One vote per peer IP address (the latest counts), and an
 * address is adopted only when {@link YOURIP_VOTES_NEEDED} distinct peers agree and they are a
 * majority of the last {@link MAX_YOURIP_VOTES} voters, so a minority of lying peers cannot move
 * it (the DHT's BEP 42 voter, src/dht/ip-voter.ts, with counts of its own). IPv4 and IPv6 are
 * elected apart.
 */
import { ExternalIpVoter, formatIp } from '../dht/index.js';
import { MAX_YOURIP_VOTES, YOURIP_VOTES_NEEDED } from '../shared/limits.js';

export class ExternalAddress {
  readonly #v4 = new ExternalIpVoter(4, undefined, { needed: YOURIP_VOTES_NEEDED, max: MAX_YOURIP_VOTES });
  readonly #v6 = new ExternalIpVoter(6, undefined, { needed: YOURIP_VOTES_NEEDED, max: MAX_YOURIP_VOTES });

  /**
   * The peer at `voter` (its IP address text) says it sees us at `yourIp` (4 or 16 bytes).
   * Returns the newly elected address when this vote changed it.
   */
  vote(voter: string, yourIp: Uint8Array): string | undefined {
    const v4 = !voter.includes(':');
    // A peer only votes for an address of the family it reached us by.
    if (v4 !== (yourIp.length === 4)) return undefined;
    const elected = (v4 ? this.#v4 : this.#v6).vote(voter, { host: formatIp(yourIp), port: 0 });
    return elected === undefined ? undefined : formatIp(elected);
  }

  /** The elected IPv4 (or, with `6`, IPv6) address, if any. */
  current(family: 4 | 6 = 4): string | undefined {
    const ip = (family === 4 ? this.#v4 : this.#v6).current;
    return ip === undefined ? undefined : formatIp(ip);
  }
}
