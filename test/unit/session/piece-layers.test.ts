import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type Metainfo, parseInfoDict, parseTorrent } from '../../../src/metainfo/index.js';
import { PieceLayers } from '../../../src/session/piece-layers.js';
import { createTorrent } from '../../../src/storage/index.js';
import { writeTree } from '../../helpers/payload.js';

let dir = '';
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('layers fetched with hash requests verify against the pieces root; forged ones are refused', async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-layers-'));
  // 700 pieces: two requests of 512 with proofs.
  await writeTree(join(dir, 'p'), { 'big.bin': 700 * 16384 - 5, 'small.bin': 100 }, 2);
  const t = await createTorrent(join(dir, 'p'), { version: 'v2', pieceLength: 16384 });
  const full = parseTorrent(t.bytes);
  const server = new PieceLayers(full);
  const fromMagnet: Metainfo = parseInfoDict(t.infoBytes);
  const client = new PieceLayers(fromMagnet);
  assert.deepEqual(client.missingFiles(), [0]);
  const reqs = client.requests();
  assert.deepEqual(
    reqs.map((r) => [r.index, r.length, r.proofLayers]),
    [
      [0, 512, 9],
      [512, 512, 9],
    ],
  );
  // A forged reply does not verify.
  const good0 = server.answer(reqs[0]!)!;
  const forged = Buffer.from(good0);
  forged[100] = forged[100]! ^ 0xff;
  assert.equal(client.onHashes({ ...reqs[0]!, hashes: forged }), false);
  // Genuine replies complete the layer.
  assert.equal(client.onHashes({ ...reqs[0]!, hashes: good0 }), undefined);
  assert.equal(client.onHashes({ ...reqs[1]!, hashes: server.answer(reqs[1]!)! }), 0);
  assert.deepEqual(client.layers(), new Map(full.pieceLayers));
  assert.deepEqual(client.missingFiles(), []);
  // Requests the server cannot answer are rejected.
  assert.equal(server.answer({ ...reqs[0]!, baseLayer: 3 }), undefined, 'only the piece layer is served');
  assert.equal(server.answer({ ...reqs[0]!, index: 3 }), undefined);
});
