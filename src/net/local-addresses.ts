/** This host's own interface addresses (to tell our endpoint from a peer's). */
import { networkInterfaces } from 'node:os';

/** Whether `host` is the address of one of this host's interfaces (read anew each call). */
export function isLocalAddress(host: string): boolean {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.address === host) return true;
  return false;
}
