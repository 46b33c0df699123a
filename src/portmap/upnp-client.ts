/**
 * UPnP IGD client: SSDP discovery (multicast and unicast to the gateway), the device
 * description, and SOAP actions on its WAN connection service.
 *
 * Hostile input: an SSDP answer counts only if it comes from the gateway and its LOCATION names
 * the gateway; the control URL must name it too (a forged answer cannot send requests to a third
 * host); answers past {@link MAX_SSDP_RESPONSES} are ignored; HTTP bodies are read up to
 * {@link MAX_DEVICE_DESCRIPTION_BYTES} / {@link MAX_SOAP_RESPONSE_BYTES} and the connection is
 * dropped past them.
 */
import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import {
  encodeAddPortMapping,
  encodeDeletePortMapping,
  encodeGetExternalIp,
  encodeMSearch,
  findWanService,
  IGD_SEARCH_TARGETS,
  type IgdService,
  type MappingProtocol,
  NatError,
  parseExternalIp,
  parseSoapResponse,
  parseSsdpResponse,
  type SoapRequest,
  SSDP_ADDRESS,
  SSDP_PORT,
  urlHostIs,
} from '../nat/index.js';
import { ErrorCode, isShoalError } from '../shared/errors.js';
import {
  MAX_DEVICE_DESCRIPTION_BYTES,
  MAX_SOAP_RESPONSE_BYTES,
  MAX_SSDP_MESSAGE_BYTES,
  MAX_SSDP_RESPONSES,
} from '../shared/limits.js';
import type { MappingClient, MappingGrant } from './types.js';

/** How long discovery waits for the gateway's SSDP answer, in ms. */
export const SSDP_WAIT_MS = 2000;
/** Timeout of one HTTP request to the IGD, in ms. */
export const IGD_HTTP_TIMEOUT_MS = 5000;
/** UPnP error 725 OnlyPermanentLeasesSupported: retry with lease 0. */
const ONLY_PERMANENT_LEASES = 725;

export interface UpnpTarget {
  readonly gateway: string;
  readonly localAddress: string;
  /** @default 1900 (tests move it) */
  readonly ssdpPort?: number;
  /** Also search the multicast group. @default true */
  readonly multicast?: boolean;
  readonly description?: string;
}

/** Counters of refused input, for status and tests. */
export interface UpnpRefusals {
  ssdpForeign: number;
  ssdpMalformed: number;
  ssdpIgnored: number;
}

/** Finds the gateway's IGD service; rejects with `SHOAL_ERR_NAT_UNAVAILABLE` when none answers. */
export async function discoverIgd(
  t: UpnpTarget,
  refusals: UpnpRefusals,
  signal: AbortSignal,
): Promise<IgdService> {
  const sock = createSocket('udp4');
  let timer: NodeJS.Timeout | undefined;
  const found = new Promise<string>((resolve, reject) => {
    let seen = 0;
    timer = setTimeout(
      () =>
        reject(
          new NatError(ErrorCode.NatUnavailable, 'no IGD answered the SSDP search', { protocol: 'ssdp' }),
        ),
      SSDP_WAIT_MS,
    );
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    sock.on('message', (msg, rinfo) => {
      if (++seen > MAX_SSDP_RESPONSES) {
        refusals.ssdpIgnored++;
        return;
      }
      // Only the gateway speaks for the router: anyone on the LAN can answer a multicast search.
      if (rinfo.address !== t.gateway) {
        refusals.ssdpForeign++;
        return;
      }
      try {
        const r = parseSsdpResponse(msg.subarray(0, MAX_SSDP_MESSAGE_BYTES + 1));
        if (!urlHostIs(r.location, rinfo.address)) {
          refusals.ssdpForeign++;
          return;
        }
        clearTimeout(timer);
        resolve(r.location);
      } catch {
        refusals.ssdpMalformed++;
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(
        new NatError(
          ErrorCode.NatUnavailable,
          `SSDP socket: ${e.message}`,
          { protocol: 'ssdp' },
          { cause: e },
        ),
      );
    });
  });
  found.catch(() => {}); // awaited below; this only keeps an early rejection from being unhandled
  try {
    // A failed bind emits 'error' (which rejects `found`) and never calls back: race the two.
    await Promise.race([
      new Promise<void>((resolve) => sock.bind(0, t.localAddress, () => resolve())),
      found,
    ]);
    for (const st of IGD_SEARCH_TARGETS) {
      const m = encodeMSearch(st);
      sock.send(m, t.ssdpPort ?? SSDP_PORT, t.gateway);
      if (t.multicast ?? true) sock.send(m, SSDP_PORT, SSDP_ADDRESS);
    }
    const location = await found;
    const desc = await httpRequest(location, 'GET', undefined, MAX_DEVICE_DESCRIPTION_BYTES, signal);
    if (desc.status !== 200)
      throw new NatError(ErrorCode.NatBadMessage, `device description: HTTP ${desc.status}`, {
        protocol: 'igd',
      });
    const svc = findWanService(desc.body, location);
    if (!urlHostIs(svc.controlUrl, t.gateway))
      throw new NatError(ErrorCode.NatBadMessage, 'control URL points away from the gateway', {
        protocol: 'igd',
      });
    return svc;
  } finally {
    clearTimeout(timer);
    sock.close();
  }
}

interface HttpResult {
  readonly status: number;
  readonly body: Uint8Array;
}

/** One HTTP/1.1 request; the body is read up to `max` bytes, more fails with `SHOAL_ERR_NAT_TOO_LARGE`. */
function httpRequest(
  url: string,
  method: 'GET' | 'POST',
  soap: SoapRequest | undefined,
  max: number,
  signal: AbortSignal,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'close' };
    if (soap) {
      headers['content-type'] = 'text/xml; charset="utf-8"';
      headers.soapaction = soap.soapAction;
      headers['content-length'] = String(soap.body.length);
    }
    const req = request(url, { method, headers, signal, timeout: IGD_HTTP_TIMEOUT_MS }, (res) => {
      const declared = Number(res.headers['content-length'] ?? 0);
      const tooLarge = () =>
        new NatError(ErrorCode.NatTooLarge, `IGD response over ${max} bytes`, {
          protocol: soap ? 'soap' : 'igd',
        });
      if (declared > max) {
        res.destroy();
        reject(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > max) {
          res.destroy();
          reject(tooLarge());
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', (e) =>
        reject(new NatError(ErrorCode.NatUnavailable, e.message, { protocol: 'igd' }, { cause: e })),
      );
    });
    req.on('timeout', () => req.destroy(new Error('IGD HTTP timeout')));
    req.on('error', (e) =>
      reject(
        isShoalError(e)
          ? e
          : new NatError(
              ErrorCode.NatUnavailable,
              `IGD HTTP: ${e.message}`,
              { protocol: 'igd' },
              { cause: e },
            ),
      ),
    );
    req.end(soap ? Buffer.from(soap.body) : undefined);
  });
}

