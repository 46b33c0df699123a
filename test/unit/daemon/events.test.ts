import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EventHub } from '../../../src/daemon/http/events.js';
import { JSON_CHUNK_CHARS, jsonChunks } from '../../../src/daemon/http/json-chunks.js';
import type { TorrentManager } from '../../../src/daemon/torrent-manager.js';
import { MAX_SSE_BUFFERED_BYTES } from '../../../src/shared/limits.js';

/** A response whose unread byte count the test sets. */
class FakeResponse extends EventEmitter {
  writableLength = 0;
  frames: string[] = [];
  destroyed = false;
  ended = false;
  writeHead(): this {
    return this;
  }
  write(s: string): boolean {
    this.frames.push(s);
    return true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  end(): void {
    this.ended = true;
    this.emit('close');
  }
}

function fakeManager(): TorrentManager & { fire(name: string, payload: unknown): void } {
  const ee = new EventEmitter();
  return {
    on: (name: string, f: (p: unknown) => void) => ee.on(name, f),
    fire: (name: string, payload: unknown) => ee.emit(name, payload),
    stats: () => ({ torrentCount: 0 }),
    list: () => [],
  } as unknown as TorrentManager & { fire(name: string, payload: unknown): void };
}

function subscribe(hub: EventHub, query: Record<string, string> = {}): FakeResponse {
  const res = new FakeResponse();
  hub.subscribe({ query } as unknown as FastifyRequest, { raw: res, hijack() {} } as unknown as FastifyReply);
  return res;
}

const named = (res: FakeResponse, event: string) => res.frames.filter((f) => f.includes(`event: ${event}\n`));

test('events reach every listener; snapshots on connect unless turned off', () => {
  const manager = fakeManager();
  const hub = new EventHub(manager, 60_000, {});
  const a = subscribe(hub);
  const b = subscribe(hub, { snapshots: 'false' });
  assert.equal(named(a, 'snapshot').length, 1);
  assert.equal(named(b, 'snapshot').length, 0);
  manager.fire('torrent:added', { id: 'x', name: 'n' });
  for (const r of [a, b]) {
    const [frame] = named(r, 'torrent:added');
    assert.match(frame!, /^id: \d+\nevent: torrent:added\ndata: \{"id":"x","name":"n"\}\n\n$/);
  }
  assert.equal(hub.clientCount, 2);
  hub.close();
  assert.ok(a.ended && b.ended);
  assert.equal(hub.clientCount, 0);
});

test(`a listener with more than MAX_SSE_BUFFERED_BYTES unread misses snapshots; past 4× it is dropped`, () => {
  const manager = fakeManager();
  const hub = new EventHub(manager, 60_000, {});
  const slow = subscribe(hub);
  slow.frames.length = 0;
  slow.writableLength = MAX_SSE_BUFFERED_BYTES; // at the bound: still served
  hub.tick();
  assert.equal(named(slow, 'snapshot').length, 1);
  slow.frames.length = 0;
  slow.writableLength = MAX_SSE_BUFFERED_BYTES + 1;
  // Snapshots are droppable; other events are not.
  hub.broadcast('torrent:removed', { id: 'x' });
  assert.equal(named(slow, 'torrent:removed').length, 1);
  const before = hub.dropped;
  hub.tick();
  assert.equal(hub.dropped, before + 1);
  assert.equal(named(slow, 'snapshot').length, 0);
  slow.writableLength = 4 * MAX_SSE_BUFFERED_BYTES + 1;
  hub.broadcast('torrent:removed', { id: 'y' });
  assert.ok(slow.destroyed);
  assert.equal(hub.clientCount, 0);
  hub.close();
});

test('jsonChunks: the pieces join into the same JSON, each small', () => {
  const rows = Array.from({ length: 3000 }, (_, i) => ({
    id: i,
    name: `torrent ${i}`,
    pad: 'x'.repeat(i % 50),
  }));
  const chunks = jsonChunks('{"torrents":[', rows, ']}');
  assert.ok(chunks.length > 3);
  for (const c of chunks) assert.ok(c.length <= JSON_CHUNK_CHARS + 100, `${c.length}`);
  assert.deepEqual(JSON.parse(chunks.join('')), { torrents: rows });
  assert.deepEqual(jsonChunks('[', [], ']'), ['[]']);
});
