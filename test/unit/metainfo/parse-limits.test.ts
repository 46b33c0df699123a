import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetainfoError } from '../../../src/metainfo/errors.js';
import { parseTorrent } from '../../../src/metainfo/parse.js';
import { ErrorCode } from '../../../src/shared/errors.js';
import { MAX_TORRENT_FILES } from '../../../src/shared/limits.js';

// Kept apart from parse.test.ts: decoding a million entries takes most of a second.
test(`more than MAX_TORRENT_FILES files is too large`, () => {
  const count = MAX_TORRENT_FILES + 1;
  const body = Buffer.alloc(count * 2);
  for (let i = 0; i < count; i++) body.write('de', i * 2, 'latin1');
  const head = Buffer.from('d4:infod5:filesl');
  const tail = Buffer.from('e4:name1:x12:piece lengthi16384e6:pieces0:ee');
  assert.throws(
    () => parseTorrent(Buffer.concat([head, body, tail])),
    (e: unknown) =>
      e instanceof MetainfoError &&
      e.code === ErrorCode.MetainfoTooLarge &&
      e.field === 'info.files' &&
      e.message.includes(String(MAX_TORRENT_FILES)),
  );
});
