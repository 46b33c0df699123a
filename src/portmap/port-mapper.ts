/**
 * PortMapper: keeps the node's TCP and UDP ports mapped on the home router.
 *
 * Design: methods are tried in turn, PCP, then NAT-PMP, then UPnP IGD (configurable). Sequential,
 * not parallel, so that one protocol owns the mappings (two protocols mapping the same port on
 * one router may conflict or leave an orphan), and the order follows what is cheapest and most
 * exact: PCP and NAT-PMP are one UDP round trip to the gateway and fail fast (ICMP unreachable,
 * or a NAT-PMP server's "unsupported version" to PCP); UPnP needs a multicast search, an HTTP
 * fetch and SOAP. Worst case before UPnP starts is about 3.5 s of silence, in the background.
 *
 * Each mapping is renewed at half its lease. A renewal that fails, or a NAT-PMP/PCP epoch that
 * went backwards (the router restarted and forgot its mappings), re-maps every port, starting with
 * a fresh discovery. When nothing works the mapper retries after {@link PORTMAP_FIRST_RETRY_MS},
 * doubling up to {@link PORTMAP_RETRY_MS} (and never later than `maxRenewSeconds`). On
 * close the mappings are deleted (bounded by {@link PORTMAP_CLOSE_TIMEOUT_MS}).
 *
 * While mapped, the route (gateway and our address towards it) is looked up again every
 * {@link PORTMAP_ROUTE_CHECK_MS}: a laptop that moved networks, or a DHCP lease that gave a new
 * address, leaves mappings that point at an address we no longer have. Then the old mappings are
 * deleted (best effort) and every port is mapped again from a fresh discovery.
 */
import type { MappingProtocol } from '../nat/index.js';
import { isShoalError } from '../shared/errors.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { defaultGateway, localAddressTowards } from './gateway.js';
import { NatPmpClient, PcpClient } from './pcp-client.js';
import type { MappingClient, PortMappingMethod } from './types.js';
import { UpnpClient } from './upnp-client.js';

/** First wait before trying every method again after all failed, in ms; doubles per failure. */
export const PORTMAP_FIRST_RETRY_MS = 10_000;
/** Longest wait between two rounds of failures, in ms. */
export const PORTMAP_RETRY_MS = 5 * 60_000;
/** Longest wait for deleting the mappings at close, in ms. */
export const PORTMAP_CLOSE_TIMEOUT_MS = 2000;
/** Most recent errors kept in the status. */
export const PORTMAP_MAX_ERRORS = 8;
/** Shortest renewal interval, in ms (a router granting tiny leases cannot make us spin). */
export const PORTMAP_MIN_RENEW_MS = 1000;
/**
 * While mapped, how often the gateway and our LAN address are looked up again, in ms (a route
 * table read and an unsent UDP connect). A change maps every port again at once, from the new
 * address: the router's mappings still point at the old one.
 */
export const PORTMAP_ROUTE_CHECK_MS = 60_000;

/** The gateway and our address towards it. */
export interface PortMapRoute {
  readonly gateway: string;
  readonly localAddress: string;
}

/** Port-mapping settings. */
export interface PortMappingOptions {
  /** Methods to try, in order. @default ['pcp', 'natpmp', 'upnp'] */
  readonly methods?: readonly PortMappingMethod[];
  /** Lease asked for, in seconds. @default 3600 */
  readonly leaseSeconds?: number;
  /**
   * Renew at least this often, in seconds, whatever the lease (a UPnP router that restarted is
   * only noticed at a renewal). @default half the granted lease
   */
  readonly maxRenewSeconds?: number;
  /** The router's address; found from the default route when absent. */
  readonly gateway?: string;
  /** Our LAN address; found from the route to the gateway when absent. */
  readonly localAddress?: string;
  /** NAT-PMP / PCP server port (tests move it). @default 5351 */
  readonly natPmpPort?: number;
  /** SSDP port of the gateway for the unicast search (tests move it). @default 1900 */
  readonly ssdpPort?: number;
  /** Also search the SSDP multicast group. @default true */
  readonly multicast?: boolean;
  /**
   * Looks the route up (used when `gateway` or `localAddress` is not given, and for the checks
   * every {@link PORTMAP_ROUTE_CHECK_MS}). @default the default route and our address towards it
   */
  readonly route?: () => Promise<PortMapRoute>;
  /** Route check interval, in ms. @default PORTMAP_ROUTE_CHECK_MS */
  readonly routeCheckMs?: number;
}

