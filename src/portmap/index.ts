/**
 * Port mapping runtime: keeps the node's ports mapped on the home router with PCP, NAT-PMP or
 * UPnP IGD (the codecs are the pure `src/nat/`).
 */

export { NatPmpClient, PcpClient } from './pcp-client.js';
export * from './port-mapper.js';
export type { PortMappingMethod } from './types.js';
export { discoverIgd, UpnpClient } from './upnp-client.js';
