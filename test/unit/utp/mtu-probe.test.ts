import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MTU_PROBE_STEP_BYTES, MtuProbe } from '../../../src/utp/index.js';

describe('MtuProbe', () => {
  test('binary search up: acked probes raise the floor, lost ones lower the ceiling, until close', () => {
    const m = new MtuProbe(548, 65_507);
    const path = 9000;
    let seq = 0;
    for (let i = 0; i < 64; i++) {
      const size = m.nextProbeBytes();
      if (size === 0) break;
      m.sent(++seq);
      assert.equal(m.nextProbeBytes(), 0, 'one probe at a time');
      if (size <= path) m.acked(seq, size);
      else m.lost(seq, size);
    }
    assert.ok(m.floor <= path && m.floor > path - MTU_PROBE_STEP_BYTES, `${m.floor}`);
    assert.ok(m.ceiling >= path && m.ceiling - m.floor < MTU_PROBE_STEP_BYTES);
  });

  test('probing down: a narrowed path restarts the search below the old floor', () => {
    const m = new MtuProbe(548, 1472);
    m.floor = 1400;
    m.ceiling = 1410;
    m.narrowed();
    assert.equal(m.ceiling, 1399);
    assert.equal(m.floor, (548 + 1400) >> 1);
    assert.ok(m.nextProbeBytes() > m.floor);
    const low = new MtuProbe(548, 1472);
    low.narrowed();
    assert.equal(low.floor, 548, 'never below the minimum');
  });
});
