/**
 * makeDirectory / ensureWritableDirectory (issue 18): a folder that cannot be made fails once,
 * quickly, with its cause in plain words — `mkdir -p` in /proc spun forever with Node's
 * recursive mkdir — and a folder is created with its parents.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { ensureWritableDirectory, folderProblem, makeDirectory } from '../../../src/storage/index.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-dir-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('creates a folder and its parents, and accepts one that exists', async () => {
  const deep = join(dir, 'a', 'b', 'c');
  await makeDirectory(deep);
  assert.equal(existsSync(deep), true);
  await makeDirectory(deep);
  await ensureWritableDirectory(deep);
  assert.deepEqual(await readdir(deep), [], 'the write probe is removed');
});

test('in /proc it fails once with ENOENT instead of spinning', { timeout: 5_000 }, async () => {
  await assert.rejects(makeDirectory('/proc/shoal-x/y'), (e: unknown) => {
    assert.ok(isShoalError(e, ErrorCode.StorageIo));
    assert.equal((e as { details: { errno?: string } }).details.errno, 'ENOENT');
    assert.match((e as Error).message, /^cannot create the folder \/proc\/shoal-x: .* \(ENOENT\)$/);
    return true;
  });
});

test('a file in the way is named as such', async () => {
  await writeFile(join(dir, 'file'), 'x');
  await assert.rejects(ensureWritableDirectory(join(dir, 'file', 'sub')), (e: unknown) => {
    assert.match(
      folderProblem(e, join(dir, 'file', 'sub')),
      /a part of the path is a file, not a folder \(ENOTDIR\)/,
    );
    return true;
  });
});
