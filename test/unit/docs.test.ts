import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ErrorCode } from '../../src/shared/errors.js';
import * as limits from '../../src/shared/limits.js';

const doc = (p: string) => readFileSync(new URL(`../../docs/${p}`, import.meta.url), 'utf8');

test('docs/LIMITS.md lists every limit (run node scripts/gen-docs.mjs)', () => {
  const text = doc('LIMITS.md');
  const missing = Object.keys(limits).filter((k) => !text.includes(`\`${k}\``));
  assert.deepEqual(missing, []);
});

test('docs/ERRORS.md lists every error code (run node scripts/gen-docs.mjs)', () => {
  const text = doc('ERRORS.md');
  const missing = Object.values(ErrorCode).filter((c) => !text.includes(`\`${c}\``));
  assert.deepEqual(missing, []);
});
