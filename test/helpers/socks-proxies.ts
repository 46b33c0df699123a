/**
 * Real SOCKS5 proxies as test processes, started through a {@link ClientGroup} (PIDs kept,
 * output captured, stopped by PID): microsocks (Debian `microsocks`: CONNECT with optional
 * username/password, no UDP) and Dante (`dante-server`: CONNECT and UDP ASSOCIATE). Both listen
 * on 127.0.0.1 and make their outgoing connections from `external` (another loopback address),
 * so a peer or tracker can tell a proxied connection from a direct one.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type ClientGroup, type ClientProcess, freePort } from './clients.js';

export const MICROSOCKS = '/usr/bin/microsocks';
export const DANTED = '/usr/sbin/danted';

/** A running proxy. */
export interface ProxyProcess {
  readonly process: ClientProcess;
  readonly port: number;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects after `timeoutMs`. */
export async function waitForTcp(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`${what} did not listen on ${port} in ${timeoutMs} ms`);
    // A refused connect returns at once: wait for the next turn of the loop's timers, briefly.
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts microsocks on 127.0.0.1 (a free port), dialling out from `external`. */
export async function startMicrosocks(
  group: ClientGroup,
  o: { readonly external: string; readonly username?: string; readonly password?: string },
): Promise<ProxyProcess> {
  if (!existsSync(MICROSOCKS)) throw new Error('microsocks is not installed (apt-get install microsocks)');
  const port = await freePort();
  const args = ['-i', '127.0.0.1', '-p', String(port), '-b', o.external];
  if (o.username !== undefined) args.push('-u', o.username, '-P', o.password ?? '');
  const process = group.spawn(`microsocks:${port}`, MICROSOCKS, args);
  await waitForTcp(port, 5_000, 'microsocks');
  return { process, port };
}

/** Starts Dante on 127.0.0.1 (a free port) for CONNECT and UDP ASSOCIATE, no authentication. */
export async function startDante(
  group: ClientGroup,
  o: { readonly external: string },
): Promise<ProxyProcess> {
  if (!existsSync(DANTED)) throw new Error('dante-server is not installed (apt-get install dante-server)');
  const port = await freePort();
  const dir = await group.dir(`dante-${port}`);
  const config = join(dir, 'danted.conf');
  await writeFile(
    config,
    [
      'logoutput: stderr',
      `internal: 127.0.0.1 port = ${port}`,
      `external: ${o.external}`,
      'clientmethod: none',
      'socksmethod: none',
      'client pass {',
      '  from: 127.0.0.0/8 to: 0.0.0.0/0',
      '}',
      'socks pass {',
      '  from: 127.0.0.0/8 to: 0.0.0.0/0',
      '  command: connect udpassociate udpreply',
      '  log: connect error',
      '}',
      '',
    ].join('\n'),
  );
  // -N 1: one worker process set; -p: a pid file of our own (not /var/run).
  const process = group.spawn(`danted:${port}`, DANTED, [
    '-f',
    config,
    '-p',
    join(dir, 'danted.pid'),
    '-N',
    '1',
  ]);
  await process.waitForLine((l) => l.includes('running'), 10_000, 'dante to start');
  await waitForTcp(port, 5_000, 'dante');
  return { process, port };
}
