/**
 * Which transports a dial tries, in which order: the transport policy, and what the pool knows of
 * the address (what worked last time, what PEX said it supports).
 *
 * - `utp-first` (what Transmission and libtorrent do): uTP, then TCP when uTP gets no answer.
 * - `tcp-first`: TCP, then uTP.
 * - `tcp-only` / `utp-only`: that transport alone.
 *
 * An address remembers the transport of its last connection that worked ({@link
 * AddressHints.transport}): that one goes first next time, so a TCP-only peer costs the uTP
 * attempt once, not at every reconnection. Under `tcp-first`, an address PEX flagged as speaking
 * uTP (BEP 11 flag 0x04) and not yet tried is dialled over uTP first. The `-only` policies never
 * try the other transport, whatever the hints say. An address a BEP 55 `connect` named
 * ({@link AddressHints.punch}) is dialled over uTP alone.
 */
import type { AddressHints } from './peer-pool.js';

/** How a node picks between uTP and TCP when it dials. */
export type TransportPolicy = 'utp-first' | 'tcp-first' | 'tcp-only' | 'utp-only';

/** Every policy, for validating user input. */
export const TRANSPORT_POLICIES: readonly TransportPolicy[] = [
  'utp-first',
  'tcp-first',
  'tcp-only',
  'utp-only',
];

/** The transports to try for one dial, in order (`'utp'` and `'tcp'` only). */
export function dialOrder(policy: TransportPolicy, hints: AddressHints): readonly ('utp' | 'tcp')[] {
  // A BEP 55 holepunch is a uTP simultaneous open: TCP would only cost the time it takes to fail.
  if (hints.punch === true && policy !== 'tcp-only') return ['utp'];
  switch (policy) {
    case 'tcp-only':
      return ['tcp'];
    case 'utp-only':
      return ['utp'];
    case 'utp-first':
      return hints.transport === 'tcp' ? ['tcp', 'utp'] : ['utp', 'tcp'];
    case 'tcp-first':
      return hints.transport === 'utp' || (hints.transport === undefined && hints.supportsUtp === true)
        ? ['utp', 'tcp']
        : ['tcp', 'utp'];
  }
}
