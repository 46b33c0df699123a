/**
 * Property tests of the metainfo parsers: any bytes give a checked Metainfo or a typed
 * ShoalError, quickly; whatever is accepted keeps every file inside the download folder; magnet
 * links round-trip through buildMagnet/parseMagnet.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { type Encodable, encode } from '../../src/codec/index.js';
import { storagePath } from '../../src/metainfo/file-tree.js';
import { buildMagnet, parseMagnet } from '../../src/metainfo/magnet.js';
import { parseInfoDict, parseTorrent } from '../../src/metainfo/parse.js';
import { joinSafe, unsafePathComponentReason } from '../../src/metainfo/path-safety.js';
import type { MagnetLink, Metainfo } from '../../src/metainfo/types.js';
import { isShoalError } from '../../src/shared/errors.js';
import { MAX_PATH_DEPTH, MAX_TORRENT_TOTAL_BYTES } from '../../src/shared/limits.js';
import {
  type BuiltTorrent,
  hybridMulti,
  toBytes,
  v1Multi,
  v2Multi,
} from '../unit/metainfo/torrent-builder.js';

const ROOT = '/srv/shoal-downloads';
/** Slowest accepted parse of one small input, in ms (generous for a loaded 2-core machine). */
// Generous: the machine is shared and noisy; this catches pathological (super-linear) parses, not jitter.
const SLOW_MS = 2000;

/** The guarantees every accepted Metainfo must keep. */
function checkInvariants(m: Metainfo): void {
  const space = m.pieceCount * m.pieceLength;
  let total = 0;
  for (const f of m.files) {
    assert.ok(f.path.length >= 1 && f.path.length <= MAX_PATH_DEPTH);
    for (const c of f.path) assert.equal(unsafePathComponentReason(c), undefined, c);
    const full = joinSafe(ROOT, storagePath(m, f));
    assert.ok(full.startsWith(`${ROOT}/`), full);
    assert.ok(Number.isSafeInteger(f.length) && f.length >= 0);
    assert.ok(
      f.offset >= 0 && f.offset + f.length <= space,
      `file ends at ${f.offset + f.length} > ${space}`,
    );
    if (!f.isPadding) total += f.length;
  }
  assert.equal(unsafePathComponentReason(m.name), undefined);
  assert.equal(total, m.totalLength);
  assert.ok(m.totalLength > 0 && m.totalLength <= MAX_TORRENT_TOTAL_BYTES);
  if (m.pieces !== undefined) assert.equal(m.pieces.length, 20 * m.pieceCount);
  if (m.version !== 'v1') for (const layer of m.pieceLayers.values()) assert.equal(layer.length % 32, 0);
}

function parsesOrTypedError(bytes: Uint8Array, parse: (b: Uint8Array) => Metainfo = parseTorrent): void {
  const t0 = performance.now();
  try {
    checkInvariants(parse(bytes));
  } catch (e) {
    if (!isShoalError(e)) throw e;
  }
  const ms = performance.now() - t0;
  assert.ok(ms < SLOW_MS, `took ${ms.toFixed(1)} ms`);
}

const fixtureDir = new URL('../fixtures/torrents/valid/', import.meta.url).pathname;
const SEEDS: Uint8Array[] = [
  toBytes(v1Multi()),
  toBytes(v2Multi()),
  toBytes(hybridMulti()),
  ...readdirSync(fixtureDir)
    .filter((f) => f.startsWith('libtorrent-'))
    .map((f) => new Uint8Array(readFileSync(`${fixtureDir}${f}`))),
];

const edit = fc.record({
  op: fc.integer({ min: 0, max: 4 }),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
  len: fc.integer({ min: 1, max: 24 }),
});

function mutate(
  base: Uint8Array,
  edits: readonly { op: number; at: number; byte: number; len: number }[],
): Uint8Array {
  let out = Buffer.from(base);
  for (const { op, at, byte, len } of edits) {
    const i = out.length === 0 ? 0 : at % out.length;
    const token = Buffer.from('ilde0123456789:-'.charAt(byte % 16));
    if (op === 0 && out.length > 0) out[i] = byte;
    else if (op === 1) out = Buffer.concat([out.subarray(0, i), out.subarray(i + len)]);
    else if (op === 2) out = Buffer.concat([out.subarray(0, i), Buffer.of(byte), out.subarray(i)]);
    else if (op === 3) out = Buffer.concat([out.subarray(0, i), out.subarray(i, i + len), out.subarray(i)]);
    else out = Buffer.concat([out.subarray(0, i), token, out.subarray(i)]);
  }
  return new Uint8Array(out);
}

test('random bytes give a Metainfo or a ShoalError, quickly', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => parsesOrTypedError(bytes)),
    { numRuns: 3000 },
  );
});

test('mutated real torrents give a checked Metainfo or a ShoalError, quickly', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: SEEDS.length - 1 }),
      fc.array(edit, { minLength: 1, maxLength: 5 }),
      (s, edits) => parsesOrTypedError(mutate(SEEDS[s]!, edits)),
    ),
    { numRuns: 3000 },
  );
});

