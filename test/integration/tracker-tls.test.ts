/**
 * The tracker with a certificate (`shoal tracker --cert --key`): HTTPS announces and `wss://`
 * WebSocket messages on the HTTP port, checked by clients that trust only that certificate.
 * test/fixtures/tls holds a self-signed certificate for 127.0.0.1, ::1 and localhost (valid until
 * 2126; its key is for tests only), made with
 * `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
 * -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { after, test } from 'node:test';
import { WebSocket } from 'ws';
import { startTrackerFromCli, type TrackerCommandOptions } from '../../src/cli/commands/tracker.js';
import { BencodeDict, decode } from '../../src/codec/bencode.js';
import type { TrackerServer } from '../../src/tracker/index.js';

const FIXTURES = new URL('../fixtures/tls/', import.meta.url).pathname;
const CERT = `${FIXTURES}localhost-cert.pem`;
const KEY = `${FIXTURES}localhost-key.pem`;
const ca = readFileSync(CERT);
const base: TrackerCommandOptions = { http: 0, udp: false, host: '127.0.0.1', interval: 1800 };
const trackers: TrackerServer[] = [];
after(async () => {
  await Promise.all(trackers.map((t) => t.close()));
});

function get(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

test('with --cert and --key the tracker serves https:// announces and wss:// messages', {
  timeout: 20_000,
}, async () => {
  const tracker = await startTrackerFromCli({ ...base, cert: CERT, key: KEY });
  trackers.push(tracker);
  assert.match(tracker.httpAnnounceUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+\/announce$/);
  assert.equal(tracker.wsAnnounceUrl, `wss://127.0.0.1:${tracker.httpPort}/`);

  const q = `info_hash=${'%01'.repeat(20)}&peer_id=${'%02'.repeat(20)}&port=6881&left=0&compact=1`;
  const r = await get(`${tracker.httpAnnounceUrl}?${q}`);
  assert.equal(r.status, 200);
  const reply = decode(r.body);
  assert.ok(reply instanceof BencodeDict);
  assert.equal(reply.get('interval'), 1800);

  const ws = new WebSocket(tracker.wsAnnounceUrl as string, { ca });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const message = new Promise<Record<string, unknown>>((resolve) =>
      ws.once('message', (d) => resolve(JSON.parse(String(d)) as Record<string, unknown>)),
    );
    ws.send(JSON.stringify({ action: 'scrape', info_hash: String.fromCharCode(...new Array(20).fill(3)) }));
    assert.equal((await message).action, 'scrape');
  } finally {
    ws.terminate();
  }
});

test('a plain ws:// client cannot talk to the TLS port, and the tracker keeps serving', {
  timeout: 20_000,
}, async () => {
  const tracker = await startTrackerFromCli({ ...base, cert: CERT, key: KEY });
  trackers.push(tracker);
  const plain = new WebSocket(`ws://127.0.0.1:${tracker.httpPort}/`);
  const outcome = await new Promise<string>((resolve) => {
    plain.once('open', () => resolve('open'));
    plain.once('error', () => resolve('error'));
  });
  plain.terminate();
  assert.equal(outcome, 'error');
  assert.equal((await get(`https://127.0.0.1:${tracker.httpPort}/stats.json`)).status, 200);
});

test('--cert without --key is a usage error', async () => {
  await assert.rejects(startTrackerFromCli({ ...base, cert: CERT }), /--cert and --key go together/);
});
