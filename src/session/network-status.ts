/**
 * The session's place in the network: our external address (ExternalAddress: the router's word,
 * then peers' `yourip` votes, then the DHT's) and the TCP port peers must dial (the router's
 * mapped external port when a mapping exists, else our listen port). It feeds what we tell others:
 * trackers and the DHT get the port ({@link NetworkStatus.port}), the DHT its BEP 42 node id
 * (`DhtRuntime.setExternalAddress`), peers our address of the family they cannot see
 * ({@link NetworkStatus.handshakeFields}); and it says when either changed
 * (`external-address:changed`).
 */
import type { DhtRuntime, DhtRuntimeEvents } from '../discovery/index.js';
import { ipv4Bytes, parseIpv6 } from '../net/ip-address.js';
import type { PortMapper, PortMappingStatus } from '../portmap/index.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import {
  ExternalAddress,
  type ExternalAddressChange,
  type ExternalAddressSource,
} from './external-address.js';

/** Our external address or the port peers dial changed. */
export interface ExternalAddressChanged {
  readonly family: 4 | 6;
  /** The address now (undefined: unknown again). */
  readonly address: string | undefined;
  /** Where it came from: the router (port mapping), peers (BEP 10 `yourip`) or the DHT (BEP 42). */
  readonly source: ExternalAddressSource | undefined;
  /** The TCP port peers dial: the router's mapped external port, else our listen port. */
  readonly port: number;
}

export interface NetworkStatusEvents {
  'external-address:changed': ExternalAddressChanged;
}

export interface NetworkStatusDeps {
  /** Monotonic clock, ms. */
  now(): number;
  /** The port we listen on (TCP, and UDP with uTP); 0 when not listening. */
  listenPort(): number;
}

export class NetworkStatus extends TypedEmitter<NetworkStatusEvents> {
  readonly #deps: NetworkStatusDeps;
  readonly #book: ExternalAddress;
  #mapper: PortMapper | undefined;
  #dht: DhtRuntime | undefined;
  #lastPort = 0;

  constructor(deps: NetworkStatusDeps) {
    super();
    this.#deps = deps;
    this.#book = new ExternalAddress(deps.now);
  }

  /** What peers must dial to reach us over TCP: the mapped external port, else the listen port. */
  port(): number {
    const listen = this.#deps.listenPort();
    return this.#mapper?.externalPort('TCP', listen) ?? listen;
  }

  /** Our external IPv4 (or IPv6) address, if known. */
  address(family: 4 | 6 = 4): string | undefined {
    return this.#book.current(family);
  }

  /** Where our address for `family` came from, if known. */
  source(family: 4 | 6 = 4): ExternalAddressSource | undefined {
    return this.#book.choice(family)?.source;
  }

  /** A peer at `voter` (IP text) said, in BEP 10 `yourip`, that it sees us at `yourIp`. */
  vote(voter: string, yourIp: Uint8Array): void {
    this.#apply(this.#book.vote(voter, yourIp));
  }

  /** Follows the port mapper: the router's address and our mapped port. */
  watchMapper(mapper: PortMapper): void {
    this.#mapper = mapper;
    this.#lastPort = this.port();
    mapper.on('portmap:changed', (s: PortMappingStatus) => {
      const change = this.#book.setRouter(s.state === 'mapped' ? s.externalIp : undefined);
      if (change !== undefined) this.#apply(change);
      else if (this.port() !== this.#lastPort) this.#emit(4);
    });
  }

  /** Follows the DHT's votes, and gives it our address for its node id (BEP 42). */
  watchDht(dht: DhtRuntime): void {
    this.#dht = dht;
    dht.on('external-address:changed', (e: DhtRuntimeEvents['external-address:changed']) =>
      this.#apply(this.#book.setDht(e.host)),
    );
    for (const f of [4, 6] as const) {
      const a = this.#book.current(f);
      if (a !== undefined) dht.setExternalAddress(a);
    }
  }

  /**
   * BEP 10 `ipv4` / `ipv6` for our extended handshake to a peer at `remote`: our external address
   * of the other family only. The peer sees our address of its own family as the connection's
   * source, which is right by definition; a guess of ours could only be wrong.
   */
  handshakeFields(remote: string): { ipv4?: Uint8Array; ipv6?: Uint8Array } {
    if (remote.includes(':') && !remote.startsWith('::ffff:')) {
      const v4 = this.#book.current(4);
      const b = v4 === undefined ? undefined : ipv4Bytes(v4);
      return b === undefined ? {} : { ipv4: b };
    }
    const v6 = this.#book.current(6);
    const b = v6 === undefined ? undefined : parseIpv6(v6);
    return b === undefined ? {} : { ipv6: b };
  }

  #apply(change: ExternalAddressChange | undefined): void {
    if (change === undefined) return;
    if (change.choice !== undefined) this.#dht?.setExternalAddress(change.choice.address);
    this.#emit(change.family);
  }

  #emit(family: 4 | 6): void {
    this.#lastPort = this.port();
    const c = this.#book.choice(family);
    this.emit('external-address:changed', {
      family,
      address: c?.address,
      source: c?.source,
      port: this.#lastPort,
    });
  }
}
