/**
 * Interop: BEP 44 items between Shoal DHT runtimes and python3-libtorrent 2.0 DHT nodes, in one
 * Mainline DHT on 127.0.0.1 (no public router anywhere).
 *
 * - Six Shoal runtimes (a loopback testnet) and two libtorrent sessions, each its own process
 *   (test/interop/py/lt_dht.py), bootstrapped through Shoal nodes only. A put needs other nodes
 *   to store on: every put lands on several nodes of both kinds.
 * - Immutable items both ways: Shoal puts, libtorrent gets (`dht_get_immutable_item`);
 *   libtorrent puts (`dht_put_immutable_item`), Shoal gets.
 * - Mutable items both ways, unsalted and salted, each updated three times, the reader seeing the
 *   latest seq after every update: Shoal writes with `DhtRuntime.put` (explicit seq, then
 *   read-modify-write with `cas`), libtorrent reads (`dht_get_mutable_item`); libtorrent writes
 *   (`dht_put_mutable_item`, which reads the current seq and puts seq + 1), Shoal reads.
 * - Keys: a 32-byte ed25519 seed on the Shoal side; libtorrent is handed SHA-512(seed) clamped,
 *   its own form of the same secret, so both sign identically (RFC 8032).
 * - Values are byte strings: python3-libtorrent 2.0.8 reports an item alert's value only when it
 *   is a string (a list or dictionary value raises inside the binding), and its
 *   `dht_put_mutable_item` stores its data argument as a string.
 *
 * Every wait is on a line libtorrent prints or a Shoal promise, bounded; libtorrent processes are
 * stopped by PID in `after()`.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encode } from '../../src/codec/index.js';
import { immutableTarget, type MutableItem, mutableTarget } from '../../src/dht/index.js';
import { createDhtKeyPair } from '../../src/discovery/dht-items.js';
import { createDhtTestnet, type DhtTestnet } from '../../src/discovery/dht-testnet.js';
import { toHex } from '../../src/shared/hash.js';
import {
  ClientGroup,
  type ClientProcess,
  freePort,
  libtorrentMissing,
  SYSTEM_PYTHON,
} from '../helpers/clients.js';

const skip = libtorrentMissing();
const LT_DHT = join(dirname(fileURLToPath(import.meta.url)), 'py', 'lt_dht.py');
const LOOP = '127.0.0.1';
/** Bound of each test: a few puts and gets of a few hundred milliseconds each, plus slack. */
const TEST_TIMEOUT_MS = 90_000;
/** How long one libtorrent put or get may take. */
const LT_OP_TIMEOUT_MS = 30_000;
const OP_TIMEOUT_MS = 15_000;
const te = (s: string) => new TextEncoder().encode(s);

interface LtLine {
  readonly t: string;
  readonly ts: number;
  readonly [k: string]: unknown;
}

function parseLine(line: string): LtLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as LtLine;
  } catch {
    return undefined;
  }
}

/** The first JSON line of type `t` passing `pred`. */
async function nextLine(
  p: ClientProcess,
  t: string,
  timeoutMs: number,
  pred: (l: LtLine) => boolean = () => true,
): Promise<LtLine> {
  const line = await p.waitForLine(
    (raw) => {
      const l = parseLine(raw);
      return l !== undefined && l.t === t && pred(l);
    },
    timeoutMs,
    `a "${t}" line`,
  );
  return parseLine(line)!;
}

