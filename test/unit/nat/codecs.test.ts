import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeNatPmpResponse,
  decodePcpResponse,
  encodeAddPortMapping,
  encodeDeletePortMapping,
  encodeMSearch,
  encodeNatPmpMapRequest,
  encodePcpMapRequest,
  findWanService,
  parseDefaultGateway,
  parseExternalIp,
  parseSoapResponse,
  parseSsdpResponse,
  parseXml,
  urlHostIs,
} from '../../../src/nat/index.js';
import { ErrorCode, isShoalError } from '../../../src/shared/errors.js';
import {
  MAX_PCP_MESSAGE_BYTES,
  MAX_SOAP_RESPONSE_BYTES,
  MAX_SSDP_MESSAGE_BYTES,
  MAX_XML_DEPTH,
  MAX_XML_ELEMENTS,
} from '../../../src/shared/limits.js';

const enc = (s: string) => new TextEncoder().encode(s);
const code = (c: string) => (e: unknown) => isShoalError(e) && e.code === c;

describe('SSDP', () => {
  test('M-SEARCH names the target and the group', () => {
    const s = new TextDecoder().decode(encodeMSearch('urn:schemas-upnp-org:device:InternetGatewayDevice:1'));
    assert.match(s, /^M-SEARCH \* HTTP\/1\.1\r\n/);
    assert.match(s, /\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n$/);
    assert.match(s, /HOST: 239\.255\.255\.250:1900/);
  });
  test('an answer yields LOCATION and ST, header names in any case', () => {
    const r = parseSsdpResponse(
      enc(
        'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nst: urn:schemas-upnp-org:device:InternetGatewayDevice:2\r\n' +
          'Location: http://192.0.2.1:5000/rootDesc.xml\r\nSERVER: x\r\nUSN: uuid:1\r\n\r\n',
      ),
    );
    assert.equal(r.location, 'http://192.0.2.1:5000/rootDesc.xml');
    assert.equal(r.st, 'urn:schemas-upnp-org:device:InternetGatewayDevice:2');
    assert.equal(r.usn, 'uuid:1');
  });
  test('refuses non-200, missing LOCATION, non-http LOCATION and oversize', () => {
    assert.throws(
      () => parseSsdpResponse(enc('HTTP/1.1 404 x\r\nST: a\r\nLOCATION: http://a/\r\n\r\n')),
      code(ErrorCode.NatBadMessage),
    );
    assert.throws(
      () => parseSsdpResponse(enc('HTTP/1.1 200 OK\r\nST: a\r\n\r\n')),
      code(ErrorCode.NatBadMessage),
    );
    assert.throws(
      () => parseSsdpResponse(enc('HTTP/1.1 200 OK\r\nST: a\r\nLOCATION: file:///etc/passwd\r\n\r\n')),
      code(ErrorCode.NatBadMessage),
    );
    const ok = 'HTTP/1.1 200 OK\r\nST: a\r\nLOCATION: http://192.0.2.1/\r\n';
    const fits = ok + 'X: '.padEnd(MAX_SSDP_MESSAGE_BYTES - ok.length - 4, 'a') + '\r\n\r\n';
    assert.equal(enc(fits).length, MAX_SSDP_MESSAGE_BYTES);
    assert.equal(parseSsdpResponse(enc(fits)).st, 'a');
    assert.throws(() => parseSsdpResponse(enc(`${fits}x`)), code(ErrorCode.NatTooLarge));
  });
});

const DESC = `<?xml version="1.0"?>
<!-- a comment -->
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/L3F</controlURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:2</deviceType><deviceList><device>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType>
<controlURL>/ctl/IPConn</controlURL><SCPDURL>/WANIPCn.xml</SCPDURL></service></serviceList>
</device></deviceList></device></deviceList></device></root>`;

describe('device description', () => {
  test('finds WANIPConnection:2 nested two devices deep and resolves its control URL', () => {
    const s = findWanService(enc(DESC), 'http://192.0.2.1:5000/rootDesc.xml');
    assert.deepEqual(s, {
      serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:2',
      controlUrl: 'http://192.0.2.1:5000/ctl/IPConn',
    });
  });
  test('falls back to WANIPConnection:1 and WANPPPConnection:1; URLBase wins', () => {
    const v1 = DESC.replace('WANIPConnection:2', 'WANIPConnection:1').replace(
      '<specVersion>',
      '<URLBase>http://192.0.2.1:6000/</URLBase><specVersion>',
    );
    assert.equal(
      findWanService(enc(v1), 'http://192.0.2.1:5000/d.xml').controlUrl,
      'http://192.0.2.1:6000/ctl/IPConn',
    );
    const ppp = DESC.replace('WANIPConnection:2', 'WANPPPConnection:1');
    assert.equal(
      findWanService(enc(ppp), 'http://192.0.2.1/').serviceType,
      'urn:schemas-upnp-org:service:WANPPPConnection:1',
    );
  });
  test('no WAN service, or a non-http control URL, is refused', () => {
    assert.throws(
      () => findWanService(enc(DESC.replace('WANIPConnection:2', 'Other:1')), 'http://192.0.2.1/'),
      code(ErrorCode.NatBadMessage),
    );
    assert.throws(
      () => findWanService(enc(DESC.replace('/ctl/IPConn', 'ftp://192.0.2.1/x')), 'http://192.0.2.1/'),
      code(ErrorCode.NatBadMessage),
    );
  });
  test('urlHostIs compares the host only', () => {
    assert.equal(urlHostIs('http://192.0.2.1:5000/x', '192.0.2.1'), true);
    assert.equal(urlHostIs('http://198.51.100.7:5000/x', '192.0.2.1'), false);
    assert.equal(urlHostIs('not a url', '192.0.2.1'), false);
  });
});

