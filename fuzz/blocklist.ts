/**
 * Fuzz target for the IP blocklist parser (src/net/ip-blocklist.ts): bytes as Latin-1 text, as
 * the file loader reads them. Parsing must return a list and a report (malformed lines are
 * counted, never thrown) and lookups must not throw; only a list past its bounds may throw, and
 * then a ShoalError.
 */
import { parseBlocklist } from '../src/net/ip-blocklist.js';
import type { FuzzTarget } from './target.js';

const SEEDS = [
  'Some ISP:1.2.3.0-1.2.3.255\nFoo, Inc: bar:198.51.100.5-198.51.100.9\n# comment\n',
  '001.002.003.000 - 001.002.003.255 , 000 , Blocked\n006.006.006.000 - 006.006.006.255 , 200 , Allowed\n',
  '192.0.2.0/24\n2001:db8::/32\n203.0.113.9 # one host\n::ffff:0:0/96\n',
  '2001:db8:: - 2001:db8::ffff , 000 , v6\n1.2.3.4 - 2001:db8::1\n',
];

export const target: FuzzTarget = {
  seeds: () => SEEDS.map((s) => new Uint8Array(Buffer.from(s, 'latin1'))),
  run(input) {
    const { list, report } = parseBlocklist(Buffer.from(input).toString('latin1'));
    if (report.malformed < report.errors.length) throw new Error('more errors quoted than counted');
    for (const probe of ['1.2.3.4', '198.51.100.7', '2001:db8::1', '::ffff:1.2.3.4', 'x']) list.has(probe);
  },
};
