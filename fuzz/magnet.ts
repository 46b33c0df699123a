/**
 * Fuzz target for magnet URIs: any text must give a MagnetLink that survives
 * buildMagnet → parseMagnet unchanged, or throw a ShoalError.
 */
import { isDeepStrictEqual } from 'node:util';
import { buildMagnet, parseMagnet } from '../src/metainfo/magnet.js';
import { isShoalError } from '../src/shared/errors.js';
import type { FuzzTarget } from './target.js';

const te = new TextEncoder();
const td = new TextDecoder('utf-8');
const V1 = '0123456789abcdef0123456789abcdef01234567';

export const target: FuzzTarget = {
  seeds: () =>
    [
      `magnet:?xt=urn:btih:${V1}&dn=a+b%20c&tr=http%3A%2F%2Ft%2F&ws=http://w/&x.pe=127.0.0.1:6881&so=0,2,4-6`,
      `magnet:?xt=urn:btih:AEBAGBAFAYDQQCIKBMGA2DQPCAIREEYU&xt=urn:btmh:1220${'ab'.repeat(32)}&x.pe=[::1]:1`,
      `magnet:?xt.1=urn:btmh:1220${'0'.repeat(64)}&tr.1=udp://t:1&tr.2=udp://u:2&so=7-9,1`,
    ].map((s) => te.encode(s)),
  run(input) {
    try {
      const link = parseMagnet(td.decode(input));
      const again = parseMagnet(buildMagnet(link));
      if (!isDeepStrictEqual(again, link)) throw new Error('buildMagnet/parseMagnet did not round trip');
    } catch (e) {
      if (!isShoalError(e)) throw e;
    }
  },
};
