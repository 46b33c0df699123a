/**
 * Our external IP address: the one place where every source of it meets, with one precedence.
 *
 * - `router`: the address the router reports with a port mapping (NAT-PMP, PCP, UPnP
 *   GetExternalIPAddress). It wins: only the default gateway is believed (src/portmap), and it
 *   knows. Unless it is no public address (a private, shared CGNAT 100.64/10 or loopback one):
 *   then we sit behind a second NAT and the router's word says nothing of what peers see.
 * - `peers`: BEP 10 `yourip` votes. One vote per peer IP address (the latest counts); an address
 *   is adopted only when {@link YOURIP_VOTES_NEEDED} distinct peers agree and they are a majority
 *   of the last {@link MAX_YOURIP_VOTES} voters, so a minority of lying peers cannot move it (the
 *   DHT's BEP 42 voter, src/dht/ip-voter.ts, with counts of its own).
 * - `dht`: the address the DHT's own BEP 42 `ip` votes elected (its own thresholds, same rule).
 *
 * IPv4 and IPv6 are elected apart (a router reports IPv4 only). Sans I/O: the time of each change
 * comes from the clock given.
 */
import { ExternalIpVoter, formatIp, isLocalIp, parseIp } from '../dht/index.js';
import { MAX_YOURIP_VOTES, YOURIP_VOTES_NEEDED } from '../shared/limits.js';

/** Where our external address came from, strongest first. */
export type ExternalAddressSource = 'router' | 'peers' | 'dht';

/** Our external address for one family, as chosen. */
export interface ExternalAddressChoice {
  readonly family: 4 | 6;
  readonly address: string;
  readonly source: ExternalAddressSource;
  /** When it was chosen (ms, the clock given). */
  readonly since: number;
}

/** Our address for `family` changed: the new choice, or undefined when it is unknown again. */
export interface ExternalAddressChange {
  readonly family: 4 | 6;
  readonly choice: ExternalAddressChoice | undefined;
}

const SOURCES: readonly ExternalAddressSource[] = ['router', 'peers', 'dht'];

export class ExternalAddress {
  readonly #now: () => number;
  readonly #voters = {
    4: new ExternalIpVoter(4, undefined, { needed: YOURIP_VOTES_NEEDED, max: MAX_YOURIP_VOTES }),
    6: new ExternalIpVoter(6, undefined, { needed: YOURIP_VOTES_NEEDED, max: MAX_YOURIP_VOTES }),
  };
  /** Each source's address per family. */
  readonly #by = { 4: new Map<ExternalAddressSource, string>(), 6: new Map<ExternalAddressSource, string>() };
  readonly #chosen: { 4?: ExternalAddressChoice; 6?: ExternalAddressChoice } = {};

  /** `now`: a clock in ms (the session's). @default always 0 */
  constructor(now: () => number = () => 0) {
    this.#now = now;
  }

  /**
   * The peer at `voter` (its IP address text) says it sees us at `yourIp` (4 or 16 bytes).
   * Returns the change when this vote changed our address.
   */
  vote(voter: string, yourIp: Uint8Array): ExternalAddressChange | undefined {
    // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d.
    const v4mapped = voter.toLowerCase().startsWith('::ffff:') && voter.includes('.');
    const from = v4mapped ? voter.slice(7) : voter;
    const family = from.includes(':') ? 6 : 4;
    // A peer only votes for an address of the family it reached us by.
    if ((family === 4) !== (yourIp.length === 4)) return undefined;
    const elected = this.#voters[family].vote(from, { host: formatIp(yourIp), port: 0 });
    return elected === undefined ? undefined : this.#set(family, 'peers', formatIp(elected));
  }

  /**
   * The router reports `ip` with our port mapping (undefined: no mapping any more). A router's
   * address that is not public is not used (see the module docs). Returns the change when this
   * changed our IPv4 address.
   */
  setRouter(ip: string | undefined): ExternalAddressChange | undefined {
    const bytes = ip === undefined ? undefined : parseIp(ip);
    const usable = bytes?.length === 4 && isPublicIpv4(bytes);
    return this.#set(4, 'router', usable ? formatIp(bytes) : undefined);
  }

  /** The DHT's BEP 42 votes elected `host`. Returns the change when this changed ours. */
  setDht(host: string): ExternalAddressChange | undefined {
    const bytes = parseIp(host);
    if (bytes === undefined) return undefined;
    return this.#set(bytes.length === 4 ? 4 : 6, 'dht', formatIp(bytes));
  }

  /** Our external IPv4 (or, with `6`, IPv6) address, if known. */
  current(family: 4 | 6 = 4): string | undefined {
    return this.#chosen[family]?.address;
  }

  /** The choice for `family`: address, source and since when; undefined while unknown. */
  choice(family: 4 | 6 = 4): ExternalAddressChoice | undefined {
    return this.#chosen[family];
  }

  #set(
    family: 4 | 6,
    source: ExternalAddressSource,
    address: string | undefined,
  ): ExternalAddressChange | undefined {
    const by = this.#by[family];
    if (address === undefined) by.delete(source);
    else by.set(source, address);
    const best = SOURCES.find((s) => by.has(s));
    const old = this.#chosen[family];
    if (best === undefined) {
      if (old === undefined) return undefined;
      delete this.#chosen[family];
      return { family, choice: undefined };
    }
    const next = by.get(best)!;
    if (next === old?.address) {
      // The same address, now known from a stronger (or the only remaining) source.
      if (best !== old.source) this.#chosen[family] = { ...old, source: best };
      return undefined;
    }
    const choice: ExternalAddressChoice = { family, address: next, source: best, since: this.#now() };
    this.#chosen[family] = choice;
    return { family, choice };
  }
}

/** False for addresses a router behind another NAT reports: private, shared (RFC 6598), loopback, unspecified. */
function isPublicIpv4(ip: Uint8Array): boolean {
  if (isLocalIp(ip)) return false;
  const [a, b] = [ip[0]!, ip[1]!];
  return a !== 0 && !(a === 100 && (b & 0xc0) === 64) && a < 224;
}
