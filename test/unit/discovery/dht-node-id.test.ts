/**
 * BEP 42 on a running DHT (src/discovery/dht-family.ts): told our external address, a node whose
 * id does not conform gets a conforming one, keeps its contacts, joins again and still finds
 * announces; a second address soon after does not move the id again (NodeIdRenewal bounds it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidNodeIdForIp } from '../../../src/dht/index.js';
import { createDhtTestnet } from '../../../src/discovery/dht-testnet.js';
import { toHex } from '../../../src/shared/hash.js';

test('the node id follows the external address (BEP 42), at most once per interval', {
  timeout: 30_000,
}, async () => {
  const net = await createDhtTestnet({ size: 6 });
  try {
    const rt = await net.add({ idRenewal: { minIntervalMs: 60_000, maxWaitMs: 5_000 } });
    const before = rt.nodeId()!;
    const contacts = rt.stats().nodes;
    assert.ok(contacts > 0);
    // A loopback address is exempt from BEP 42: the id stands.
    rt.setExternalAddress('127.0.0.1');
    assert.equal(toHex(rt.nodeId()!), toHex(before));
    // Our address, as the session chose it; a random id conforms to it with odds of 1 in 2^21.
    assert.equal(isValidNodeIdForIp(before, '203.0.113.5'), false);
    const changed = rt.next('node-id:changed', AbortSignal.timeout(10_000));
    rt.setExternalAddress('203.0.113.5');
    const e = await changed;
    assert.equal(e.family, 4);
    const after = rt.nodeId()!;
    assert.equal(toHex(e.id), toHex(after));
    assert.notEqual(toHex(after), toHex(before));
    assert.ok(isValidNodeIdForIp(after, '203.0.113.5'), 'the new id conforms to BEP 42');
    assert.ok(rt.stats().nodes > 0, 'the contacts were kept');
    // The address flaps: within the interval the id does not move again.
    rt.setExternalAddress('203.0.113.9');
    assert.equal(toHex(rt.nodeId()!), toHex(after));
    // The node still works under its new id: an announce through it is found by another node.
    const hash = new Uint8Array(20).fill(7);
    const r = await rt.announce(hash, 6881, { signal: AbortSignal.timeout(10_000) });
    assert.ok(r.announcedTo > 0);
    const found: number[] = [];
    for await (const p of net.nodes[0]!.getPeers(hash, { signal: AbortSignal.timeout(10_000) }))
      if (p.type === 'peers') for (const a of p.peers) found.push(a.port);
    assert.ok(found.includes(6881));
  } finally {
    await net.close();
  }
});
