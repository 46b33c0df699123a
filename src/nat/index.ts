/**
 * Port mapping as pure codecs: SSDP discovery messages, the IGD device-description walk, SOAP
 * port-mapping actions (UPnP IGD v1/v2), NAT-PMP (RFC 6886) and PCP (RFC 6887) MAP, over a small
 * bounded XML reader. The runtime that owns the sockets is `src/portmap/`.
 */
export * from './errors.js';
export * from './igd.js';
export * from './natpmp.js';
export * from './pcp.js';
export * from './route.js';
export * from './soap.js';
export * from './ssdp.js';
export * from './xml.js';
