import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeNatPmpResponse,
  decodePcpResponse,
  findWanService,
  parseDefaultGateway,
  parseSoapResponse,
  parseSsdpResponse,
  parseXml,
} from '../../src/nat/index.js';
import { isShoalError } from '../../src/shared/errors.js';

const enc = (s: string) => new TextEncoder().encode(s);
/** Only a ShoalError may escape a codec fed hostile bytes. */
function onlyShoalErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    assert.ok(isShoalError(e), `non-Shoal error: ${String(e)}`);
  }
}
const xmlish = fc
  .array(
    fc.constantFrom(
      '<a>',
      '</a>',
      '<b/>',
      '<s:Envelope>',
      '</s:Envelope>',
      '<s:Body>',
      '</s:Body>',
      '&amp;',
      '&#x110000;',
      '&#;',
      '<![CDATA[',
      ']]>',
      '<!--',
      '-->',
      '<?x?>',
      '<!DOCTYPE',
      '>',
      '<',
      '"',
      'text',
      '<c d="e>">',
      '<u:AddPortMappingResponse>',
      '</u:AddPortMappingResponse>',
      '<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>',
      '<controlURL>',
      '</controlURL>',
      '<service>',
      '</service>',
      'http://[::1',
      '%',
    ),
    { maxLength: 60 },
  )
  .map((parts) => enc(parts.join('')));

test('malformed NAT messages only ever throw ShoalError', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), xmlish), (bytes) => {
      onlyShoalErrors(() => parseXml(bytes));
      onlyShoalErrors(() => parseSoapResponse(bytes, 'AddPortMapping'));
      onlyShoalErrors(() => findWanService(bytes, 'http://192.0.2.1:5000/'));
      onlyShoalErrors(() => parseSsdpResponse(bytes));
      onlyShoalErrors(() => decodeNatPmpResponse(bytes));
      onlyShoalErrors(() => decodePcpResponse(bytes));
      onlyShoalErrors(() => parseDefaultGateway(new TextDecoder().decode(bytes)));
    }),
    { numRuns: 3000 },
  );
});

test('SSDP answers with fuzzed header values only ever throw ShoalError', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 }), (loc, st) => {
      onlyShoalErrors(() =>
        parseSsdpResponse(enc(`HTTP/1.1 200 OK\r\nLOCATION: ${loc}\r\nST: ${st}\r\n\r\n`)),
      );
    }),
    { numRuns: 2000 },
  );
});

test('PCP/NAT-PMP responses with a valid header and fuzzed body only ever throw ShoalError', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(0, 2),
      fc.nat({ max: 255 }),
      fc.uint8Array({ minLength: 0, maxLength: 70 }),
      (ver, op, rest) => {
        const b = new Uint8Array([ver, op, ...rest]);
        onlyShoalErrors(() => decodePcpResponse(b));
        onlyShoalErrors(() => decodeNatPmpResponse(b));
      },
    ),
    { numRuns: 3000 },
  );
});
