import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RESUME_SAVE_INTERVAL_MS } from '../../../src/shared/limits.js';
import {
  decodeResume,
  encodeResume,
  type ResumeRecord,
  ResumeWriter,
  readResumeFile,
} from '../../../src/storage/resume.js';

const hash = new Uint8Array(20).fill(7);
const record: ResumeRecord = {
  infoHashV1: hash,
  pieces: Uint8Array.of(0b1010_0000),
  files: [{ size: 10, mtimeMs: 1234 }],
  uploaded: 5,
  downloaded: 9,
};
const expect = { infoHashV1: hash, pieceCount: 3, fileCount: 1 };

describe('resume records', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('round trip', () => {
    assert.deepEqual(decodeResume(encodeResume(record), expect), record);
  });

  test('records for another torrent or shape are ignored', () => {
    const bytes = encodeResume(record);
    assert.equal(decodeResume(bytes, { ...expect, infoHashV1: new Uint8Array(20) }), undefined);
    assert.equal(decodeResume(bytes, { ...expect, pieceCount: 9 }), undefined);
    assert.equal(decodeResume(bytes, { ...expect, fileCount: 2 }), undefined);
    assert.equal(decodeResume(bytes.subarray(0, bytes.length - 1), expect), undefined);
    assert.equal(decodeResume(new TextEncoder().encode('garbage'), expect), undefined);
  });

  test('the writer coalesces saves and leaves no temp files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-resume-'));
    dirs.push(dir);
    const path = join(dir, 'x.resume');
    let snapshots = 0;
    let downloaded = 0;
    const w = new ResumeWriter(path, () => {
      snapshots++;
      return { ...record, downloaded };
    });
    const saves: Promise<void>[] = [];
    for (let i = 1; i <= 50; i++) {
      downloaded = i;
      saves.push(w.schedule());
    }
    await Promise.all(saves);
    await w.flush();
    assert.ok(snapshots >= 1 && snapshots <= 3, `coalesced into ${snapshots} writes`);
    const back = decodeResume((await readResumeFile(path))!, expect);
    assert.equal(back?.downloaded, 50, 'the last state is on disk');
    assert.deepEqual(await readdir(dir), ['x.resume']);
    assert.equal(await readResumeFile(join(dir, 'missing')), undefined);
  });

  test(`routine saves start at least RESUME_SAVE_INTERVAL_MS (${RESUME_SAVE_INTERVAL_MS} ms) apart`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-resume-'));
    dirs.push(dir);
    const path = join(dir, 'x.resume');
    const starts: number[] = [];
    let downloaded = 0;
    const w = new ResumeWriter(path, () => {
      starts.push(performance.now());
      return { ...record, downloaded };
    });
    downloaded = 1;
    await w.schedule();
    // A save asked for right after one: it waits for the interval, and takes the latest state.
    downloaded = 2;
    const second = w.schedule();
    downloaded = 3;
    await second;
    assert.equal(starts.length, 2);
    assert.ok(
      starts[1]! - starts[0]! >= RESUME_SAVE_INTERVAL_MS - 1,
      `${(starts[1]! - starts[0]!).toFixed(1)} ms apart`,
    );
    assert.equal(decodeResume((await readResumeFile(path))!, expect)?.downloaded, 3);
    // A save asked for `now` does not wait for the interval, and cuts short a save waiting for it.
    const slow = new ResumeWriter(path, () => ({ ...record, downloaded }), 60_000);
    downloaded = 5;
    await slow.schedule();
    downloaded = 6;
    const waiting = slow.schedule();
    downloaded = 7;
    const t0 = performance.now();
    await Promise.all([waiting, slow.schedule(true)]);
    assert.ok(performance.now() - t0 < 10_000, 'not held for the 60 s interval');
    assert.equal(decodeResume((await readResumeFile(path))!, expect)?.downloaded, 7);
    // A clean shutdown's durable save does not wait for anything but a save in progress.
    downloaded = 4;
    await w.saveDurably();
    assert.equal(decodeResume((await readResumeFile(path))!, expect)?.downloaded, 4);
  });
});