describe('bounded XML reader', () => {
  test('entities, CDATA and prefixes', () => {
    const r = parseXml(enc('<a:x><b>1 &lt; 2 &amp; &#x41;&#66;</b><c><![CDATA[<raw>]]></c><d/></a:x>'));
    assert.equal(r.name, 'x');
    assert.equal(r.children[0]!.text, '1 < 2 & AB');
    assert.equal(r.children[1]!.text, '<raw>');
    assert.equal(r.children[2]!.name, 'd');
  });
  test('malformed documents are refused', () => {
    for (const bad of [
      '',
      '<a>',
      '<a></b>',
      '<a/><b/>',
      'x<a/>',
      '<a>&bogus;</a>',
      '<!DOCTYPE a [<!ENTITY x "y">]><a/>',
      '<a',
      '<1a/>',
    ]) {
      assert.throws(() => parseXml(enc(bad)), code(ErrorCode.NatBadMessage), bad);
    }
    assert.throws(
      () => parseXml(new Uint8Array([0x3c, 0x61, 0xff, 0x2f, 0x3e])),
      code(ErrorCode.NatBadMessage),
    );
  });
  test('depth and element count are bounded', () => {
    const deep = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);
    assert.doesNotThrow(() => parseXml(enc(deep(MAX_XML_DEPTH))));
    assert.throws(() => parseXml(enc(deep(MAX_XML_DEPTH + 1))), code(ErrorCode.NatTooLarge));
    const wide = (n: number) => `<r>${'<a/>'.repeat(n - 1)}</r>`;
    assert.equal(parseXml(enc(wide(MAX_XML_ELEMENTS))).children.length, MAX_XML_ELEMENTS - 1);
    assert.throws(() => parseXml(enc(wide(MAX_XML_ELEMENTS + 1))), code(ErrorCode.NatTooLarge));
  });
});

const SVC = 'urn:schemas-upnp-org:service:WANIPConnection:1';
const envelope = (inner: string) =>
  enc(
    `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${inner}</s:Body></s:Envelope>`,
  );

describe('SOAP', () => {
  test('AddPortMapping request carries every argument, escaped, and the SOAPAction', () => {
    const r = encodeAddPortMapping(SVC, {
      protocol: 'TCP',
      externalPort: 6881,
      internalPort: 6882,
      internalClient: '192.0.2.10',
      leaseSeconds: 3600,
      description: 'shoal <tcp> & co',
    });
    assert.equal(r.soapAction, `"${SVC}#AddPortMapping"`);
    const body = parseXml(r.body);
    const action = body.children[0]!.children[0]!;
    assert.equal(action.name, 'AddPortMapping');
    const args = Object.fromEntries(action.children.map((c) => [c.name, c.text]));
    assert.deepEqual(args, {
      NewRemoteHost: '',
      NewExternalPort: '6881',
      NewProtocol: 'TCP',
      NewInternalPort: '6882',
      NewInternalClient: '192.0.2.10',
      NewEnabled: '1',
      NewPortMappingDescription: 'shoal <tcp> & co',
      NewLeaseDuration: '3600',
    });
    const del = parseXml(encodeDeletePortMapping(SVC, 'UDP', 7000).body).children[0]!.children[0]!;
    assert.deepEqual(
      del.children.map((c) => c.text),
      ['', '7000', 'UDP'],
    );
  });
  test('responses and faults', () => {
    assert.equal(
      parseExternalIp(
        envelope(
          '<u:GetExternalIPAddressResponse xmlns:u="x"><NewExternalIPAddress>203.0.113.5</NewExternalIPAddress></u:GetExternalIPAddressResponse>',
        ),
      ),
      '203.0.113.5',
    );
    assert.equal(parseSoapResponse(envelope('<u:AddPortMappingResponse/>'), 'AddPortMapping').size, 0);
    assert.throws(
      () =>
        parseSoapResponse(
          envelope(
            '<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault>',
          ),
          'AddPortMapping',
        ),
      (e: unknown) =>
        isShoalError(e, ErrorCode.NatRefused) && (e.details as { resultCode?: number }).resultCode === 718,
    );
    assert.throws(
      () => parseSoapResponse(envelope('<u:Other/>'), 'AddPortMapping'),
      code(ErrorCode.NatBadMessage),
    );
    assert.throws(
      () =>
        parseExternalIp(
          envelope(
            '<u:GetExternalIPAddressResponse><NewExternalIPAddress>999.1.1.1</NewExternalIPAddress></u:GetExternalIPAddressResponse>',
          ),
        ),
      code(ErrorCode.NatBadMessage),
    );
  });
  test('a SOAP response over MAX_SOAP_RESPONSE_BYTES is refused', () => {
    const head = '<u:AddPortMappingResponse>';
    const pad = (n: number) => {
      const base = envelope(`${head}</u:AddPortMappingResponse>`).length;
      return envelope(`${head}${' '.repeat(n - base)}</u:AddPortMappingResponse>`);
    };
    assert.doesNotThrow(() => parseSoapResponse(pad(MAX_SOAP_RESPONSE_BYTES), 'AddPortMapping'));
    assert.throws(
      () => parseSoapResponse(pad(MAX_SOAP_RESPONSE_BYTES + 1), 'AddPortMapping'),
      code(ErrorCode.NatTooLarge),
    );
  });
});

