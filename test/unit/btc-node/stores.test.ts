/**
 * The header file and the filter header file: restart from disk, a torn last record cut off, a
 * damaged record and everything after it dropped, a reorganisation truncating at the fork, a
 * foreign file refused, and filter headers that no longer match the best chain dropped.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  BITCOIN_MAINNET,
  BITCOIN_REGTEST,
  HEADER_RECORD_BYTES,
  hashToHex,
  RECORD_FILE_HEADER_BYTES,
} from '../../../src/bitcoin/index.js';
import { FilterHeaderStore, HeaderStore } from '../../../src/btc-node/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import { buildChain, type ChainBlock } from '../../helpers/btc-chain.js';

const P = BITCOIN_REGTEST;
let dir = '';
let chain: ChainBlock[];
let fork: ChainBlock[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-stores-'));
  chain = buildChain(60, () => Uint8Array.of(0x51));
  // A longer branch from height 50.
  fork = buildChain(15, () => Uint8Array.of(0x52), { from: chain.slice(0, 51), salt: 9 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fresh(name: string) {
  return HeaderStore.open(join(dir, name), P);
}

test('headers survive a restart; a torn last record is cut off', async () => {
  const path = join(dir, 'a.dat');
  {
    const { store, chain: c } = await HeaderStore.open(path, P);
    const r = c.acceptHeaders(
      chain.slice(1).map((b) => b.header),
      Number.POSITIVE_INFINITY,
    );
    store.record(r);
    await store.close();
  }
  assert.equal((await stat(path)).size, RECORD_FILE_HEADER_BYTES + 60 * HEADER_RECORD_BYTES);
  await appendFile(path, new Uint8Array(40).fill(7)); // a write cut mid-record
  const { store, chain: c, report } = await HeaderStore.open(path, P);
  assert.equal(c.height, 60);
  assert.equal(hashToHex(c.tip.hash), hashToHex(chain[60]!.hash));
  assert.equal(report.restored, 60);
  assert.equal(report.truncatedBytes, 40);
  assert.equal((await stat(path)).size, RECORD_FILE_HEADER_BYTES + 60 * HEADER_RECORD_BYTES);
  assert.equal(hashToHex((await store.read(30))!.slice(4, 36)), hashToHex(chain[29]!.hash));
  await store.close();
});

test('a damaged record drops it and every record after it', async () => {
  const path = join(dir, 'b.dat');
  const { store, chain: c } = await HeaderStore.open(path, P);
  store.record(
    c.acceptHeaders(
      chain.slice(1).map((b) => b.header),
      Number.POSITIVE_INFINITY,
    ),
  );
  await store.close();
  const fh = await open(path, 'r+');
  await fh.write(Uint8Array.of(0xee), 0, 1, RECORD_FILE_HEADER_BYTES + 40 * HEADER_RECORD_BYTES + 5);
  await fh.close();
  const again = await HeaderStore.open(path, P);
  assert.equal(again.chain.height, 40);
  assert.equal(again.report.truncatedBytes, 20 * HEADER_RECORD_BYTES);
  await again.store.close();
});

test('a reorganisation truncates at the fork and appends the new branch', async () => {
  const path = join(dir, 'c.dat');
  {
    const { store, chain: c } = await HeaderStore.open(path, P);
    store.record(
      c.acceptHeaders(
        chain.slice(1).map((b) => b.header),
        Number.POSITIVE_INFINITY,
      ),
    );
    const r = c.acceptHeaders(
      fork.slice(51).map((b) => b.header),
      Number.POSITIVE_INFINITY,
    );
    assert.equal(r.disconnected.length, 10);
    assert.equal(r.connected.length, 15);
    store.record(r);
    await store.close();
  }
  const { store, chain: c } = await HeaderStore.open(path, P);
  assert.equal(c.height, 65);
  assert.equal(hashToHex(c.tip.hash), hashToHex(fork[65]!.hash));
  assert.equal(hashToHex(c.hashAt(50)!), hashToHex(chain[50]!.hash));
  await store.close();
});

test("another network's or another format's file is refused", async () => {
  const path = join(dir, 'd.dat');
  await (await HeaderStore.open(path, BITCOIN_MAINNET)).store.close();
  await assert.rejects(fresh('d.dat'), (e) => isShoalError(e, ErrorCode.BtcBadRecord));
  await writeFile(join(dir, 'e.dat'), 'not a header file at all');
  await assert.rejects(fresh('e.dat'), (e) => isShoalError(e, ErrorCode.BtcBadRecord));
});

test('filter headers: restart, reorganisation, records of another branch dropped, a torn tail cut', async () => {
  const path = join(dir, 'f.dat');
  const { store: hs, chain: c } = await HeaderStore.open(join(dir, 'g.dat'), P);
  hs.record(
    c.acceptHeaders(
      chain.slice(1).map((b) => b.header),
      Number.POSITIVE_INFINITY,
    ),
  );
  {
    const f = await FilterHeaderStore.open(path, P, c);
    f.append(chain.map((b) => ({ blockHash: b.hash, filterHeader: b.filterHeader })));
    assert.equal(f.tipHeight, 60);
    f.truncate(55);
    assert.equal(f.count, 55);
    await f.close();
  }
  await appendFile(path, new Uint8Array(10));
  {
    const f = await FilterHeaderStore.open(path, P, c);
    assert.equal(f.count, 55);
    assert.equal(hashToHex(f.at(54)!), hashToHex(chain[54]!.filterHeader));
    assert.equal(f.at(55), undefined);
    await f.close();
  }
  // The chain moves to the fork: records above height 50 no longer belong.
  c.acceptHeaders(
    fork.slice(51).map((b) => b.header),
    Number.POSITIVE_INFINITY,
  );
  const f = await FilterHeaderStore.open(path, P, c);
  assert.equal(f.count, 51);
  await f.close();
  await hs.close();
  assert.ok((await readFile(path)).length > 0);
});
