import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientFromPeerId, generatePeerId, SHOAL_PEER_ID_PREFIX } from '../../../src/wire/index.js';

const te = new TextEncoder();
const id = (s: string): Uint8Array => {
  const b = new Uint8Array(20).fill(0x78);
  b.set(te.encode(s));
  return b;
};

describe('peer id', () => {
  test('generatePeerId is -SH0100- plus 12 URL-safe characters from the injected bytes', () => {
    const random = Uint8Array.from({ length: 12 }, (_, i) => i * 23);
    const pid = generatePeerId(random);
    assert.equal(pid.length, 20);
    const text = Buffer.from(pid).toString('latin1');
    assert.ok(text.startsWith(SHOAL_PEER_ID_PREFIX));
    assert.match(text.slice(8), /^[A-Za-z0-9_-]{12}$/);
    assert.deepEqual(generatePeerId(random), pid, 'deterministic in its input');
    assert.notDeepEqual(generatePeerId(random.map((b) => b + 1)), pid);
    assert.equal(Buffer.from(generatePeerId(random, '-XX1234-')).toString('latin1').slice(0, 8), '-XX1234-');
  });

  test('generatePeerId rejects too few random bytes and bad prefixes', () => {
    assert.throws(() => generatePeerId(new Uint8Array(11)), RangeError);
    assert.throws(() => generatePeerId(new Uint8Array(12), '-SH01-'), RangeError);
  });

  test('clientFromPeerId names the common clients', () => {
    const cases: [string, string, string | undefined][] = [
      ['-LT2090-', 'libtorrent', '2.0.9'],
      ['-qB4620-', 'qBittorrent', '4.6.2'],
      ['-TR4050-', 'Transmission', '4.0.5'],
      ['-WW0105-', 'WebTorrent', '0.1.0'],
      ['-DE211s-', 'Deluge', '2.1.1'],
      ['-SH0100-', 'Shoal', '0.1.0'],
      ['-UT355W-', 'µTorrent', '3.5.5'],
      ['A2-1-37-0-', 'aria2', '1.37.0'],
      ['-ZZ12-x-', 'ZZ', undefined],
    ];
    for (const [prefix, name, version] of cases) {
      assert.deepEqual(clientFromPeerId(id(prefix)), { name, version }, prefix);
    }
    assert.equal(clientFromPeerId(id('M7-2-3--')), undefined);
    assert.equal(clientFromPeerId(new Uint8Array(20)), undefined);
    assert.equal(clientFromPeerId(new Uint8Array(19)), undefined);
  });
});