/** Values a hostile torrent might put anywhere. */
const hostile: fc.Arbitrary<Encodable> = fc.letrec<{ v: Encodable }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom<Encodable>(
      '..',
      '.',
      '',
      '/etc/passwd',
      'a\\b',
      'C:',
      'con.txt',
      'x.',
      'nul\u0000',
      0,
      -1,
      1,
      2,
      16384,
      2 ** 40,
      2n ** 62n,
      -(2n ** 62n),
      new Uint8Array(32),
      new Uint8Array(20),
      Uint8Array.of(0xff, 0xfe),
      'p',
      'l',
    ),
    fc.integer(),
    fc.string({ maxLength: 8 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('', 'length', 'path', 'pieces root', 'attr', 'a', '..'), tie('v'), {
      maxKeys: 3,
    }),
  ),
})).v;

/** Every [container, key] slot inside a built torrent's plain objects and arrays. */
function slots(root: Record<string, unknown>): [Record<string | number, unknown>, string | number][] {
  const out: [Record<string | number, unknown>, string | number][] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach((v, i) => {
        out.push([node as unknown as Record<number, unknown>, i]);
        walk(v);
      });
    } else if (
      node !== null &&
      typeof node === 'object' &&
      !(node instanceof Uint8Array) &&
      !(node instanceof Map)
    ) {
      for (const [k, v] of Object.entries(node)) {
        out.push([node as Record<string, unknown>, k]);
        walk(v);
      }
    }
  };
  walk(root);
  return out;
}

const makers: (() => BuiltTorrent)[] = [v1Multi, v2Multi, hybridMulti];

test('torrents with one field replaced by a hostile value give a checked Metainfo or a ShoalError', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: makers.length - 1 }),
      fc.nat(),
      hostile,
      fc.boolean(),
      (which, slotIndex, value, remove) => {
        const t = makers[which]!();
        const all = slots({ outer: t.outer, info: t.info });
        const [container, key] = all[slotIndex % all.length]!;
        if (remove && !Array.isArray(container)) delete container[key];
        else container[key] = value;
        let bytes: Uint8Array;
        try {
          bytes = toBytes(t);
        } catch (e) {
          if (isShoalError(e)) return; // e.g. the replacement made the value unencodable
          throw e;
        }
        parsesOrTypedError(bytes);
        parsesOrTypedError(encode(t.info), parseInfoDict);
      },
    ),
    { numRuns: 2000 },
  );
});

test('any accepted path component joins to a direct child of the root', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 12 }), (c) => {
      if (unsafePathComponentReason(c) !== undefined) {
        assert.throws(
          () => joinSafe(ROOT, [c]),
          (e: unknown) => isShoalError(e),
        );
        return;
      }
      assert.equal(joinSafe(ROOT, [c]), `${ROOT}/${c}`);
    }),
    { numRuns: 3000 },
  );
});

const hostname = fc.oneof(fc.ipV4(), fc.domain());
const peer = fc
  .record({ host: fc.oneof(hostname, fc.ipV6()), port: fc.integer({ min: 1, max: 65535 }) })
  .map(({ host, port }) => ({ host, port })); // plain objects, as parseMagnet returns

const magnetLink: fc.Arbitrary<MagnetLink> = fc
  .record({
    v1: fc.option(fc.uint8Array({ minLength: 20, maxLength: 20 }), { nil: undefined }),
    v2: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }),
    name: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), { nil: undefined }),
    trackers: fc.uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), { maxLength: 4 }),
    webSeeds: fc.uniqueArray(fc.webUrl(), { maxLength: 3 }),
    peers: fc.uniqueArray(peer, { maxLength: 4, selector: (p) => `${p.host}|${p.port}` }),
    selectOnly: fc.option(fc.uniqueArray(fc.nat({ max: 2000 }), { minLength: 1, maxLength: 20 }), {
      nil: undefined,
    }),
  })
  .filter((r) => r.v1 !== undefined || r.v2 !== undefined)
  .map((r) => {
    const link: { -readonly [K in keyof MagnetLink]: MagnetLink[K] } = {
      trackers: r.trackers,
      webSeeds: r.webSeeds,
      peers: r.peers,
    };
    if (r.v1 !== undefined) link.infoHashV1 = r.v1;
    if (r.v2 !== undefined) link.infoHashV2 = r.v2;
    if (r.name !== undefined) link.name = r.name;
    if (r.selectOnly !== undefined) link.selectOnly = [...r.selectOnly].sort((a, b) => a - b);
    return link;
  });

test('parseMagnet(buildMagnet(x)) is x', () => {
  fc.assert(
    fc.property(magnetLink, (link) => {
      assert.deepEqual(parseMagnet(buildMagnet(link)), link);
    }),
    { numRuns: 2000 },
  );
});

test('random and mutated magnet text gives a MagnetLink or a ShoalError', () => {
  const base = buildMagnet({
    infoHashV1: new Uint8Array(20).fill(1),
    infoHashV2: new Uint8Array(32).fill(2),
    name: 'n',
    trackers: ['http://t/'],
    webSeeds: [],
    peers: [{ host: '::1', port: 1 }],
    selectOnly: [0, 2, 3],
  });
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc
      .tuple(fc.nat({ max: base.length }), fc.string({ maxLength: 8 }), fc.nat({ max: 8 }))
      .map(([at, insert, cut]) => base.slice(0, at) + insert + base.slice(at + cut)),
  );
  fc.assert(
    fc.property(text, (uri) => {
      try {
        const m = parseMagnet(uri);
        assert.ok(m.infoHashV1 !== undefined || m.infoHashV2 !== undefined);
      } catch (e) {
        if (!isShoalError(e)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
});
