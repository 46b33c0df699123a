/**
 * Fuzz target for magnet URIs: any text must give a MagnetLink that survives
 * buildMagnet → parseMagnet unchanged, or throw a ShoalError; the same for BEP 46 links through
 * parseMutableMagnet.
 */
import { isDeepStrictEqual } from 'node:util';
import { buildMagnet, parseMagnet, parseMutableMagnet } from '../src/metainfo/magnet.js';
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
      `magnet:?xs=urn:btpk:${'8543d3e6'.repeat(8)}&s=6e`,
      `magnet:?xt=urn:btih:${V1}&xs=urn:btpk:${'ab'.repeat(32)}&s=${'00'.repeat(64)}&dn=feed`,
    ].map((s) => te.encode(s)),
  run(input) {
    const text = td.decode(input);
    for (const parse of [parseMagnet, parseMutableMagnet]) {
      try {
        const link = parse(text);
        const again = parse(buildMagnet(link));
        if (!isDeepStrictEqual(again, link)) throw new Error(`buildMagnet/${parse.name} did not round trip`);
      } catch (e) {
        if (!isShoalError(e)) throw e;
      }
    }
  },
};
