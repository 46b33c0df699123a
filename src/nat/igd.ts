/**
 * The IGD device description walk: finds the WAN connection service that takes port mappings
 * (WANIPConnection:2, then :1, then WANPPPConnection:1) and resolves its control URL.
 */
import { badMessage } from './errors.js';
import { child, descendants, parseXml } from './xml.js';

/** Service types that carry AddPortMapping, best first. */
export const WAN_SERVICE_TYPES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;

/** The service to send SOAP actions to. */
export interface IgdService {
  /** The service type, used in the SOAPAction header and the action's namespace. */
  readonly serviceType: string;
  /** The absolute control URL. */
  readonly controlUrl: string;
}

/**
 * Parses a device description (bytes, bounded by the caller at
 * {@link MAX_DEVICE_DESCRIPTION_BYTES}) fetched from `location`, and returns the best WAN
 * connection service. Relative control URLs resolve against `URLBase` when present, else against
 * `location`. Throws `NatError` when there is none or the URL is not http.
 */
export function findWanService(bytes: Uint8Array, location: string): IgdService {
  const root = parseXml(bytes);
  const base = child(root, 'URLBase')?.text || location;
  const services = descendants(root, 'service');
  for (const type of WAN_SERVICE_TYPES) {
    const svc = services.find((s) => child(s, 'serviceType')?.text === type);
    if (!svc) continue;
    const ctl = child(svc, 'controlURL')?.text;
    if (!ctl) throw badMessage('igd', `${type} without a controlURL`);
    let url: URL;
    try {
      url = new URL(ctl, base);
    } catch {
      throw badMessage('igd', 'control URL does not parse');
    }
    if (url.protocol !== 'http:') throw badMessage('igd', 'control URL is not http');
    return { serviceType: type, controlUrl: url.href };
  }
  throw badMessage('igd', 'no WANIPConnection or WANPPPConnection service');
}

/**
 * True when `url` points at `host` (an IP address literal as a socket reports it). The runtime
 * follows a LOCATION or control URL only to the address that answered, so a forged answer cannot
 * send us to a third host.
 */
export function urlHostIs(url: string, host: string): boolean {
  try {
    const h = new URL(url).hostname;
    return h === host || h === `[${host}]`;
  } catch {
    return false;
  }
}