/** One port to keep mapped. */
export interface PortRequest {
  readonly protocol: MappingProtocol;
  readonly internalPort: number;
}

/** One mapping as the status shows it. */
export interface MappedPort {
  readonly protocol: MappingProtocol;
  readonly internalPort: number;
  readonly externalPort: number;
  /** Lease granted, in seconds (0: permanent). */
  readonly lifetimeSeconds: number;
}

/** What the port mapper has achieved. */
export interface PortMappingStatus {
  readonly state: 'starting' | 'mapped' | 'failed' | 'closed';
  readonly method?: PortMappingMethod;
  readonly gateway?: string;
  readonly externalIp?: string;
  readonly mappings: readonly MappedPort[];
  /** The most recent errors, newest last (at most {@link PORTMAP_MAX_ERRORS}). */
  readonly errors: readonly string[];
}

export interface PortMapperEvents {
  /** The status changed (a mapping made, renewed to a new port, lost, or the method changed). */
  'portmap:changed': PortMappingStatus;
  /** One attempt failed (the mapper goes on with the next method or retries later). */
  'portmap:failed': { readonly method?: PortMappingMethod; readonly message: string };
}

export class PortMapper extends TypedEmitter<PortMapperEvents> {
  readonly #ports: PortRequest[];
  readonly #o: PortMappingOptions;
  readonly #ac = new AbortController();
  #client: MappingClient | undefined;
  #timer: NodeJS.Timeout | undefined;
  #status: PortMappingStatus = { state: 'starting', mappings: [], errors: [] };
  /**
   * Mappings the router granted in a round still in progress, not in the status yet: closing in
   * the middle of a round deletes them too.
   */
  #granted: MappedPort[] = [];
  #running: Promise<void> = Promise.resolve();
  #closed = false;
  #retryMs = PORTMAP_FIRST_RETRY_MS;
  /** The route the current client maps through. */
  #route: PortMapRoute | undefined;
  /** When the current mappings are due for renewal (ms, performance.now()). */
  #renewAt = 0;

  constructor(ports: readonly PortRequest[], options: PortMappingOptions = {}) {
    super();
    this.#ports = [...ports];
    this.#o = options;
  }

  /** Starts mapping in the background; watch `portmap:changed` or {@link status}. */
  start(): void {
    this.#schedule(0);
  }

  status(): PortMappingStatus {
    return this.#status;
  }

  /** The external port of `protocol`/`internalPort`, when mapped. */
  externalPort(protocol: MappingProtocol, internalPort: number): number | undefined {
    return this.#status.mappings.find((m) => m.protocol === protocol && m.internalPort === internalPort)
      ?.externalPort;
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#running
        .then(() => this.#cycle())
        .catch((e) => this.#fail(this.#client?.method, e));
    }, ms);
  }

  #set(s: Partial<PortMappingStatus>): void {
    this.#status = { ...this.#status, ...s };
    this.emit('portmap:changed', this.#status);
  }