describe('NAT-PMP', () => {
  test('map request layout (RFC 6886 §3.3)', () => {
    assert.deepEqual(
      [...encodeNatPmpMapRequest('TCP', 6881, 6882, 7200)],
      [0, 2, 0, 0, 0x1a, 0xe1, 0x1a, 0xe2, 0, 0, 0x1c, 0x20],
    );
  });
  test('responses decode; result codes refuse', () => {
    assert.deepEqual(decodeNatPmpResponse(new Uint8Array([0, 128, 0, 0, 0, 0, 0, 9, 203, 0, 113, 5])), {
      op: 'external',
      epoch: 9,
      externalIp: '203.0.113.5',
    });
    assert.deepEqual(
      decodeNatPmpResponse(
        new Uint8Array([0, 130, 0, 0, 0, 0, 1, 0, 0x1a, 0xe1, 0x1a, 0xe1, 0, 0, 0x0e, 0x10]),
      ),
      {
        op: 'map',
        protocol: 'TCP',
        epoch: 256,
        internalPort: 6881,
        externalPort: 6881,
        lifetimeSeconds: 3600,
      },
    );
    assert.throws(
      () => decodeNatPmpResponse(new Uint8Array([0, 130, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
      code(ErrorCode.NatRefused),
    );
    assert.throws(
      () => decodeNatPmpResponse(new Uint8Array([0, 2, 0, 0, 0, 0, 0, 0])),
      code(ErrorCode.NatBadMessage),
    );
    assert.throws(
      () => decodeNatPmpResponse(new Uint8Array(MAX_PCP_MESSAGE_BYTES + 1)),
      code(ErrorCode.NatTooLarge),
    );
  });
});

describe('PCP', () => {
  const nonce = new Uint8Array(12).fill(7);
  test('MAP request layout and a round trip through a response', () => {
    const req = encodePcpMapRequest({
      nonce,
      protocol: 'UDP',
      internalPort: 6881,
      externalPort: 6881,
      lifetimeSeconds: 3600,
      clientIp: '192.0.2.10',
    });
    assert.equal(req.length, 60);
    assert.deepEqual([...req.subarray(0, 8)], [2, 1, 0, 0, 0, 0, 0x0e, 0x10]);
    assert.deepEqual([...req.subarray(18, 24)], [0xff, 0xff, 192, 0, 2, 10]);
    assert.equal(req[36], 17);
    const resp = new Uint8Array(60);
    resp.set(req);
    resp[1] = 0x81;
    resp[3] = 0;
    resp.set([0, 0, 0, 5], 8); // epoch
    resp.fill(0, 12, 24);
    resp.set([0xff, 0xff, 203, 0, 113, 5], 54);
    const d = decodePcpResponse(resp);
    assert.deepEqual(
      { ...d, nonce: [...d.nonce] },
      {
        nonce: [...nonce],
        protocol: 'UDP',
        internalPort: 6881,
        externalPort: 6881,
        externalIp: '203.0.113.5',
        lifetimeSeconds: 3600,
        epoch: 5,
      },
    );
    resp[3] = 8;
    assert.throws(
      () => decodePcpResponse(resp),
      (e: unknown) =>
        isShoalError(e, ErrorCode.NatRefused) && (e.details as { resultCode?: number }).resultCode === 8,
    );
  });
  test('a NAT-PMP server answering version 0 "unsupported version" is a natpmp refusal', () => {
    assert.throws(
      () => decodePcpResponse(new Uint8Array([0, 129, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
      (e: unknown) =>
        isShoalError(e, ErrorCode.NatRefused) && (e.details as { protocol?: string }).protocol === 'natpmp',
    );
  });
});

test('default gateway from /proc/net/route', () => {
  const table =
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' +
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n';
  assert.equal(parseDefaultGateway(table), '192.0.2.1');
  assert.equal(parseDefaultGateway(table.split('\n').slice(0, 2).join('\n')), undefined);
});