describe('BEP 44 interop with python3-libtorrent', { skip }, () => {
  const group = new ClientGroup();
  let net: DhtTestnet;
  const lt: ClientProcess[] = [];
  const signal = () => AbortSignal.timeout(OP_TIMEOUT_MS);
  let tags = 0;

  /** Items the libtorrent nodes store for others (each verified the put: signature, target). */
  async function ltStored(): Promise<{ immutable: number; mutable: number }> {
    const tag = `s${++tags}`;
    for (const p of lt) p.send(`stored ${tag}`);
    const out = { immutable: 0, mutable: 0 };
    for (const p of lt) {
      const l = await nextLine(p, 'stored', LT_OP_TIMEOUT_MS, (x) => x.tag === tag);
      out.immutable += Number(l.immutable);
      out.mutable += Number(l.mutable);
    }
    return out;
  }

  /** Items the Shoal nodes store for others. */
  function shoalStored(): number {
    return net.nodes.reduce((n, r) => n + (r.stats().ipv4?.storedItems ?? 0), 0);
  }

  before(async () => {
    net = await createDhtTestnet({ size: 6 });
    for (const [i, via] of [
      [0, [0, 1]],
      [1, [2, 3]],
    ] as const) {
      const port = await freePort();
      const save = await group.dir(`libtorrent-${i}`);
      const args = [LT_DHT, '--port', String(port), '--save', save];
      for (const n of via) args.push('--bootstrap', `${LOOP}:${net.nodes[n]!.port}`);
      lt.push(group.spawn(`libtorrent-${i}`, SYSTEM_PYTHON, args));
    }
    await group.explain(async () => {
      for (const proc of lt) {
        await nextLine(proc, 'ready', 20_000);
        await nextLine(proc, 'nodes', 20_000, (l) => Number(l.nodes) >= 3);
      }
      // The Shoal nodes learn of the libtorrent nodes (they queried them while joining).
      for (const n of net.nodes) await n.refresh({ signal: signal() });
    });
  });

  after(async () => {
    await group.stop();
    await net?.close();
  });

  test('immutable items both ways', { timeout: TEST_TIMEOUT_MS }, async () => {
    await group.explain(async () => {
      // Shoal puts (libtorrent nodes among those that store it), libtorrent gets.
      const ltBefore = await ltStored();
      const value = te('an immutable item from Shoal');
      const put = await net.nodes[1]!.put({ value }, { signal: signal() });
      assert.ok(put.storedTo >= 3, `stored on ${put.storedTo} nodes`);
      const ltAfter = await ltStored();
      assert.ok(ltAfter.immutable > ltBefore.immutable, 'libtorrent nodes took the put');
      const target = toHex(put.target);
      lt[0]!.send(`get_immutable ${target}`);
      const got = await nextLine(lt[0]!, 'immutable_item', LT_OP_TIMEOUT_MS, (l) => l.target === target);
      assert.equal(got.value, toHex(encode(value)));

      // libtorrent puts, Shoal gets.
      const ltValue = encode(te('an immutable item from libtorrent'));
      const ltTarget = toHex(immutableTarget(ltValue));
      const shoalBefore = shoalStored();
      lt[1]!.send(`put_immutable ${toHex(ltValue)}`);
      const ack = await nextLine(lt[1]!, 'put', LT_OP_TIMEOUT_MS, (l) => l.target === ltTarget);
      assert.ok(Number(ack.num_success) >= 1, `libtorrent stored on ${String(ack.num_success)} nodes`);
      assert.ok(shoalStored() > shoalBefore, "Shoal nodes took libtorrent's put");
      const mine = await net.nodes[4]!.get(immutableTarget(ltValue), { signal: signal() });
      assert.deepEqual(mine?.item, { type: 'immutable', value: ltValue });
    });
  });

  for (const saltText of ['', 'shoal-salt']) {
    test(`mutable ${saltText === '' ? 'unsalted' : 'salted'}: Shoal writes three updates, libtorrent reads each latest seq`, {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      await group.explain(async () => {
        const keyPair = createDhtKeyPair();
        const salt = te(saltText);
        const saltArg = saltText === '' ? '-' : toHex(salt);
        const pk = toHex(keyPair.publicKey);
        const ltBefore = await ltStored();
        for (let seq = 1; seq <= 3; seq++) {
          const value = te(`shoal version ${seq}`);
          const put =
            seq === 1
              ? await net.nodes[2]!.put({ keyPair, salt, value, seq }, { signal: signal() })
              : await net.nodes[2 + seq]!.put({ keyPair, salt, update: () => value }, { signal: signal() });
          assert.equal((put.item as MutableItem).seq, BigInt(seq));
          assert.ok(put.storedTo >= 3, `version ${seq} stored on ${put.storedTo} nodes`);
          const reader = lt[seq % 2]!;
          reader.send(`get_mutable ${pk} ${saltArg}`);
          const got = await nextLine(
            reader,
            'mutable_item',
            LT_OP_TIMEOUT_MS,
            (l) => l.key === pk && l.salt === toHex(salt) && Number(l.seq) === seq,
          );
          assert.equal(got.value, toHex(encode(value)));
          assert.equal(got.signature, toHex((put.item as MutableItem).signature));
        }
        const ltAfter = await ltStored();
        assert.ok(ltAfter.mutable > ltBefore.mutable, 'libtorrent nodes verified and stored the signed item');
      });
    });

    test(`mutable ${saltText === '' ? 'unsalted' : 'salted'}: libtorrent writes three updates, Shoal reads each latest seq`, {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      await group.explain(async () => {
        const seed = crypto.getRandomValues(new Uint8Array(32));
        const keyPair = createDhtKeyPair(seed);
        const salt = te(saltText === '' ? '' : 'lt-salt');
        const saltArg = salt.length === 0 ? '-' : toHex(salt);
        const pk = toHex(keyPair.publicKey);
        const writer = lt[saltText === '' ? 0 : 1]!;
        const shoalBefore = shoalStored();
        for (let seq = 1; seq <= 3; seq++) {
          const data = te(`libtorrent version ${seq}`);
          writer.send(`put_mutable ${toHex(seed)} ${pk} ${saltArg} ${toHex(data)}`);
          const ack = await nextLine(
            writer,
            'put',
            LT_OP_TIMEOUT_MS,
            (l) => l.key === pk && l.salt === toHex(salt) && Number(l.seq) === seq,
          );
          assert.ok(
            Number(ack.num_success) >= 1,
            `libtorrent stored version ${seq} on ${String(ack.num_success)}`,
          );
          const got = await net.nodes[seq]!.get({ publicKey: keyPair.publicKey, salt }, { signal: signal() });
          assert.ok(got !== undefined, `Shoal found version ${seq}`);
          const item = got.item as MutableItem;
          assert.equal(item.seq, BigInt(seq), 'the latest seq');
          // libtorrent's Python binding stores the data as a bencoded string.
          assert.deepEqual(item.value, encode(data));
          assert.deepEqual(got.target, mutableTarget(keyPair.publicKey, salt));
          if (seq === 1)
            assert.ok(shoalStored() > shoalBefore, "Shoal nodes verified and stored libtorrent's item");
        }
      });
    });
  }
});
