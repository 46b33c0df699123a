/**
 * `proxy` and `blocklist` in SessionOptions (src/session/options.ts) and the CLI's `--proxy` URL
 * (src/cli/commands/network-flags.ts): checked once, with what a proxy turns off.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProxyUrl } from '../../../src/cli/commands/network-flags.js';
import { resolveOptions } from '../../../src/session/options.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';

const invalid = (e: unknown) => isShoalError(e, ErrorCode.SessionInvalidArgument);

test('a proxy turns off the DHT and LSD unless onlyProxy is false', () => {
  const proxy = { type: 'socks5', host: '127.0.0.1', port: 1080 } as const;
  const on = resolveOptions({ proxy, dht: true, lsd: true });
  assert.equal(on.proxy?.onlyProxy, true);
  assert.equal(on.dht, undefined);
  assert.equal(on.lsd, undefined);
  const off = resolveOptions({ proxy: { ...proxy, onlyProxy: false }, dht: true, lsd: true });
  assert.deepEqual(off.dht, {});
  assert.deepEqual(off.lsd, {});
  assert.deepEqual(resolveOptions({ dht: true }).dht, {});
});

test('bad proxies and blocklists are refused with the field named', () => {
  const base = { type: 'socks5', host: '127.0.0.1', port: 1080 } as const;
  assert.throws(() => resolveOptions({ proxy: { ...base, port: 0 } }), invalid);
  assert.throws(() => resolveOptions({ proxy: { ...base, host: '' } }), invalid);
  assert.throws(() => resolveOptions({ proxy: { ...base, username: 'u' } }), invalid);
  assert.throws(
    () => resolveOptions({ proxy: { ...base, type: 'http' as 'socks5' } }),
    /type must be 'socks5'/,
  );
  assert.throws(() => resolveOptions({ blocklist: { path: '' } }), /invalid option blocklist/);
  assert.throws(() => resolveOptions({ blocklist: {} as { text: string } }), invalid);
  assert.deepEqual(resolveOptions({ blocklist: { text: '' } }).blocklist, { text: '' });
});

test('--proxy URLs: socks5 with optional percent-encoded credentials, IPv6 hosts', () => {
  assert.deepEqual(parseProxyUrl('socks5://127.0.0.1:1080'), {
    type: 'socks5',
    host: '127.0.0.1',
    port: 1080,
  });
  assert.deepEqual(parseProxyUrl('socks5h://al%40ice:p%3Ass@[::1]:9050'), {
    type: 'socks5',
    host: '::1',
    port: 9050,
    username: 'al@ice',
    password: 'p:ss',
  });
  assert.throws(() => parseProxyUrl('http://127.0.0.1:8080'), /only socks5/);
  assert.throws(() => parseProxyUrl('socks5://127.0.0.1'), /give a host and a port/);
  assert.throws(() => parseProxyUrl('socks5://user@127.0.0.1:1080'), /both a user name and a password/);
  assert.throws(() => parseProxyUrl('not a url'), /invalid --proxy/);
});
