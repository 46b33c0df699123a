/** Finds the default gateway and our own address towards it (Linux). */
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { NatError, parseDefaultGateway } from '../nat/index.js';
import { ErrorCode } from '../shared/errors.js';

/** The default IPv4 gateway, from /proc/net/route. */
export async function defaultGateway(): Promise<string> {
  let text: string;
  try {
    text = await readFile('/proc/net/route', 'utf8');
  } catch (e) {
    throw new NatError(
      ErrorCode.NatUnavailable,
      'no route table to find the gateway in',
      { protocol: 'route' },
      { cause: e },
    );
  }
  const gw = parseDefaultGateway(text);
  if (gw === undefined)
    throw new NatError(ErrorCode.NatUnavailable, 'no default IPv4 gateway', { protocol: 'route' });
  return gw;
}

/** Our source address towards `gateway` (a connected UDP socket sends nothing). */
export async function localAddressTowards(gateway: string): Promise<string> {
  const s = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(9, gateway, () => resolve());
    });
    return s.address().address;
  } finally {
    s.close();
  }
}
