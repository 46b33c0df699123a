/**
 * SOAP actions of WANIPConnection / WANPPPConnection (UPnP IGD): AddPortMapping,
 * DeletePortMapping and GetExternalIPAddress, as request bodies and parsed responses. A SOAP
 * fault becomes a `NatError` (`SHOAL_ERR_NAT_REFUSED`) carrying the UPnP `errorCode`.
 */
import { MAX_SOAP_RESPONSE_BYTES } from '../shared/limits.js';
import { badMessage, refused, tooLarge } from './errors.js';
import { child, descendants, escapeXml, parseXml } from './xml.js';

/** Port-mapping protocols, as UPnP names them. */
export type MappingProtocol = 'TCP' | 'UDP';

/** A SOAP request ready to POST to the control URL. */
export interface SoapRequest {
  /** Value of the `SOAPAction` header (with its quotes). */
  readonly soapAction: string;
  readonly body: Uint8Array;
}

/** Builds the request for `action` on `serviceType` with its arguments, in order. */
export function encodeSoapRequest(
  serviceType: string,
  action: string,
  args: ReadonlyArray<readonly [string, string | number]>,
): SoapRequest {
  const inner = args.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('');
  const xml =
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' +
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>' +
    `<u:${action} xmlns:u="${escapeXml(serviceType)}">${inner}</u:${action}>` +
    '</s:Body></s:Envelope>\r\n';
  return { soapAction: `"${serviceType}#${action}"`, body: new TextEncoder().encode(xml) };
}

/** What AddPortMapping asks for. */
export interface AddPortMappingArgs {
  readonly protocol: MappingProtocol;
  readonly externalPort: number;
  readonly internalPort: number;
  /** Our address on the LAN (dotted IPv4). */
  readonly internalClient: string;
  /** Lease, in seconds; IGD v2 forbids 0 (infinite). */
  readonly leaseSeconds: number;
  readonly description: string;
}

export function encodeAddPortMapping(serviceType: string, a: AddPortMappingArgs): SoapRequest {
  return encodeSoapRequest(serviceType, 'AddPortMapping', [
    ['NewRemoteHost', ''],
    ['NewExternalPort', a.externalPort],
    ['NewProtocol', a.protocol],
    ['NewInternalPort', a.internalPort],
    ['NewInternalClient', a.internalClient],
    ['NewEnabled', 1],
    ['NewPortMappingDescription', a.description],
    ['NewLeaseDuration', a.leaseSeconds],
  ]);
}

export function encodeDeletePortMapping(
  serviceType: string,
  protocol: MappingProtocol,
  externalPort: number,
): SoapRequest {
  return encodeSoapRequest(serviceType, 'DeletePortMapping', [
    ['NewRemoteHost', ''],
    ['NewExternalPort', externalPort],
    ['NewProtocol', protocol],
  ]);
}

export function encodeGetExternalIp(serviceType: string): SoapRequest {
  return encodeSoapRequest(serviceType, 'GetExternalIPAddress', []);
}

/**
 * Parses the response to `action`: the output arguments by name. A fault throws
 * `SHOAL_ERR_NAT_REFUSED` with the UPnP errorCode (e.g. 718 ConflictInMappingEntry, 725
 * OnlyPermanentLeasesSupported); anything else malformed throws `SHOAL_ERR_NAT_BAD_MESSAGE`.
 */
export function parseSoapResponse(bytes: Uint8Array, action: string): Map<string, string> {
  if (bytes.length > MAX_SOAP_RESPONSE_BYTES)
    throw tooLarge('soap', `SOAP response of ${bytes.length} bytes`);
  const env = parseXml(bytes);
  if (env.name !== 'Envelope') throw badMessage('soap', 'not a SOAP envelope');
  const body = child(env, 'Body');
  if (!body) throw badMessage('soap', 'SOAP envelope without a Body');
  const fault = child(body, 'Fault');
  if (fault) {
    const err = descendants(fault, 'UPnPError')[0];
    const codeText = err ? child(err, 'errorCode')?.text : undefined;
    const code = codeText !== undefined && /^\d{1,4}$/.test(codeText) ? Number(codeText) : 0;
    const desc =
      (err ? child(err, 'errorDescription')?.text : undefined) ?? child(fault, 'faultstring')?.text ?? '';
    throw refused('soap', `${action} refused: ${code} ${desc.slice(0, 100)}`.trim(), code);
  }
  const resp = child(body, `${action}Response`);
  if (!resp) throw badMessage('soap', `no ${action}Response`);
  const out = new Map<string, string>();
  for (const c of resp.children) out.set(c.name, c.text);
  return out;
}

/** The external IPv4 address from a GetExternalIPAddress response; throws if absent or not IPv4. */
export function parseExternalIp(bytes: Uint8Array): string {
  const ip = parseSoapResponse(bytes, 'GetExternalIPAddress').get('NewExternalIPAddress') ?? '';
  if (!isIpv4(ip)) throw badMessage('soap', 'external address is not IPv4');
  return ip;
}

/** True for a dotted-quad IPv4 address. */
export function isIpv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return false;
  return m.slice(1).every((p) => Number(p) <= 255 && (p === '0' || p[0] !== '0'));
}
