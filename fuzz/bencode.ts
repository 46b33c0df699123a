import { decode, encode } from '../src/codec/index.js';
import { isShoalError } from '../src/shared/errors.js';
import type { FuzzTarget } from './target.js';

const te = new TextEncoder();

export const target: FuzzTarget = {
  seeds: () =>
    [
      'd8:announce9:http://x/4:infod6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee',
      'li1ei-2e0:l3:abcee',
      'd1:ad1:bd1:cleeee',
    ].map((s) => te.encode(s)),
  run(input) {
    for (const mode of ['strict', 'lenient'] as const) {
      try {
        const v = decode(input, { mode });
        // Whatever decodes must re-encode, and strict decodes must re-encode to the same bytes.
        const again = encode(v);
        if (mode === 'strict' && Buffer.compare(Buffer.from(again), Buffer.from(input)) !== 0) {
          throw new Error('strict decode did not round trip');
        }
      } catch (e) {
        if (!isShoalError(e)) throw e;
      }
    }
  },
};
