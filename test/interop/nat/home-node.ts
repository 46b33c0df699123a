/**
 * Shoal as the "home" node of the port-mapping namespace test (run inside the home namespace by
 * `ip netns exec`): seeds one torrent with `portMapping` on, and prints one JSON line per event
 * on stdout: {"t":"ready","port":N}, {"t":"portmap",...status}, {"t":"external",...event},
 * {"t":"closed"}. End of stdin closes
 * the session (which deletes the mappings) and exits.
 *
 * Usage: home-node.ts --torrent T --data DIR --methods pcp|natpmp|upnp --lease SECONDS
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { PortMappingMethod } from '../../../src/portmap/index.js';
import { Session } from '../../../src/session/index.js';

const { values } = parseArgs({
  options: {
    torrent: { type: 'string' },
    data: { type: 'string' },
    methods: { type: 'string' },
    lease: { type: 'string', default: '3600' },
  },
});
const out = (t: string, o: object = {}) => process.stdout.write(`${JSON.stringify({ t, ...o })}\n`);

const session = await Session.create({
  host: '0.0.0.0',
  downloadDir: values.data!,
  trackers: false,
  portMapping: {
    methods: values.methods!.split(',') as PortMappingMethod[],
    leaseSeconds: Number(values.lease),
    maxRenewSeconds: 1,
  },
});
session.on('portmap:changed', (s) => out('portmap', s));
session.on('external-address:changed', (e) => out('external', e));
session.on('warning', (w) => out('warning', w));
await session.addTorrent(await readFile(values.torrent!), { downloadDir: values.data! });
out('ready', { port: session.port });
process.stdin.resume();
process.stdin.on('end', async () => {
  await session.close();
  out('closed', { status: session.portMapping() });
  process.exit(0);
});
