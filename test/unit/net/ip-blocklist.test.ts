/**
 * The IP blocklist parsers (src/net/ip-blocklist.ts), one block per format, and the file loader:
 * valid lines, malformed lines (counted, never fatal), IPv6, merging, the bounds.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { loadBlocklist } from '../../../src/net/blocklist-file.js';
import { DAT_ALLOW_LEVEL, IpBlocklist, parseBlocklist } from '../../../src/net/ip-blocklist.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import {
  MAX_BLOCKLIST_BYTES,
  MAX_BLOCKLIST_ERRORS_KEPT,
  MAX_BLOCKLIST_RANGES,
} from '../../../src/shared/limits.js';

describe('PeerGuardian .p2p', () => {
  test('description:first-last, descriptions with colons and commas', () => {
    const { list, report } = parseBlocklist(
      [
        '# a comment',
        'Some ISP:1.2.3.0-1.2.3.255',
        'Foo, Inc: the bad:198.51.100.5-198.51.100.9',
        '',
        'Padded:001.002.004.000 - 001.002.004.010',
      ].join('\n'),
    );
    assert.equal(report.ranges, 3);
    assert.equal(report.malformed, 0);
    assert.equal(report.lines, 5);
    for (const a of ['1.2.3.0', '1.2.3.77', '1.2.3.255', '198.51.100.5', '198.51.100.9', '1.2.4.10'])
      assert.equal(list.has(a), true, a);
    for (const a of ['1.2.2.255', '1.2.4.11', '198.51.100.4', '198.51.100.10'])
      assert.equal(list.has(a), false, a);
  });

  test('malformed lines are counted with their line numbers, the rest still loads', () => {
    const { list, report } = parseBlocklist(
      ['ok:1.1.1.1-1.1.1.2', 'broken:1.1.1.300-1.1.1.400', 'backwards:9.9.9.9-9.9.9.1', 'just words'].join(
        '\n',
      ),
    );
    assert.equal(report.ranges, 1);
    assert.equal(report.malformed, 3);
    assert.deepEqual(
      report.errors.map((e) => e.line),
      [2, 3, 4],
    );
    assert.match(report.errors[1]!.reason, /ends before it starts/);
    assert.equal(list.has('1.1.1.2'), true);
  });
});

describe('eMule ipfilter.dat', () => {
  test(`levels below ${DAT_ALLOW_LEVEL} block, ${DAT_ALLOW_LEVEL} and above allow`, () => {
    const { list, report } = parseBlocklist(
      [
        '001.002.003.000 - 001.002.003.255 , 000 , Blocked range',
        '005.005.005.000 - 005.005.005.255 , 127 , Still blocked',
        '006.006.006.000 - 006.006.006.255 , 128 , Allowed range',
        '7.7.7.7 - 7.7.7.8 , 100',
        '// comment',
        '8.8.8.8 - 8.8.8.9 , high , bad level',
      ].join('\r\n'),
    );
    assert.equal(report.ranges, 3);
    assert.equal(report.allowed, 1);
    assert.equal(report.malformed, 1);
    assert.match(report.errors[0]!.reason, /access level/);
    assert.equal(list.has('1.2.3.4'), true);
    assert.equal(list.has('5.5.5.5'), true);
    assert.equal(list.has('6.6.6.6'), false);
    assert.equal(list.has('7.7.7.8'), true);
    assert.equal(list.has('8.8.8.8'), false);
  });

  test('IPv6 ranges', () => {
    const { list } = parseBlocklist('2001:db8:: - 2001:db8::ffff , 000 , v6 range');
    assert.equal(list.has('2001:db8::1'), true);
    assert.equal(list.has('2001:db8::1:0'), false);
    assert.equal(list.has('2001:db9::'), false);
  });
});

describe('CIDR and plain lines', () => {
  test('IPv4 and IPv6 prefixes, single addresses, inline comments', () => {
    const { list, report } = parseBlocklist(
      [
        '192.0.2.0/24',
        '198.51.100.7/24 # host bits are ignored',
        '203.0.113.9',
        '2001:db8:1::/48',
        '::ffff:0:0/96',
        '; comment',
      ].join('\n'),
    );
    assert.equal(report.malformed, 0);
    assert.equal(report.ranges, 5);
    assert.equal(list.has('192.0.2.200'), true);
    assert.equal(list.has('198.51.100.0'), true);
    assert.equal(list.has('198.51.101.0'), false);
    assert.equal(list.has('203.0.113.9'), true);
    assert.equal(list.has('203.0.113.10'), false);
    assert.equal(list.has('2001:db8:1:ffff::5'), true);
    assert.equal(list.has('2001:db8:2::'), false);
    // An IPv4-mapped address is looked up as IPv4.
    assert.equal(list.has('::ffff:192.0.2.1'), true);
  });

  test('bad prefixes and mixed families are malformed', () => {
    const { report } = parseBlocklist(
      ['1.2.3.0/33', '2001:db8::/129', '1.2.3.0/x', '1.2.3.4 - 2001:db8::1', 'nonsense/8'].join('\n'),
    );
    assert.equal(report.malformed, 5);
    assert.match(report.errors[3]!.reason, /mixes IPv4 and IPv6/);
  });

  test('overlapping and adjacent ranges merge', () => {
    const { list } = parseBlocklist(
      ['198.51.100.0-198.51.100.10', '198.51.100.5-198.51.100.20', '198.51.100.21', '203.0.113.0/24'].join(
        '\n',
      ),
    );
    assert.equal(list.rangeCount, 2);
    assert.equal(list.has('198.51.100.21'), true);
    assert.equal(list.has('198.51.100.22'), false);
  });

  test('text that is not an address is never blocked', () => {
    const { list } = parseBlocklist('0.0.0.0/0');
    assert.equal(list.has('1.2.3.4'), true);
    assert.equal(list.has('example.org'), false);
    assert.equal(list.has(''), false);
    assert.equal(IpBlocklist.empty().has('1.2.3.4'), false);
  });
});

describe('bounds', () => {
  test(`only the first ${MAX_BLOCKLIST_ERRORS_KEPT} malformed lines are quoted, all are counted`, () => {
    const { report } = parseBlocklist(
      Array.from({ length: MAX_BLOCKLIST_ERRORS_KEPT + 5 }, () => 'x').join('\n'),
    );
    assert.equal(report.malformed, MAX_BLOCKLIST_ERRORS_KEPT + 5);
    assert.equal(report.errors.length, MAX_BLOCKLIST_ERRORS_KEPT);
  });

  test(`MAX_BLOCKLIST_RANGES (${MAX_BLOCKLIST_RANGES}) ranges load; one more is refused`, () => {
    const full = '192.0.2.1\n'.repeat(MAX_BLOCKLIST_RANGES);
    const ok = parseBlocklist(full);
    assert.equal(ok.report.ranges, MAX_BLOCKLIST_RANGES);
    assert.equal(ok.list.rangeCount, 1);
    assert.throws(
      () => parseBlocklist(`${full}198.51.100.1\n`),
      (e) =>
        isShoalError(e, ErrorCode.NetBlocklist) &&
        e.message.includes(`more than ${MAX_BLOCKLIST_RANGES} ranges (line ${MAX_BLOCKLIST_RANGES + 1})`),
    );
  });

  test(`text over MAX_BLOCKLIST_BYTES (${MAX_BLOCKLIST_BYTES}) is refused before parsing`, () => {
    assert.throws(
      () => parseBlocklist('#'.repeat(MAX_BLOCKLIST_BYTES + 1)),
      (e) => isShoalError(e, ErrorCode.NetBlocklist),
    );
  });

  test('files: read, refused when too large (by size, before reading), clear error when missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-blocklist-'));
    try {
      const good = join(dir, 'list.p2p');
      await writeFile(good, 'Bad:192.0.2.0-192.0.2.255\n');
      const { list } = await loadBlocklist({ path: good });
      assert.equal(list.has('192.0.2.9'), true);
      const big = join(dir, 'big.p2p');
      await writeFile(big, '');
      await truncate(big, MAX_BLOCKLIST_BYTES + 1); // sparse: no disk used
      await assert.rejects(
        loadBlocklist({ path: big }),
        (e) => isShoalError(e, ErrorCode.NetBlocklist) && /bytes, more than/.test(e.message),
      );
      await assert.rejects(
        loadBlocklist({ path: join(dir, 'missing.p2p') }),
        (e) => isShoalError(e, ErrorCode.NetBlocklist) && /cannot read blocklist/.test(e.message),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('properties', () => {
  test('random lines give a list and a report, or a typed error — never anything else', () => {
    const piece = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom(
        ':',
        '-',
        ',',
        '/',
        '#',
        '.',
        '::',
        ' ',
        '\t',
        '\r',
        '1.2.3.4',
        '255.255.255.255',
        '2001:db8::',
        '000',
        '128',
      ),
      fc.ipV4(),
      fc.ipV6(),
    );
    const line = fc.array(piece, { maxLength: 8 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        try {
          const { list, report } = parseBlocklist(lines.join('\n'));
          assert.ok(report.ranges + report.malformed + report.allowed <= Math.max(1, lines.length));
          list.has('1.2.3.4');
          list.has('2001:db8::1');
        } catch (e) {
          assert.ok(isShoalError(e), String(e));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('lookups agree with a linear scan of the ranges', () => {
    const range = fc.tuple(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 50 }));
    fc.assert(
      fc.property(
        fc.array(range, { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 2100 }), { maxLength: 50 }),
        (ranges, probes) => {
          const ip = (n: number) => `10.0.${n >>> 8}.${n & 255}`;
          const { list } = parseBlocklist(ranges.map(([a, len]) => `${ip(a)}-${ip(a + len)}`).join('\n'));
          for (const p of probes) {
            const expected = ranges.some(([a, len]) => p >= a && p <= a + len);
            assert.equal(list.has(ip(p)), expected, ip(p));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
