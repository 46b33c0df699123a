import assert from 'node:assert/strict';
import { join, sep } from 'node:path';
import { describe, test } from 'node:test';
import { MetainfoError } from '../../../src/metainfo/errors.js';
import {
  assertSafePath,
  assertSafePathComponent,
  joinSafe,
  unsafePathComponentReason,
} from '../../../src/metainfo/path-safety.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { MAX_PATH_COMPONENT_BYTES, MAX_PATH_DEPTH } from '../../../src/shared/limits.js';

function unsafe(fn: () => unknown, field: string, text: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MetainfoError, String(e));
    assert.equal(e.code, ErrorCode.MetainfoUnsafePath);
    assert.equal(e.field, field);
    assert.ok(e.message.includes(text), `${e.message} lacks ${text}`);
    return true;
  });
}

describe('assertSafePathComponent', () => {
  const rejected: [string, string][] = [
    ['', 'empty'],
    ['.', 'current-directory'],
    ['..', 'parent-directory'],
    ['/', 'absolute'],
    ['/etc', 'absolute'],
    ['\\windows', 'absolute'],
    ['a/b', 'separator "/"'],
    ['a\\b', 'separator "\\"'],
    ['..\\..\\x', 'separator'],
    ['a\u0000', 'control'],
    ['\u001f', 'control'],
    ['tab\there', 'control'],
    ['C:', 'drive'],
    ['c:evil', 'drive'],
    ['z:', 'drive'],
    ['CON', 'device'],
    ['con', 'device'],
    ['Prn', 'device'],
    ['aux.txt', 'device'],
    ['NUL.tar.gz', 'device'],
    ['com1', 'device'],
    ['COM9.log', 'device'],
    ['lpt1', 'device'],
    ['LPT0', 'device'],
    ['COM¹', 'device'],
    ['conin$', 'device'],
    ['CONOUT$.x', 'device'],
    ['con .txt', 'device'],
    ['name.', 'dot or space'],
    ['name ', 'dot or space'],
    ['...', 'dot or space'],
    [' ', 'dot or space'],
    ['a'.repeat(MAX_PATH_COMPONENT_BYTES + 1), `longer than ${MAX_PATH_COMPONENT_BYTES}`],
    ['é'.repeat(128), 'longer than'], // 256 bytes in UTF-8
    ['\ud800x', 'UTF-8'],
    ['x\udc00', 'UTF-8'],
  ];
  for (const [component, reason] of rejected) {
    test(`rejects ${JSON.stringify(component.slice(0, 20))} (${reason})`, () => {
      assert.ok(unsafePathComponentReason(component)?.includes(reason), unsafePathComponentReason(component));
      unsafe(() => assertSafePathComponent(component, 'info.name'), 'info.name', reason);
    });
  }

  const accepted = [
    'a',
    'file.txt',
    '.hidden',
    '..foo',
    'foo..bar',
    'console',
    'com10',
    'lpt',
    'nul_file',
    'connected.txt',
    'ab:c', // not a drive prefix: a colon later in a name stays inside the folder
    'ünïcödé',
    '日本語',
    '😀',
    'a'.repeat(MAX_PATH_COMPONENT_BYTES),
    'é'.repeat(127),
    '.pad',
  ];
  for (const component of accepted) {
    test(`accepts ${JSON.stringify(component.slice(0, 20))}`, () => {
      assert.equal(unsafePathComponentReason(component), undefined);
      assert.equal(assertSafePathComponent(component, 'f'), component);
    });
  }

  test('decodes raw bytes as UTF-8 and rejects invalid UTF-8, naming the bytes in hex', () => {
    assert.equal(assertSafePathComponent(new TextEncoder().encode('ok.txt'), 'f'), 'ok.txt');
    unsafe(() => assertSafePathComponent(Uint8Array.of(0x2e, 0x2e), 'f'), 'f', '".."');
    unsafe(() => assertSafePathComponent(Uint8Array.of(0xc0, 0xae), 'f'), 'f', '0xc0ae'); // overlong "."
    unsafe(() => assertSafePathComponent(Uint8Array.of(0xff), 'f'), 'f', 'not valid UTF-8');
  });

  test('quotes control characters escaped and shortens long components', () => {
    unsafe(() => assertSafePathComponent('a\u0000b', 'f'), 'f', '"a\\u0000b"');
    assert.throws(
      () => assertSafePathComponent('x'.repeat(1000), 'f'),
      (e: unknown) => e instanceof MetainfoError && e.message.length < 300,
    );
  });
});

describe('assertSafePath', () => {
  test('returns the components as text', () => {
    assert.deepEqual(assertSafePath(['a', new TextEncoder().encode('b')], 'p'), ['a', 'b']);
  });
  test('names the failing component by index', () => {
    unsafe(() => assertSafePath(['ok', '..', 'x'], 'info.files[2].path'), 'info.files[2].path[1]', '".."');
  });
  test('rejects an empty path', () => {
    unsafe(() => assertSafePath([], 'p'), 'p', 'empty path');
  });
  test(`rejects more than MAX_PATH_DEPTH components, accepts exactly ${MAX_PATH_DEPTH}`, () => {
    const parts = Array.from({ length: MAX_PATH_DEPTH }, () => 'd');
    assert.equal(assertSafePath(parts, 'p').length, MAX_PATH_DEPTH);
    unsafe(() => assertSafePath([...parts, 'd'], 'p'), 'p', `more than ${MAX_PATH_DEPTH}`);
  });
});

describe('joinSafe', () => {
  const root = join(sep, 'srv', 'downloads');

  test('joins components strictly inside the root', () => {
    assert.equal(joinSafe(root, ['t', 'a.txt']), join(root, 't', 'a.txt'));
    assert.equal(joinSafe(`${root}${sep}`, ['..foo']), join(root, '..foo'));
  });

  test('rejects unsafe components before joining', () => {
    unsafe(() => joinSafe(root, ['..', 'etc', 'passwd']), 'path[0]', '".."');
    unsafe(() => joinSafe(root, ['/etc/passwd']), 'path[0]', 'absolute');
    unsafe(() => joinSafe(root, ['a', 'b\\..\\..']), 'path[1]', 'separator');
    unsafe(() => joinSafe(root, []), 'path', 'empty path');
  });

  test('requires an absolute root', () => {
    unsafe(() => joinSafe('relative/dir', ['a']), 'rootDir', 'not an absolute path');
  });
});
