/**
 * WebRtcStream (node-datachannel, ICE on 127.0.0.1) as the wire uses it: corked writes past the
 * high-water mark get their `drain` after the uncork (the channel's own low-buffer event never
 * fires when the library sent at once: a 1 MiB-piece transfer once stalled there), bytes arrive
 * equal, and a paused reader that is sent more than MAX_WEBRTC_PAUSED_BYTES fails the stream.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { loadWebRtc, type WebRtc, type WebRtcStream } from '../../src/net/webrtc-transport.js';
import { ErrorCode, isShoalError } from '../../src/shared/errors.js';
import { MAX_WEBRTC_PAUSED_BYTES, WEBRTC_WRITE_HIGH_WATER_BYTES } from '../../src/shared/limits.js';
import { pseudoRandomBytes } from '../helpers/payload.js';

describe('WebRTC streams', { timeout: 60_000 }, () => {
  let a: WebRtc;
  let b: WebRtc;
  before(async () => {
    const x = await loadWebRtc({ bindAddress: '127.0.0.1' });
    const y = await loadWebRtc({ bindAddress: '127.0.0.1' });
    assert.ok(x !== undefined && y !== undefined, 'node-datachannel is installed');
    a = x;
    b = y;
  });
  after(() => {
    a.close();
    b.close();
  });
  const pair = async (): Promise<[WebRtcStream, WebRtcStream]> => {
    const o = await a.offer();
    const ans = await b.answer(o.sdp);
    return Promise.all([o.accept(ans.sdp), ans.stream]);
  };

  test('corked writes past the high-water mark drain after the uncork; bytes equal', async () => {
    const [sa, sb] = await pair();
    const data = pseudoRandomBytes(4 * WEBRTC_WRITE_HIGH_WATER_BYTES, 3);
    const got: Buffer[] = [];
    let n = 0;
    const received = new Promise<void>((resolve) =>
      sb.bind({
        data: (c) => {
          got.push(Buffer.from(c));
          n += c.length;
          if (n >= data.length) resolve();
        },
        drain: () => {},
        close: () => {},
      }),
    );
    let drains = 0;
    let off = 0;
    const pump = () => {
      sa.cork();
      let ok = true;
      while (ok && off < data.length) {
        ok = sa.write(data.subarray(off, off + 16384));
        off += 16384;
      }
      setImmediate(() => sa.uncork());
      return ok;
    };
    await new Promise<void>((resolve) => {
      sa.bind({
        data: () => {},
        drain: () => {
          drains++;
          if (off < data.length) pump();
          else resolve();
        },
        close: () => {},
      });
      assert.equal(pump(), false, 'the first burst crosses the high-water mark');
    });
    await received;
    assert.ok(drains >= 1);
    assert.equal(
      createHash('sha256').update(Buffer.concat(got)).digest('hex'),
      createHash('sha256').update(data).digest('hex'),
    );
    sa.destroy();
  });

  test('a paused reader sent more than MAX_WEBRTC_PAUSED_BYTES fails the stream', async () => {
    const [sa, sb] = await pair();
    const failed = new Promise<Error | undefined>((resolve) =>
      sb.bind({ data: () => {}, drain: () => {}, close: (e) => resolve(e) }),
    );
    sb.pause();
    const block = new Uint8Array(64 * 1024);
    let sent = 0;
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (sent <= MAX_WEBRTC_PAUSED_BYTES && sa.isOpen) {
          sent += block.length;
          if (!sa.write(block)) return;
        }
        resolve();
      };
      sa.bind({ data: () => {}, drain: pump, close: () => resolve() });
      pump();
    });
    const e = await failed;
    assert.ok(isShoalError(e, ErrorCode.NetLimit), String(e));
    sa.destroy();
  });
});
