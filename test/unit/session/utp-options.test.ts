/**
 * uTP in SessionOptions (src/session/options.ts) and the PEX flag "supports uTP" (BEP 11 0x04,
 * src/session/extensions/ut-pex.ts): sent for uTP connections, read into the address's hints.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { networkOptions } from '../../../src/cli/commands/network-flags.js';
import type { Metainfo } from '../../../src/metainfo/index.js';
import type { AddressHints } from '../../../src/net/peer-pool.js';
import type { ExtensionPeer, PeerView } from '../../../src/session/extensions/extension.js';
import { utPex } from '../../../src/session/extensions/ut-pex.js';
import { resolveOptions } from '../../../src/session/options.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { UTP_MAX_DATAGRAM_BYTES, UTP_MIN_DATAGRAM_BYTES } from '../../../src/shared/limits.js';
import { decodeUtPex, encodeUtPex, PexFlag } from '../../../src/wire/index.js';

const invalid = (e: unknown) => isShoalError(e, ErrorCode.SessionInvalidArgument);

test('utp and transportPolicy: defaults, implications and refusals', () => {
  const none = resolveOptions({});
  assert.equal(none.utp, undefined);
  assert.equal(none.transportPolicy, 'tcp-only');
  assert.equal(resolveOptions({ utp: true }).transportPolicy, 'utp-first');
  assert.deepEqual(resolveOptions({ transportPolicy: 'utp-only' }).utp, {}, 'a uTP policy turns uTP on');
  assert.equal(resolveOptions({ utp: true, transportPolicy: 'tcp-only' }).transportPolicy, 'tcp-only');
  assert.equal(resolveOptions({ transportPolicy: 'tcp-only' }).utp, undefined);
  assert.throws(() => resolveOptions({ utp: false, transportPolicy: 'utp-first' }), invalid);
  assert.throws(() => resolveOptions({ transportPolicy: 'udp' as 'utp-first' }), /expected one of/);
  assert.throws(
    () => resolveOptions({ utp: true, proxy: { type: 'socks5', host: '127.0.0.1', port: 1080 } }),
    /bypass the proxy/,
  );
  // With a proxy that allows direct traffic, uTP may run.
  assert.deepEqual(
    resolveOptions({ utp: true, proxy: { type: 'socks5', host: '127.0.0.1', port: 1080, onlyProxy: false } })
      .utp,
    {},
  );
  assert.throws(() => resolveOptions({ utp: true, host: '::1' }), /IPv6 only/);
  assert.equal(resolveOptions({ utp: true, host: '::' }).transportPolicy, 'utp-first');
  // Bounds of the tunables.
  assert.throws(() => resolveOptions({ utp: { maxDatagramBytes: UTP_MIN_DATAGRAM_BYTES - 1 } }), invalid);
  assert.throws(() => resolveOptions({ utp: { maxDatagramBytes: UTP_MAX_DATAGRAM_BYTES + 1 } }), invalid);
  assert.throws(() => resolveOptions({ utp: { sendBufferBytes: 1000 } }), /sendBufferBytes/);
  assert.throws(() => resolveOptions({ utp: { maxConnections: 0 } }), invalid);
  assert.deepEqual(resolveOptions({ utp: { maxDatagramBytes: 9000, receiveBufferBytes: 9000 } }).utp, {
    maxDatagramBytes: 9000,
    receiveBufferBytes: 9000,
  });
});

test('PEX: peers on uTP connections are flagged 0x04, and the flag reaches the address hints', () => {
  const added: { host: string; port: number; hints: AddressHints | undefined }[] = [];
  const viewOf = (key: string, transport: 'utp' | 'tcp', port: number): PeerView => ({
    key,
    remoteAddress: '192.0.2.10',
    remotePort: port,
    outgoing: true,
    listenPort: port,
    transport,
    encrypted: false,
  });
  const peers = [viewOf('a', 'utp', 6001), viewOf('b', 'tcp', 6002)];
  const ext = utPex({
    metainfo: { isPrivate: false } as Metainfo,
    addPeer: (host, port, _source, hints) => added.push({ host, port, hints }),
    isSeed: () => false,
    peers: () => peers,
    supports: () => false,
    isSelf: () => false,
    holepunch: () => {},
    log: () => {},
  })!;
  const sent: Uint8Array[] = [];
  const other: ExtensionPeer = {
    ...viewOf('c', 'tcp', 6003),
    remoteId: 1,
    send: (p) => {
      sent.push(p);
      return true;
    },
    close: () => {},
  };
  ext.onPeerSupports?.(other, 0);
  const msg = decodeUtPex(sent[0]!);
  const flags = new Map(msg.added.map((p) => [p.port, p.flags]));
  assert.equal((flags.get(6001)! & PexFlag.SupportsUtp) !== 0, true, 'the uTP peer is flagged');
  assert.equal((flags.get(6002)! & PexFlag.SupportsUtp) !== 0, false, 'the TCP peer is not');

  ext.onMessage(
    other,
    encodeUtPex({
      added: [
        { host: '198.51.100.1', port: 7001, family: 4, flags: PexFlag.SupportsUtp },
        { host: '198.51.100.2', port: 7002, family: 4, flags: 0 },
      ],
      dropped: [],
    }),
    0,
  );
  assert.deepEqual(
    added.map((a) => [a.port, a.hints?.supportsUtp]),
    [
      [7001, true],
      [7002, false],
    ],
  );
});

test('--utp-policy: a policy turns uTP on; a bad one or one with --proxy is a usage error', () => {
  assert.deepEqual(networkOptions({ utpPolicy: 'tcp-first' }), { utp: true, transportPolicy: 'tcp-first' });
  assert.deepEqual(networkOptions({}), {});
  assert.throws(() => networkOptions({ utpPolicy: 'fast' }), /invalid --utp-policy "fast"/);
  assert.throws(
    () => networkOptions({ utpPolicy: 'utp-first', proxy: 'socks5://127.0.0.1:1080' }),
    /bypass the proxy/,
  );
});
