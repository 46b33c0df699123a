import type { MappingProtocol } from '../nat/index.js';

/** How a mapping was made. */
export type PortMappingMethod = 'pcp' | 'natpmp' | 'upnp';

/** One mapping granted by the router. */
export interface MappingGrant {
  readonly externalPort: number;
  /** Lease granted, in seconds. */
  readonly lifetimeSeconds: number;
  /** External address, when the protocol reports it with the mapping (PCP). */
  readonly externalIp?: string;
  /** True when the router's epoch shows it restarted (lost its mappings) since the last answer. */
  readonly routerRestarted?: boolean;
}

/** One protocol's client: the PortMapper drives it. */
export interface MappingClient {
  readonly method: PortMappingMethod;
  /** The router's external IPv4 address. */
  externalIp(signal: AbortSignal): Promise<string | undefined>;
  map(
    protocol: MappingProtocol,
    internalPort: number,
    externalPort: number,
    leaseSeconds: number,
    signal: AbortSignal,
  ): Promise<MappingGrant>;
  unmap(
    protocol: MappingProtocol,
    internalPort: number,
    externalPort: number,
    signal: AbortSignal,
  ): Promise<void>;
  close(): void;
}
