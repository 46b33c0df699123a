/**
 * The one file numbering users see (issue 18): padding files are neither listed nor counted, and
 * the conversions between file numbers and file indices agree.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  fileIndexOf,
  fileNumberOf,
  parseHostPort,
  parseTorrent,
  prioritiesByFileIndex,
  prioritiesByFileNumber,
  userFiles,
} from '../../../src/metainfo/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';

const fixture = (name: string) =>
  parseTorrent(
    new Uint8Array(readFileSync(new URL(`../../fixtures/torrents/valid/${name}`, import.meta.url))),
  );

test('a hybrid with padding: user files are numbered 0.. without gaps', () => {
  const m = fixture('hybrid-with-padding.torrent');
  const padding = m.files.map((f, i) => (f.isPadding ? i : -1)).filter((i) => i >= 0);
  assert.ok(padding.length > 0, 'the fixture has padding files');
  const files = userFiles(m);
  assert.deepEqual(
    files.map((u) => u.number),
    files.map((_, i) => i),
  );
  assert.equal(files.length, m.files.length - padding.length);
  for (const u of files) {
    assert.equal(m.files[u.fileIndex]!.isPadding, false);
    assert.equal(fileIndexOf(m, u.number), u.fileIndex);
    assert.equal(fileNumberOf(m, u.fileIndex), u.number);
  }
  for (const i of padding) assert.equal(fileNumberOf(m, i), undefined);
  assert.equal(fileIndexOf(m, files.length), undefined);
  assert.equal(fileIndexOf(m, -1), undefined);
  assert.equal(fileIndexOf(m, 0.5), undefined);
  assert.equal(userFiles(m), files, 'cached per metainfo');
});

test('priorities convert both ways; padding files get 0', () => {
  const m = fixture('hybrid-with-padding.torrent');
  const n = userFiles(m).length;
  const byNumber = Array.from({ length: n }, (_, i) => i % 3);
  const byIndex = prioritiesByFileIndex(m, byNumber);
  assert.equal(byIndex.length, m.files.length);
  m.files.forEach((f, i) => {
    if (f.isPadding) assert.equal(byIndex[i], 0);
  });
  assert.deepEqual(prioritiesByFileNumber(m, byIndex), byNumber);
  assert.deepEqual(prioritiesByFileNumber(m, undefined), new Array(n).fill(1));
});

test('a v1 torrent without padding: numbers and indices are the same', () => {
  const m = fixture('v1-multi-file.torrent');
  assert.deepEqual(
    userFiles(m).map((u) => [u.number, u.fileIndex]),
    m.files.map((_, i) => [i, i]),
  );
});

test('parseHostPort: HOST:PORT and [IPv6]:PORT, anything else a SHOAL_ERR_PEER_ADDRESS_INVALID', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:6881'), { host: '127.0.0.1', port: 6881 });
  assert.deepEqual(parseHostPort('[::1]:6881'), { host: '::1', port: 6881 });
  assert.deepEqual(parseHostPort('peer.example:1'), { host: 'peer.example', port: 1 });
  for (const bad of ['notapeer', '::1:6881', '[::1]', '[::1:80', 'a b:80', 'h:0', 'h:65536', 'h:x', ':80']) {
    assert.throws(
      () => parseHostPort(bad, '--peer'),
      (e: unknown) => isShoalError(e, ErrorCode.PeerAddressInvalid) && /--peer/.test((e as Error).message),
      bad,
    );
  }
});
