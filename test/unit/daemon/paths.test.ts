import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isInside, realpathLoose, resolveAllowedDir } from '../../../src/daemon/paths.js';
import { isShoalError } from '../../../src/shared/errors.js';
import { MAX_API_PATH_LENGTH } from '../../../src/shared/limits.js';

test('isInside', () => {
  assert.ok(isInside('/a/b', '/a/b'));
  assert.ok(isInside('/a/b', '/a/b/c'));
  assert.ok(isInside('/a/b', '/a/b/..c'));
  assert.ok(!isInside('/a/b', '/a/bc'));
  assert.ok(!isInside('/a/b', '/a'));
  assert.ok(!isInside('/a/b', '/x/a/b'));
});

test('resolveAllowedDir: inside the roots only, by real path', async () => {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'shoal-paths-')));
  try {
    const root = join(base, 'dl');
    const other = join(base, 'other');
    await mkdir(root);
    await mkdir(other);
    await symlink(other, join(root, 'out'));
    const code = async (p: string) => {
      try {
        await resolveAllowedDir(p, root, [root]);
        return 'ok';
      } catch (e) {
        assert.ok(isShoalError(e), String(e));
        return `${e.code}:${(e.details as { status: number }).status}`;
      }
    };
    assert.equal(await resolveAllowedDir('movies/2024', root, [root]), join(root, 'movies', '2024'));
    assert.equal(await resolveAllowedDir(join(root, 'abs'), root, [root]), join(root, 'abs'));
    assert.equal(await resolveAllowedDir(root, root, [root]), root);
    assert.equal(await code('../x'), 'SHOAL_ERR_DAEMON_UNSAFE_PATH:400');
    assert.equal(await code('a/../../x'), 'SHOAL_ERR_DAEMON_UNSAFE_PATH:400');
    assert.equal(await code('a\\..\\x'), 'SHOAL_ERR_DAEMON_UNSAFE_PATH:400');
    assert.equal(await code('a\0b'), 'SHOAL_ERR_DAEMON_UNSAFE_PATH:400');
    assert.equal(await code(''), 'SHOAL_ERR_DAEMON_UNSAFE_PATH:400');
    assert.equal(await code('x'.repeat(MAX_API_PATH_LENGTH + 1)), 'SHOAL_ERR_DAEMON_UNSAFE_PATH:400');
    assert.equal(await code('x'.repeat(200)), 'ok', 'long but within MAX_API_PATH_LENGTH');
    assert.equal(await code(other), 'SHOAL_ERR_DAEMON_UNSAFE_PATH:403');
    assert.equal(await code('/'), 'SHOAL_ERR_DAEMON_UNSAFE_PATH:403');
    assert.equal(await code('out/inner'), 'SHOAL_ERR_DAEMON_UNSAFE_PATH:403', 'a link out of the root');
    assert.equal(
      await resolveAllowedDir(join(other, 'y'), root, [root, other]),
      join(other, 'y'),
      'an extra root',
    );
    await writeFile(join(root, 'file'), 'x');
    assert.equal(await code('file/sub'), 'SHOAL_ERR_DAEMON_UNSAFE_PATH:400', 'a file in the way');
    assert.equal(await realpathLoose(join(root, 'out', 'a', 'b')), join(other, 'a', 'b'));
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
