/**
 * The default IPv4 gateway from Linux's `/proc/net/route` text (the runtime reads the file; this
 * parses it). NAT-PMP and PCP talk only to the gateway, and SSDP answers are accepted only from it.
 */
import { badMessage } from './errors.js';

const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;

/** The gateway of the first up default route, dotted IPv4, or undefined when there is none. */
export function parseDefaultGateway(procNetRoute: string): string | undefined {
  const lines = procNetRoute.split('\n').slice(1, 1025);
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const [, dest, gw, flags] = f;
    if (dest !== '00000000' || !/^[0-9A-Fa-f]{8}$/.test(gw!) || !/^[0-9A-Fa-f]{1,4}$/.test(flags!)) continue;
    const fl = Number.parseInt(flags!, 16);
    if ((fl & RTF_UP) === 0 || (fl & RTF_GATEWAY) === 0) continue;
    const n = Number.parseInt(gw!, 16);
    // The kernel prints the address in host (little-endian) byte order.
    return `${n & 0xff}.${(n >>> 8) & 0xff}.${(n >>> 16) & 0xff}.${n >>> 24}`;
  }
  if (lines.length === 0) throw badMessage('route', 'empty route table');
  return undefined;
}