  #fail(method: PortMappingMethod | undefined, e: unknown): void {
    const message = `${method ?? 'gateway'}: ${(e as Error).message}`;
    this.#status = { ...this.#status, errors: [...this.#status.errors, message].slice(-PORTMAP_MAX_ERRORS) };
    this.emit('portmap:failed', { ...(method !== undefined && { method }), message });
  }

  /** One round: renew with the working client, or find one. */
  async #cycle(): Promise<void> {
    if (this.#closed) return;
    const signal = this.#ac.signal;
    if (this.#client) {
      const moved = await this.#routeMoved();
      if (moved === undefined && performance.now() < this.#renewAt) {
        this.#scheduleNext();
        return;
      }
      if (moved !== undefined) {
        // The router's mappings point at our old address: drop them (best effort) and start over.
        this.#fail(this.#client.method, new Error(`${moved}; mapping again`));
        await this.#unmapAll(this.#client, AbortSignal.timeout(PORTMAP_CLOSE_TIMEOUT_MS));
        this.#client.close();
        this.#client = undefined;
        this.#set({ state: 'starting', mappings: [] });
      }
    }
    if (this.#client) {
      const renewed = await this.#mapAll(this.#client, signal);
      // Closing aborted the renewal: close() deletes with this client.
      if (renewed === 'ok' || this.#closed) return;
      // Renewal failed or the router restarted: start over from discovery, every method.
      this.#client.close();
      this.#client = undefined;
      if (this.#closed) return;
    }
    let gateway: string;
    let local: string;
    try {
      ({ gateway, localAddress: local } = await this.#lookUpRoute());
    } catch (e) {
      this.#fail(undefined, e);
      this.#set({ state: 'failed', mappings: [] });
      this.#scheduleRetry();
      return;
    }
    for (const method of this.#o.methods ?? ['pcp', 'natpmp', 'upnp']) {
      if (this.#closed) return;
      const target = { gateway, localAddress: local };
      const client: MappingClient =
        method === 'upnp'
          ? new UpnpClient({
              ...target,
              ...(this.#o.ssdpPort !== undefined && { ssdpPort: this.#o.ssdpPort }),
              ...(this.#o.multicast !== undefined && { multicast: this.#o.multicast }),
            })
          : new (method === 'pcp' ? PcpClient : NatPmpClient)({
              ...target,
              ...(this.#o.natPmpPort !== undefined && { port: this.#o.natPmpPort }),
            });
      this.#client = client;
      this.#route = target;
      this.#status = { ...this.#status, method, gateway, mappings: [] };
      // Closing aborted the round: close() deletes what it granted, with this client.
      if ((await this.#mapAll(client, signal)) === 'ok' || this.#closed) return;
      client.close();
      this.#client = undefined;
    }
    if (this.#closed) return;
    const { method: _m, ...rest } = this.#status;
    this.#status = rest;
    this.#set({ state: 'failed', mappings: [] });
    this.#scheduleRetry();
  }

  /** The gateway and our address: the options' where given, else looked up. */
  async #lookUpRoute(): Promise<PortMapRoute> {
    const { gateway, localAddress, route } = this.#o;
    if (gateway !== undefined && localAddress !== undefined) return { gateway, localAddress };
    if (route !== undefined) return { ...(await route()), ...(gateway !== undefined && { gateway }) };
    const g = gateway ?? (await defaultGateway());
    return { gateway: g, localAddress: localAddress ?? (await localAddressTowards(g)) };
  }

  /** Why the route changed since the mappings were made, or undefined when it did not. */
  async #routeMoved(): Promise<string | undefined> {
    const was = this.#route;
    if (was === undefined) return undefined;
    let now: PortMapRoute;
    try {
      now = await this.#lookUpRoute();
    } catch (e) {
      return `the route to the gateway is gone (${(e as Error).message})`;
    }
    if (now.gateway !== was.gateway) return `the gateway changed from ${was.gateway} to ${now.gateway}`;
    if (now.localAddress !== was.localAddress)
      return `our address changed from ${was.localAddress} to ${now.localAddress}`;
    return undefined;
  }

  /** The next round: the renewal when due, the route check before it. */
  #scheduleNext(): void {
    const check = this.#o.routeCheckMs ?? PORTMAP_ROUTE_CHECK_MS;
    this.#schedule(Math.max(PORTMAP_MIN_RENEW_MS, Math.min(this.#renewAt - performance.now(), check)));
  }

  async #unmapAll(client: MappingClient, signal: AbortSignal): Promise<void> {
    const all = [...this.#status.mappings];
    for (const g of this.#granted) {
      if (!all.some((m) => m.protocol === g.protocol && m.internalPort === g.internalPort)) all.push(g);
    }
    this.#granted = [];
    for (const m of all) {
      try {
        await client.unmap(m.protocol, m.internalPort, m.externalPort, signal);
      } catch (e) {
        this.#fail(client.method, e);
      }
    }
  }

  #scheduleRetry(): void {
    const max = (this.#o.maxRenewSeconds ?? Number.POSITIVE_INFINITY) * 1000;
    this.#schedule(Math.max(PORTMAP_MIN_RENEW_MS, Math.min(this.#retryMs, max)));
    this.#retryMs = Math.min(this.#retryMs * 2, PORTMAP_RETRY_MS);
  }

  /** Maps (or renews) every port with `client`; 'ok' schedules the next renewal. */
  async #mapAll(client: MappingClient, signal: AbortSignal): Promise<'ok' | 'failed'> {
    const lease = this.#o.leaseSeconds ?? 3600;
    const mappings: MappedPort[] = [];
    this.#granted = mappings;
    let externalIp = this.#status.externalIp;
    try {
      for (const p of this.#ports) {
        const prev = this.externalPort(p.protocol, p.internalPort) ?? p.internalPort;
        const g = await client.map(p.protocol, p.internalPort, prev, lease, signal);
        if (g.routerRestarted && mappings.length > 0) {
          // The mappings made before this answer may be gone: make them again at once.
          this.#fail(client.method, new Error('the router restarted (epoch went back); mapping again'));
          return this.#mapAll(client, signal);
        }
        if (g.externalIp !== undefined) externalIp = g.externalIp;
        mappings.push({ ...p, externalPort: g.externalPort, lifetimeSeconds: g.lifetimeSeconds });
      }
      externalIp = (await client.externalIp(signal)) ?? externalIp;
    } catch (e) {
      if (this.#closed) return 'failed';
      this.#fail(client.method, e);
      if (!isShoalError(e)) this.#fail(client.method, new Error('unexpected error (see above)'));
      return 'failed';
    }
    if (this.#closed) return 'failed';
    this.#granted = [];
    const changed =
      this.#status.state !== 'mapped' ||
      this.#status.method !== client.method ||
      this.#status.externalIp !== externalIp ||
      JSON.stringify(this.#status.mappings) !== JSON.stringify(mappings);
    this.#status = {
      ...this.#status,
      state: 'mapped',
      method: client.method,
      mappings,
      ...(externalIp !== undefined && { externalIp }),
    };
    if (changed) this.emit('portmap:changed', this.#status);
    this.#retryMs = PORTMAP_FIRST_RETRY_MS;
    const shortest = Math.min(...mappings.map((m) => (m.lifetimeSeconds === 0 ? 3600 : m.lifetimeSeconds)));
    const renewMs = Math.min(
      (shortest * 1000) / 2,
      (this.#o.maxRenewSeconds ?? Number.POSITIVE_INFINITY) * 1000,
    );
    this.#renewAt = performance.now() + Math.max(PORTMAP_MIN_RENEW_MS, renewMs);
    this.#scheduleNext();
    return 'ok';
  }

  /** Stops renewing and deletes the mappings (best effort, bounded). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#ac.abort();
    await this.#running.catch(() => {});
    const client = this.#client;
    if (client) await this.#unmapAll(client, AbortSignal.timeout(PORTMAP_CLOSE_TIMEOUT_MS));
    client?.close();
    this.#client = undefined;
    this.#set({ state: 'closed', mappings: [] });
  }
}
