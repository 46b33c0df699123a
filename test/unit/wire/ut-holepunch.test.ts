/** BEP 55 `ut_holepunch` codec (src/wire/extensions/ut-holepunch.ts): layout, round trips, typed refusals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import {
  decodeUtHolepunch,
  encodeUtHolepunch,
  HolepunchErrorCode,
  type HolepunchMessage,
  WireError,
} from '../../../src/wire/index.js';

const bad = (e: unknown) => e instanceof WireError && isShoalError(e, ErrorCode.WireBadMessage);

test('ut_holepunch: the BEP 55 byte layout, both address types', () => {
  const v4 = encodeUtHolepunch({ type: 'rendezvous', addr: { host: '198.51.100.7', port: 6881, family: 4 } });
  assert.deepEqual([...v4], [0, 0, 198, 51, 100, 7, 0x1a, 0xe1, 0, 0, 0, 0]);
  const err = encodeUtHolepunch({
    type: 'error',
    addr: { host: '2001:db8::1', port: 1, family: 6 },
    error: HolepunchErrorCode.NoSupport,
  });
  assert.equal(err.length, 24);
  assert.deepEqual([...err.subarray(0, 2)], [2, 1]);
  assert.deepEqual([...err.subarray(20)], [0, 0, 0, 3]);
  const msgs: HolepunchMessage[] = [
    { type: 'rendezvous', addr: { host: '203.0.113.9', port: 65535, family: 4 } },
    { type: 'connect', addr: { host: '2001:db8::5', port: 51413, family: 6 } },
    { type: 'error', addr: { host: '192.0.2.1', port: 80, family: 4 }, error: HolepunchErrorCode.NoSelf },
    // A code BEP 55 does not name yet is kept, not refused.
    { type: 'error', addr: { host: '192.0.2.1', port: 80, family: 4 }, error: 0xdeadbeef },
  ];
  for (const m of msgs) assert.deepEqual(decodeUtHolepunch(encodeUtHolepunch(m)), m);
  // libtorrent 2.0.8 sends `connect` without err_code: 8 bytes for IPv4, 20 for IPv6.
  assert.deepEqual(decodeUtHolepunch(Uint8Array.of(1, 0, 203, 0, 113, 3, 0x9c, 0x6b)), {
    type: 'connect',
    addr: { host: '203.0.113.3', port: 40043, family: 4 },
  });
  assert.deepEqual(decodeUtHolepunch(encodeUtHolepunch(msgs[1]!).subarray(0, 20)), msgs[1]);
});

test('ut_holepunch: malformed payloads are typed WireErrors naming the extension', () => {
  const good = encodeUtHolepunch({ type: 'connect', addr: { host: '192.0.2.1', port: 7, family: 4 } });
  const cases: Uint8Array[] = [
    new Uint8Array(0),
    Uint8Array.of(1),
    Uint8Array.of(3, ...good.subarray(1)), // unknown message type
    Uint8Array.of(1, 2, ...good.subarray(2)), // unknown address type
    good.subarray(0, good.length - 1), // short
    Uint8Array.of(...good, 0), // trailing byte
    Uint8Array.of(1, 1, ...good.subarray(2)), // IPv6 type, IPv4 length
    good.subarray(0, good.length - 2), // a cut err_code
    good.subarray(0, good.length - 5), // a cut address
    Uint8Array.of(1, 0, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0), // port 0
  ];
  for (const c of cases) {
    assert.throws(() => decodeUtHolepunch(c), bad, `${Buffer.from(c).toString('hex')}`);
    try {
      decodeUtHolepunch(c);
    } catch (e) {
      assert.equal((e as WireError).details.extension, 'ut_holepunch');
    }
  }
  assert.throws(() =>
    encodeUtHolepunch({ type: 'error', addr: { host: '192.0.2.1', port: 1, family: 4 }, error: -1 }),
  );
  assert.throws(() => encodeUtHolepunch({ type: 'connect', addr: { host: 'example', port: 1, family: 4 } }));
});
