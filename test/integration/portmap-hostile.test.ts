/**
 * The port-mapping runtime against a scripted router on loopback and a forger on another loopback
 * address: forged SSDP answers, a LOCATION or control URL naming another host, floods, oversized
 * descriptions and SOAP bodies, and NAT-PMP replies from the wrong address are refused, bounded,
 * and never crash the node.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { discoverIgd, NatPmpClient, UpnpClient } from '../../src/portmap/index.js';
import { ErrorCode, isShoalError } from '../../src/shared/errors.js';
import {
  MAX_DEVICE_DESCRIPTION_BYTES,
  MAX_SOAP_RESPONSE_BYTES,
  MAX_SSDP_RESPONSES,
} from '../../src/shared/limits.js';

const GW = '127.0.0.1';
const FORGER = '127.0.0.2';
const enc = (s: string) => Buffer.from(s);
const answer = (location: string) =>
  enc(
    `HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: ${location}\r\n\r\n`,
  );
const desc = (controlUrl: string) =>
  `<?xml version="1.0"?><root><device><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>${controlUrl}</controlURL></service></serviceList></device></root>`;

const closers: (() => unknown)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

async function udp(host: string, port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(port, host, () => r()));
  closers.push(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

async function http(handler: (path: string) => { status?: number; body: string | Buffer }): Promise<number> {
  const server: Server = createServer((req, res) => {
    const r = handler(req.url ?? '/');
    res.writeHead(r.status ?? 200, { 'content-type': 'text/xml' });
    res.end(r.body);
  });
  await new Promise<void>((r) => server.listen(0, GW, () => r()));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

/** A fake gateway SSDP port that runs `onSearch` for every M-SEARCH (once per search target). */
async function ssdpGateway(
  onSearch: (to: { address: string; port: number }, gw: Socket) => void,
): Promise<number> {
  const gw = await udp(GW);
  let first = true;
  gw.on('message', (_m, rinfo) => {
    if (!first) return; // two search targets: answer the first only
    first = false;
    onSearch(rinfo, gw);
  });
  return gw.address().port;
}

describe('port mapping refuses hostile routers and forgers', { timeout: 30_000 }, () => {
  test('forged SSDP answers from another host, and a LOCATION naming another host, are ignored', async () => {
    const good = await http(() => ({ body: desc('/ctl') }));
    const forger = await udp(FORGER);
    const ssdpPort = await ssdpGateway((to, gw) => {
      forger.send(answer(`http://${FORGER}:${good}/desc.xml`), to.port, to.address);
      gw.send(answer(`http://${FORGER}:${good}/desc.xml`), to.port, to.address);
      gw.send(enc('garbage'), to.port, to.address);
      // The real answer comes last, after the forged ones had their chance.
      setTimeout(() => gw.send(answer(`http://${GW}:${good}/desc.xml`), to.port, to.address), 100);
    });
    const client = new UpnpClient({ gateway: GW, localAddress: GW, ssdpPort, multicast: false });
    const svc = await discoverIgd(client.target, client.refusals, new AbortController().signal);
    assert.equal(svc.controlUrl, `http://${GW}:${good}/ctl`);
    assert.deepEqual(client.refusals, { ssdpForeign: 2, ssdpMalformed: 1, ssdpIgnored: 0 });
  });

  test('a control URL naming another host is refused', async () => {
    const port = await http(() => ({ body: desc(`http://${FORGER}:9/ctl`) }));
    const ssdpPort = await ssdpGateway((to, gw) =>
      gw.send(answer(`http://${GW}:${port}/d.xml`), to.port, to.address),
    );
    const c = new UpnpClient({ gateway: GW, localAddress: GW, ssdpPort, multicast: false });
    await assert.rejects(
      c.map('TCP', 6881, 6881, 3600, new AbortController().signal),
      (e: unknown) =>
        isShoalError(e, ErrorCode.NatBadMessage) && /away from the gateway/.test((e as Error).message),
    );
  });

  test(`answers past MAX_SSDP_RESPONSES (${MAX_SSDP_RESPONSES}) are not even parsed`, async () => {
    const port = await http(() => ({ body: desc('/ctl') }));
    const ssdpPort = await ssdpGateway((to, gw) => {
      for (let i = 0; i < MAX_SSDP_RESPONSES; i++) gw.send(enc('HTTP/1.1 500 no'), to.port, to.address);
      gw.send(answer(`http://${GW}:${port}/d.xml`), to.port, to.address, () =>
        gw.send(enc('HTTP/1.1 500 no'), to.port, to.address),
      );
    });
    const c = new UpnpClient({ gateway: GW, localAddress: GW, ssdpPort, multicast: false });
    await assert.rejects(discoverIgd(c.target, c.refusals, new AbortController().signal), (e: unknown) =>
      isShoalError(e, ErrorCode.NatUnavailable),
    );
    assert.equal(c.refusals.ssdpMalformed, MAX_SSDP_RESPONSES);
    assert.equal(c.refusals.ssdpIgnored, 2);
  });

  test('an oversized device description and an oversized SOAP response are cut off', async () => {
    const big = await http(() => ({ body: `${desc('/ctl')}${' '.repeat(MAX_DEVICE_DESCRIPTION_BYTES)}` }));
    const ssdpBig = await ssdpGateway((to, gw) =>
      gw.send(answer(`http://${GW}:${big}/d.xml`), to.port, to.address),
    );
    const c1 = new UpnpClient({ gateway: GW, localAddress: GW, ssdpPort: ssdpBig, multicast: false });
    await assert.rejects(c1.externalIp(new AbortController().signal), (e: unknown) =>
      isShoalError(e, ErrorCode.NatTooLarge),
    );

    const soap = await http((path) =>
      path === '/ctl' ? { body: Buffer.alloc(MAX_SOAP_RESPONSE_BYTES + 1, 0x20) } : { body: desc('/ctl') },
    );
    const ssdpSoap = await ssdpGateway((to, gw) =>
      gw.send(answer(`http://${GW}:${soap}/d.xml`), to.port, to.address),
    );
    const c2 = new UpnpClient({ gateway: GW, localAddress: GW, ssdpPort: ssdpSoap, multicast: false });
    await assert.rejects(c2.map('TCP', 6881, 6881, 3600, new AbortController().signal), (e: unknown) =>
      isShoalError(e, ErrorCode.NatTooLarge),
    );
  });

  test('a NAT-PMP reply from the wrong address is not believed', async () => {
    const server = await udp(GW);
    const forger = await udp(FORGER);
    const reply = (externalPort: number) => {
      const b = Buffer.alloc(16);
      b.set([0, 130, 0, 0, 0, 0, 0, 1]);
      b.writeUInt16BE(6881, 8);
      b.writeUInt16BE(externalPort, 10);
      b.writeUInt32BE(3600, 12);
      return b;
    };
    server.on('message', (_m, rinfo) => {
      forger.send(reply(1111), rinfo.port, rinfo.address);
      setTimeout(() => server.send(reply(2222), rinfo.port, rinfo.address), 50);
    });
    const c = new NatPmpClient({ gateway: GW, localAddress: GW, port: server.address().port });
    closers.push(() => c.close());
    const g = await c.map('TCP', 6881, 6881, 3600, new AbortController().signal);
    assert.equal(g.externalPort, 2222);
  });
});
