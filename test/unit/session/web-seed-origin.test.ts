/** The web seed's HTTP/1.1 client (src/session/webseed/origin.ts, http1-connection.ts) against a raw TCP server. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { HttpOrigin } from '../../../src/session/webseed/origin.js';

/**
 * A server answering `GET` with `Range: bytes=a-b` from `data`, each answer written in pieces
 * cut at random; `closeAfter` answers per connection, then it closes the connection (keep-alive
 * sockets the server dropped).
 */
async function rangeServer(
  data: Buffer,
  closeAfter = Number.POSITIVE_INFINITY,
): Promise<{ server: Server; url: string; connections: () => number; open: () => number }> {
  let connections = 0;
  const live = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    live.add(socket);
    socket.on('close', () => live.delete(socket));
    socket.on('error', () => {});
    let text = '';
    let answered = 0;
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      for (let end = text.indexOf('\r\n\r\n'); end >= 0; end = text.indexOf('\r\n\r\n')) {
        const head = text.slice(0, end);
        text = text.slice(end + 4);
        const m = /range: bytes=(\d+)-(\d+)/i.exec(head);
        const a = Number(m?.[1] ?? 0);
        const b = Number(m?.[2] ?? data.length - 1);
        const answer = Buffer.concat([
          Buffer.from(
            `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${a}-${b}/${data.length}\r\nContent-Length: ${b - a + 1}\r\n\r\n`,
          ),
          data.subarray(a, b + 1),
        ]);
        for (let at = 0; at < answer.length; ) {
          const n = 1 + Math.floor(Math.random() * 70_000);
          socket.write(answer.subarray(at, at + n));
          at += n;
        }
        if (++answered >= closeAfter) socket.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/f`, connections: () => connections, open: () => live.size };
}

async function fetchRange(origin: HttpOrigin, url: string, a: number, b: number): Promise<Buffer> {
  const res = await origin.get(url, { range: `bytes=${a}-${b}` }, new AbortController().signal);
  assert.equal(res.status, 206);
  const parts: Buffer[] = [];
  // The view is valid only during the call: copied.
  await res.read((view) => parts.push(Buffer.from(view)));
  return Buffer.concat(parts);
}

describe('web seed HTTP client', () => {
  test('many ranges over kept connections, at most `connections` open, bytes equal', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const s = await rangeServer(data);
    const origin = new HttpOrigin({ connections: 3 });
    try {
      const ranges = Array.from({ length: 40 }, (_, i) => {
        const a = Math.floor((i * data.length) / 40);
        return [a, Math.min(data.length - 1, a + 1 + Math.floor(Math.random() * 200_000))] as const;
      });
      const got = await Promise.all(ranges.map(([a, b]) => fetchRange(origin, s.url, a, b)));
      for (const [i, [a, b]] of ranges.entries())
        assert.ok(got[i]!.equals(data.subarray(a, b + 1)), `range ${i}`);
      assert.ok(s.connections() <= 3, `${s.connections()} connections`);
      assert.ok(origin.openConnections <= 3);
    } finally {
      origin.close();
      await new Promise<void>((r) => s.server.close(() => r()));
    }
  });

  test('a kept connection the server closed is replaced, the request sent again', async () => {
    const data = randomBytes(256 * 1024);
    const s = await rangeServer(data, 1);
    const origin = new HttpOrigin({ connections: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const got = await fetchRange(origin, s.url, i * 1000, i * 1000 + 99_999);
        assert.ok(got.equals(data.subarray(i * 1000, i * 1000 + 100_000)));
      }
      assert.equal(s.connections(), 5);
    } finally {
      origin.close();
      await new Promise<void>((r) => s.server.close(() => r()));
    }
  });

  test('a paused answer stops the socket; resumed, it ends with every byte', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const s = await rangeServer(data);
    const origin = new HttpOrigin({ connections: 1 });
    try {
      const res = await origin.get(
        s.url,
        { range: `bytes=0-${data.length - 1}` },
        new AbortController().signal,
      );
      const parts: Buffer[] = [];
      let calls = 0;
      await res.read((view) => {
        parts.push(Buffer.from(view));
        if (++calls % 2 === 0) {
          res.pause();
          setTimeout(() => res.resume(), 1);
        }
      });
      assert.ok(Buffer.concat(parts).equals(data));
    } finally {
      origin.close();
      await new Promise<void>((r) => s.server.close(() => r()));
    }
  });
});
