/**
 * `--proxy`, `--blocklist`, `--encryption` and `--utp-policy` for `download` and `seed`: the flags
 * and the session options they give. Kept apart from download.ts so each command only adds them.
 */
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { TRANSPORT_POLICIES, type TransportPolicy } from '../../net/dial-policy.js';
import type { ProxyOptions, SessionOptions } from '../../session/options.js';
import { UsageError } from '../output.js';

/** The flags this file adds. */
export interface NetworkFlags {
  proxy?: string;
  blocklist?: string;
  encryption?: EncryptionFlag;
  utpPolicy?: string;
}

/** Encryption policies (MSE/PE) of `--encryption`. */
export const ENCRYPTION_POLICIES = ['disabled', 'enabled', 'prefer', 'require'] as const;
export type EncryptionFlag = (typeof ENCRYPTION_POLICIES)[number];

/** Checks an `--encryption` value. */
export function parseEncryption(v: string): EncryptionFlag {
  if (!(ENCRYPTION_POLICIES as readonly string[]).includes(v))
    throw new InvalidArgumentError(`expected one of ${ENCRYPTION_POLICIES.join(', ')}`);
  return v as EncryptionFlag;
}

/** Adds `--proxy URL`, `--blocklist FILE`, `--encryption POLICY` and `--utp-policy POLICY` to `cmd`. */
export function addNetworkOptions(cmd: Command): Command {
  return cmd
    .option(
      '--encryption <policy>',
      'peer encryption (MSE/PE): disabled, enabled (accept both, dial plaintext, retry encrypted; default), prefer (dial encrypted, fall back), require (encrypted only)',
      parseEncryption,
    )
    .option(
      '--proxy <url>',
      'connect to peers and trackers through this SOCKS5 proxy: socks5://[user:pass@]host:port (DHT and LSD are then off)',
    )
    .option(
      '--blocklist <file>',
      'never connect to addresses in this list (PeerGuardian .p2p, ipfilter.dat, CIDR lines)',
    )
    .option(
      '--utp-policy <policy>',
      `run uTP (BEP 29) on the listening port and dial: ${TRANSPORT_POLICIES.join(', ')} (tcp-only still accepts uTP; default: no uTP)`,
    );
}

/** Checks a `--utp-policy` value. */
export function parseUtpPolicy(text: string): TransportPolicy {
  if (!(TRANSPORT_POLICIES as readonly string[]).includes(text))
    throw new UsageError(`invalid --utp-policy "${text}" (expected ${TRANSPORT_POLICIES.join(', ')})`);
  return text as TransportPolicy;
}

/**
 * Parses `socks5://[user:pass@]host:port` (`socks5h://` too: host names are always resolved by
 * the proxy). User and password are percent-decoded.
 */
export function parseProxyUrl(text: string): ProxyOptions {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`invalid --proxy "${text}" (expected socks5://[user:pass@]host:port)`);
  }
  if (u.protocol !== 'socks5:' && u.protocol !== 'socks5h:')
    throw new UsageError(`--proxy: only socks5:// proxies are supported, got "${u.protocol}"`);
  const port = Number(u.port);
  if (u.hostname === '' || u.port === '' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--proxy "${text}": give a host and a port (socks5://host:port)`);
  if ((u.username === '') !== (u.password === ''))
    throw new UsageError('--proxy: give both a user name and a password, or neither');
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return {
    type: 'socks5',
    host,
    port,
    ...(u.username !== ''
      ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) }
      : {}),
  };
}

/** Help of `--low-memory` (download, seed, feed and daemon). */
export const LOW_MEMORY_HELP =
  "save ~10–13 MB of memory at some cost in speed: no hash thread checks and writes the pieces (they are checked on libuv's pool and written from the main thread)";

/** Session options for the flags; says on stderr what a proxy turns off. */
export function networkOptions(
  flags: NetworkFlags & { dht?: boolean; lsd?: boolean },
): Pick<SessionOptions, 'proxy' | 'blocklist' | 'encryption' | 'utp' | 'transportPolicy'> {
  const proxy = flags.proxy !== undefined ? parseProxyUrl(flags.proxy) : undefined;
  const policy = flags.utpPolicy !== undefined ? parseUtpPolicy(flags.utpPolicy) : undefined;
  if (policy !== undefined && proxy !== undefined)
    throw new UsageError('--utp-policy cannot be used with --proxy (uTP would bypass the proxy)');
  if (proxy !== undefined && (flags.dht === true || flags.lsd === true))
    process.stderr.write(
      'note: with --proxy the DHT and local service discovery are off (they would bypass it)\n',
    );
  return {
    ...(proxy !== undefined ? { proxy } : {}),
    ...(flags.blocklist !== undefined ? { blocklist: { path: resolve(flags.blocklist) } } : {}),
    ...(flags.encryption !== undefined ? { encryption: flags.encryption } : {}),
    ...(policy !== undefined ? { utp: true, transportPolicy: policy } : {}),
  };
}

export const ICE_SERVER_HELP =
  'STUN or TURN server for WebRTC: stun:host:port, turn:user:password@host:port (turns: for TLS); repeatable';

/** Collects `--ice-server` values: STUN/TURN URLs in the form node-datachannel reads. */
export function parseIceServer(v: string, acc: string[]): string[] {
  if (!/^(stun|turns?):[^\s/]+$/.test(v))
    throw new InvalidArgumentError('expected stun:host:port or turn:user:password@host:port');
  return [...acc, v];
}

/** The Session `webrtc` option for `--no-webrtc` and `--ice-server`. */
export function webRtcOptions(enabled: boolean, iceServers: readonly string[]) {
  if (!enabled) return { webrtc: false as const };
  return iceServers.length > 0 ? { webrtc: { iceServers } } : {};
}
