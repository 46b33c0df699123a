/**
 * The session's network services, started once at `Session.create`: the Mainline DHT, local
 * service discovery (BEP 14) and port mapping through the router (UPnP IGD, NAT-PMP, PCP).
 * Each is off when its option is; the session owns what these return and closes it.
 */
import { DhtRuntime, Lsd, type LsdEvents } from '../discovery/index.js';
import type { SharedUdpSocket } from '../net/udp-socket.js';
import { PortMapper, type PortMappingStatus, type PortRequest } from '../portmap/index.js';
import type { ResolvedOptions } from './options.js';

/** The DHT, on uTP's IPv4 socket unless it was given a port of its own; undefined when off. */
export async function startDht(
  o: ResolvedOptions,
  udp: SharedUdpSocket | undefined,
): Promise<DhtRuntime | undefined> {
  if (o.dht === undefined) return undefined;
  const shared = udp !== undefined && (o.dht.port ?? udp.port) === udp.port;
  return DhtRuntime.create({
    port: o.dht.port ?? 0,
    ...(shared ? { socket4: udp } : {}),
    host: o.host === '::' ? '0.0.0.0' : o.host,
    ...(o.dht.bootstrap !== undefined ? { bootstrap: o.dht.bootstrap } : {}),
    ...(o.dht.statePath !== undefined ? { statePath: o.dht.statePath } : {}),
    ...(o.dht.node !== undefined ? { node: o.dht.node } : {}),
  });
}

/** Local service discovery announcing `port`; undefined when off or not listening. */
export async function startLsd(
  o: ResolvedOptions,
  port: number,
  hooks: {
    warn(message: string): void;
    discovered(p: LsdEvents['peer:discovered']): void;
  },
): Promise<Lsd | undefined> {
  if (o.lsd === undefined || port === 0) return undefined;
  const lsd = await Lsd.create({
    port,
    multicast: o.lsd.multicast ?? true,
    ...(o.lsd.port !== undefined ? { bindPort: o.lsd.port } : {}),
    ...(o.lsd.unicastTargets !== undefined ? { unicastTargets: o.lsd.unicastTargets } : {}),
  });
  lsd.on('multicast:unavailable', (e: LsdEvents['multicast:unavailable']) =>
    hooks.warn(
      `local service discovery: no IPv${e.family} multicast (${e.op}: ${e.message}); LAN peers will not be found this way`,
    ),
  );
  lsd.on('peer:discovered', (p: LsdEvents['peer:discovered']) => hooks.discovered(p));
  return lsd;
}

/**
 * A port mapper for the listen port (TCP, and UDP when uTP has its socket) and the DHT's port
 * when it has one of its own, not started yet (the caller watches it, then starts it); undefined
 * when off or not listening.
 */
export function startPortMapper(
  o: ResolvedOptions,
  ports: { readonly listen: number; readonly udp: boolean; readonly dht: number },
  hooks: { changed(s: PortMappingStatus): void; warn(message: string): void },
): PortMapper | undefined {
  if (o.portMapping === undefined || ports.listen === 0) return undefined;
  const want: PortRequest[] = [{ protocol: 'TCP', internalPort: ports.listen }];
  // uTP's UDP socket has the TCP port's number (session-transports.ts); the DHT may have its own.
  if (ports.udp) want.push({ protocol: 'UDP', internalPort: ports.listen });
  if (ports.dht > 0 && ports.dht !== ports.listen) want.push({ protocol: 'UDP', internalPort: ports.dht });
  const mapper = new PortMapper(want, o.portMapping);
  mapper.on('portmap:changed', (s) => hooks.changed(s));
  mapper.on('portmap:failed', (e) => hooks.warn(`port mapping: ${e.message}`));
  return mapper;
}
