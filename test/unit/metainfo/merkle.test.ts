import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fileRootFromPieceLayer,
  hashesForRequest,
  padHash,
  treeLayersFrom,
  verifyHashes,
} from '../../../src/metainfo/merkle.js';
import { sha256 } from '../../../src/shared/hash.js';

const pieceLength = 4 * 16384; // height 2 above the leaves
const pieces = Array.from({ length: 5 }, (_, i) => sha256(Uint8Array.of(i)));

test('tree layers from a piece layer reach the file root', () => {
  const layers = treeLayersFrom(pieces, 2);
  assert.equal(layers[0]!.length, 8);
  assert.deepEqual(layers[0]![7], padHash(2));
  assert.deepEqual(layers.at(-1)![0], fileRootFromPieceLayer(pieces, pieceLength));
});

test('hash request answers verify against the root, with proofs (BEP 52)', () => {
  const layers = treeLayersFrom(pieces, 2);
  const root = layers.at(-1)![0]!;
  const cat = (hs: Uint8Array[]) => Buffer.concat(hs);
  // The whole layer: no uncle needed.
  const whole = hashesForRequest(layers, 0, 8, 3)!;
  assert.equal(whole.length, 8);
  assert.equal(verifyHashes(root, 8, 0, 8, cat(whole))?.length, 8);
  // Two hashes at index 4 with proofs up to the root: 2 uncles.
  const part = hashesForRequest(layers, 4, 2, 3)!;
  assert.equal(part.length, 4);
  assert.deepEqual(verifyHashes(root, 8, 4, 2, cat(part)), pieces.slice(4, 5).concat([padHash(2)]));
  // A tampered hash or uncle is refused.
  const bad = cat(part);
  bad[40] = bad[40]! ^ 1;
  assert.equal(verifyHashes(root, 8, 4, 2, bad), undefined);
  // Requests that do not fit are refused.
  assert.equal(hashesForRequest(layers, 3, 2, 3), undefined, 'index not a multiple of length');
  assert.equal(hashesForRequest(layers, 0, 3, 3), undefined, 'length not a power of two');
  assert.equal(hashesForRequest(layers, 8, 2, 3), undefined, 'beyond the layer');
});
