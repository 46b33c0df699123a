import { ErrorCode, ShoalError } from '../shared/errors.js';

/** Facts about a port-mapping failure: which protocol, and the router's own code when it sent one. */
export interface NatErrorDetails {
  readonly protocol: 'ssdp' | 'xml' | 'igd' | 'soap' | 'natpmp' | 'pcp' | 'route';
  /** The router's result code (NAT-PMP / PCP result, UPnP `errorCode`), when it answered with one. */
  readonly resultCode?: number;
}

/** Any failure of the port-mapping codecs or runtime. */
export class NatError extends ShoalError<NatErrorDetails> {}

/** A malformed message from the router (or from whoever answered in its place). */
export function badMessage(protocol: NatErrorDetails['protocol'], message: string): NatError {
  return new NatError(ErrorCode.NatBadMessage, message, { protocol });
}

/** A message over its named bound. */
export function tooLarge(protocol: NatErrorDetails['protocol'], message: string): NatError {
  return new NatError(ErrorCode.NatTooLarge, message, { protocol });
}

/** The router answered, and said no. */
export function refused(
  protocol: NatErrorDetails['protocol'],
  message: string,
  resultCode: number,
): NatError {
  return new NatError(ErrorCode.NatRefused, message, { protocol, resultCode });
}
