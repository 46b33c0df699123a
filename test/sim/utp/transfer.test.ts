/**
 * uTP on a simulated lossy network (no sockets, no real time): two endpoints exchange seeded
 * random streams under loss, reordering, duplication and delay, with sequence numbers starting
 * near the 16-bit wrap. Every byte must arrive in order, every connection must end cleanly, and
 * no bound may be crossed on the way (the harness checks them at every event).
 * Replay a property failure with UTP_SIM_SEED=<seed> (fast-check prints it).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { firstDifference, runTransfer, type TransferOptions, type TransferResult } from './harness.js';

const SEED = process.env.UTP_SIM_SEED === undefined ? undefined : Number(process.env.UTP_SIM_SEED);

/** Dials that failed outright: every SYN or every answer lost (0.2⁵ ≈ 0.03 % at 20 % loss). */
let dialFailures = 0;

function assertClean(r: TransferResult, o: TransferOptions, label: string, allowDialFailure = false): void {
  const where = `${label} (seed ${o.link.seed})`;
  if (allowDialFailure && r.a.connectedAt < 0) {
    // Then the dial fails with a timeout, and nothing else happens.
    assert.equal(r.a.closed, 'timeout', where);
    assert.ok(r.b.closed === undefined || r.b.closed === 'timeout', where);
    assert.equal(r.b.receivedLength + r.a.receivedLength, 0, where);
    dialFailures++;
    return;
  }
  assert.ok(r.done, `${where}: both connections closed (a: ${r.a.closed}, b: ${r.b.closed})`);
  assert.equal(r.a.closed, 'end', where);
  assert.equal(r.b.closed, 'end', where);
  assert.equal(r.b.receivedLength, o.aToB, `${where}: bytes A→B`);
  assert.equal(firstDifference(r.b.received, r.a.sent), -1, `${where}: stream A→B intact`);
  assert.equal(r.a.receivedLength, o.bToA ?? 0, `${where}: bytes B→A`);
  assert.equal(firstDifference(r.a.received, r.b.sent), -1, `${where}: stream B→A intact`);
  assert.deepEqual([...r.a.violations, ...r.b.violations], [], `${where}: bounds`);
}

describe('uTP simulation: lossy network', { timeout: 120_000 }, () => {
  for (const loss of [0.01, 0.05, 0.2]) {
    test(`${loss * 100} % loss, reordering, 2 % duplication, seq starting at 65530`, () => {
      for (const seed of [1, 2, 3]) {
        const o: TransferOptions = {
          link: { seed, lossRate: loss, duplicateRate: 0.02, latencyMs: [5, 60] },
          aToB: 1_000_000,
          bToA: 200_000,
          initialSeq: 65530,
        };
        const r = runTransfer(o);
        assertClean(r, o, `${loss * 100} % loss`);
        // The traffic really was lossy and the sender really recovered.
        assert.ok(r.net.stats.lost > 0);
        assert.ok(r.a.conn!.stats.packetsResent > 0);
      }
    });
  }

  test('a slow reader shrinks the window instead of growing a queue', () => {
    const o: TransferOptions = {
      link: { seed: 9, latencyMs: [10, 10] },
      aToB: 400_000,
      endpoint: { receiveBufferBytes: 32 * 1024 },
      readerBytesPerMs: 20, // 20 KB/s
    };
    const r = runTransfer(o);
    assertClean(r, o, 'slow reader');
    const took = (r.finishedAt - r.startedAt) / 1000;
    assert.ok(took >= (400_000 - 2 * 32 * 1024) / 20_000, `paced by the reader: ${took} s`);
    assert.ok(r.b.maxHeld <= 32 * 1024 + r.b.conn!.mtuCeiling, `held ${r.b.maxHeld}`);
  });

  test('random networks and streams (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 30 }),
          loss: fc.double({ min: 0, max: 0.2, noNaN: true }),
          dup: fc.double({ min: 0, max: 0.05, noNaN: true }),
          lo: fc.integer({ min: 1, max: 100 }),
          jitter: fc.integer({ min: 0, max: 80 }),
          aToB: fc.integer({ min: 0, max: 300_000 }),
          bToA: fc.integer({ min: 0, max: 100_000 }),
          initialSeq: fc.integer({ min: 65_000, max: 65_535 }),
          writeChunk: fc.integer({ min: 1, max: 70_000 }),
          sendBufferBytes: fc.constantFrom(16 * 1024, 256 * 1024, 1024 * 1024),
          receiveBufferBytes: fc.constantFrom(16 * 1024, 256 * 1024, 1024 * 1024),
        }),
        (p) => {
          const o: TransferOptions = {
            link: {
              seed: p.seed,
              lossRate: p.loss,
              duplicateRate: p.dup,
              latencyMs: [p.lo, p.lo + p.jitter],
            },
            aToB: p.aToB,
            bToA: p.bToA,
            initialSeq: p.initialSeq,
            writeChunk: p.writeChunk,
            endpoint: { sendBufferBytes: p.sendBufferBytes, receiveBufferBytes: p.receiveBufferBytes },
          };
          assertClean(runTransfer(o), o, 'property', true);
        },
      ),
      { numRuns: 25, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
    assert.ok(dialFailures <= 2, `${dialFailures} of 25 dials failed`);
  });
});

describe('uTP simulation: throughput and path MTU', { timeout: 120_000 }, () => {
  test('with no loss, the window grows to fill the link (10 MB/s, 40 ms RTT)', () => {
    const rate = 10_000; // bytes per ms
    const size = 30_000_000;
    const o: TransferOptions = {
      link: { seed: 5, latencyMs: [20, 20], rateBytesPerMs: rate, maxQueueMs: 300 },
      aToB: size,
    };
    const r = runTransfer(o);
    assertClean(r, o, 'throughput');
    // Steady state: from the first tenth of the stream to the last byte.
    const secs = (r.b.tenthsAt[9]! - r.b.tenthsAt[0]!) / 1000;
    const mbps = (0.9 * size) / secs / 1e6;
    const whole = size / ((r.b.tenthsAt[9]! - r.a.connectedAt) / 1000) / 1e6;
    console.log(
      `# simulated throughput: ${mbps.toFixed(2)} MB/s steady (${whole.toFixed(2)} MB/s with slow start) ` +
        'of a 10 MB/s link, 40 ms RTT; ' +
        `window peaked at ${r.a.maxWindow.toFixed(0)} B, ${r.a.conn!.stats.packetsResent} resends`,
    );
    assert.ok(mbps >= 0.95 * (rate / 1000), `${mbps.toFixed(2)} MB/s`);
    assert.ok(r.a.maxWindow >= 400_000, 'at least the bandwidth-delay product');
    assert.equal(r.net.stats.queueDrops, 0, 'LEDBAT keeps the queue under its limit');
  });

  test('probing finds the path MTU between the floor and a large ceiling', () => {
    const o: TransferOptions = {
      link: { seed: 11, latencyMs: [5, 5], pathMtuBytes: 9000 },
      aToB: 3_000_000,
      endpoint: { maxDatagramBytes: 65_507 },
    };
    const r = runTransfer(o);
    assertClean(r, o, 'MTU');
    const c = r.a.conn!;
    assert.ok(c.mtuFloor <= 9000 && c.mtuFloor >= 9000 - 16, `floor ${c.mtuFloor}, ceiling ${c.mtuCeiling}`);
    assert.ok(r.net.stats.probeDrops > 0);
  });
});