/** UPnP IGD (WANIPConnection v1/v2, WANPPPConnection) client. */
export class UpnpClient implements MappingClient {
  readonly method = 'upnp' as const;
  readonly refusals: UpnpRefusals = { ssdpForeign: 0, ssdpMalformed: 0, ssdpIgnored: 0 };
  #service: IgdService | undefined;

  constructor(readonly target: UpnpTarget) {}

  /** Forgets the service, so the next call discovers the router again (after it restarted). */
  reset(): void {
    this.#service = undefined;
  }

  async #soap(
    req: (svc: IgdService) => SoapRequest,
    action: string,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    this.#service ??= await discoverIgd(this.target, this.refusals, signal);
    const svc = this.#service;
    const r = await httpRequest(svc.controlUrl, 'POST', req(svc), MAX_SOAP_RESPONSE_BYTES, signal);
    // A fault comes with HTTP 500 and a SOAP body: parse it either way.
    parseSoapResponse(r.body, action);
    return r.body;
  }

  async externalIp(signal: AbortSignal): Promise<string | undefined> {
    const body = await this.#soap((s) => encodeGetExternalIp(s.serviceType), 'GetExternalIPAddress', signal);
    return parseExternalIp(body);
  }

  async map(
    protocol: MappingProtocol,
    internalPort: number,
    externalPort: number,
    leaseSeconds: number,
    signal: AbortSignal,
  ): Promise<MappingGrant> {
    const add = (lease: number) =>
      this.#soap(
        (s) =>
          encodeAddPortMapping(s.serviceType, {
            protocol,
            externalPort,
            internalPort,
            internalClient: this.target.localAddress,
            leaseSeconds: lease,
            description: this.target.description ?? `shoal ${protocol.toLowerCase()} ${internalPort}`,
          }),
        'AddPortMapping',
        signal,
      );
    try {
      await add(leaseSeconds);
      return { externalPort, lifetimeSeconds: leaseSeconds };
    } catch (e) {
      if (!isShoalError(e, ErrorCode.NatRefused) || e.details.resultCode !== ONLY_PERMANENT_LEASES) throw e;
      await add(0);
      return { externalPort, lifetimeSeconds: 0 };
    }
  }

  async unmap(
    protocol: MappingProtocol,
    _internalPort: number,
    externalPort: number,
    signal: AbortSignal,
  ): Promise<void> {
    await this.#soap(
      (s) => encodeDeletePortMapping(s.serviceType, protocol, externalPort),
      'DeletePortMapping',
      signal,
    );
  }

  close(): void {}
}
