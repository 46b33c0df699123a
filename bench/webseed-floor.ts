/**
 * The floor of `bench:webseed`: how fast a *minimal* verifying client written in Node gets a
 * file from an HTTP origin on this machine. It is no BitTorrent client (no engine, picker, blame,
 * resume or limits): it shows how much of the gap between Shoal and curl is Node and how much is
 * Shoal.
 *
 * It does what a web-seed download must do and nothing else: `--connections` keep-alive
 * connections, each asking for ranges of `--range-pieces` whole pieces; response bodies are read
 * straight into piece-sized buffers (net's `onread` with a buffer function: no copy in
 * JavaScript); each complete piece is moved (not copied) to one worker thread for its SHA-1, and
 * written with positional writes of 128 KiB once it matched. At most BUFFERS pieces are held;
 * when none is free the socket stops being read.
 *
 * Usage: node webseed-floor.js --url U --hashes FILE --piece-length N --total N --out FILE
 *        [--connections 4] [--range-pieces 2]
 * `--hashes` holds the torrent's piece SHA-1s, 20 bytes each. Prints `started` once the worker is
 * up and `done: …` when every piece is verified and written; a wrong piece or HTTP answer exits
 * with status 1. Only node: modules, so that the bench can compile this one file on its own.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, write } from 'node:fs';
import net from 'node:net';
import { Worker } from 'node:worker_threads';

/** Piece buffers held at once (in flight, being hashed, being written). */
const BUFFERS = 16;
/** Bytes per write call (what Shoal's FilePool uses on this VM). */
const WRITE_CALL_BYTES = 128 * 1024;
/** Room for a response head read before its body. */
const HEAD_BYTES = 64 * 1024;

interface Args {
  readonly url: URL;
  readonly hashes: Uint8Array;
  readonly pieceLength: number;
  readonly total: number;
  readonly out: string;
  readonly connections: number;
  readonly rangePieces: number;
}

function parseArgs(argv: readonly string[]): Args {
  const get = (name: string, fallback?: string): string => {
    const i = argv.indexOf(`--${name}`);
    const v = i >= 0 ? argv[i + 1] : fallback;
    if (v === undefined) throw new Error(`--${name} is required`);
    return v;
  };
  return {
    url: new URL(get('url')),
    hashes: readFileSync(get('hashes')),
    pieceLength: Number(get('piece-length')),
    total: Number(get('total')),
    out: get('out'),
    connections: Number(get('connections', '4')),
    rangePieces: Number(get('range-pieces', '2')),
  };
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ index, buffer, length }) => {
  const digest = createHash('sha1').update(buffer.subarray(0, length)).digest();
  parentPort.postMessage({ index, buffer, digest }, [buffer.buffer]);
});`;

function fail(message: string): never {
  console.error(`floor: ${message}`);
  process.exit(1);
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  const pieces = Math.ceil(a.total / a.pieceLength);
  const pieceSize = (i: number) => Math.min(a.pieceLength, a.total - i * a.pieceLength);
  const fd = openSync(a.out, 'w');
  ftruncateSync(fd, a.total);
  const free: Uint8Array[] = Array.from({ length: BUFFERS }, () => new Uint8Array(a.pieceLength));
  const waiting: (() => void)[] = [];
  const hashed = new Map<number, (buffer: Uint8Array, digest: Uint8Array) => void>();
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  worker.on('message', (m: { index: number; buffer: Uint8Array; digest: Uint8Array }) =>
    hashed.get(m.index)?.(m.buffer, m.digest),
  );
  const sockets: net.Socket[] = [];
  let nextPiece = 0;
  let done = 0;
  let t0 = 0;

  const release = (b: Uint8Array) => {
    free.push(b);
    waiting.shift()?.();
  };

  const finish = (index: number, buffer: Uint8Array): void => {
    const length = pieceSize(index);
    hashed.set(index, (back, digest) => {
      hashed.delete(index);
      const want = a.hashes.subarray(index * 20, index * 20 + 20);
      if (!Buffer.from(digest).equals(want)) fail(`piece ${index} does not match its hash`);
      let left = Math.ceil(length / WRITE_CALL_BYTES);
      for (let at = 0; at < length; at += WRITE_CALL_BYTES) {
        const n = Math.min(WRITE_CALL_BYTES, length - at);
        write(fd, back, at, n, index * a.pieceLength + at, (e) => {
          if (e !== null) fail(e.message);
          if (--left > 0) return;
          release(back);
          if (++done < pieces) return;
          const s = (performance.now() - t0) / 1000;
          console.log(`done: ${(a.total / 1e6 / s).toFixed(0)} MB/s in ${s.toFixed(3)} s`);
          closeSync(fd);
          for (const so of sockets) so.destroy();
          void worker.terminate();
        });
      }
    });
    worker.postMessage({ index, buffer, length }, [buffer.buffer as ArrayBuffer]);
  };

  const connection = (): void => {
    const scratch = new Uint8Array(HEAD_BYTES);
    let head: Buffer[] = [];
    let inBody = false;
    let bodyLeft = 0;
    let piece = 0;
    let runEnd = 0;
    let cur: Uint8Array | undefined;
    let fill = 0;
    // Where the next read goes: the rest of the current piece, or the scratch for a head.
    const target = (): Uint8Array =>
      inBody && cur !== undefined ? cur.subarray(fill, pieceSize(piece)) : scratch;
    const socket = net.connect({
      host: a.url.hostname,
      port: Number(a.url.port),
      onread: {
        buffer: target,
        callback: (n: number, buf: Uint8Array) => {
          onRead(n, buf);
          return true;
        },
      },
    });
    sockets.push(socket);
    socket.setNoDelay(true);
    socket.on('error', (e) => {
      if (done < pieces) fail(e.message);
    });

    // Body bytes that arrived for a piece with no buffer yet.
    let stash: Uint8Array | undefined;
    const takeBuffer = (): void => {
      fill = 0;
      cur = free.pop();
      if (cur !== undefined) return;
      socket.pause();
      waiting.push(() => {
        cur = free.pop();
        const s = stash;
        stash = undefined;
        if (s !== undefined) copyIn(s);
        socket.resume();
      });
    };
    // `n` body bytes landed in `cur` at `fill`.
    const advance = (n: number): void => {
      fill += n;
      bodyLeft -= n;
      if (fill === pieceSize(piece)) {
        const b = cur!;
        cur = undefined;
        finish(piece, b);
        if (++piece < runEnd) takeBuffer();
      }
      if (bodyLeft === 0) {
        inBody = false;
        request();
      }
    };
    // Body bytes read somewhere else (after a head, or before a buffer was free): copied in.
    const copyIn = (src: Uint8Array): void => {
      for (let at = 0; at < src.length; ) {
        if (cur === undefined) {
          stash = Uint8Array.from(src.subarray(at));
          return;
        }
        const n = Math.min(pieceSize(piece) - fill, src.length - at);
        cur.set(src.subarray(at, at + n), fill);
        at += n;
        advance(n);
      }
    };
    const onRead = (n: number, buf: Uint8Array): void => {
      if (inBody) {
        if (buf === scratch) copyIn(scratch.subarray(0, n));
        else advance(n);
        return;
      }
      head.push(Buffer.from(buf.subarray(0, n)));
      const all = Buffer.concat(head);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      head = [];
      const text = all.subarray(0, end).toString('latin1');
      const length = /\r\ncontent-length: *(\d+)/i.exec(text);
      if (!text.startsWith('HTTP/1.1 206') || length === null)
        fail(`unexpected answer: ${text.split('\r\n')[0]}`);
      const want = Math.min(a.total, runEnd * a.pieceLength) - piece * a.pieceLength;
      bodyLeft = Number(length[1]);
      if (bodyLeft !== want) fail(`Content-Length ${bodyLeft}, expected ${want}`);
      inBody = true;
      copyIn(all.subarray(end + 4));
    };
    const request = (): void => {
      if (nextPiece >= pieces) return;
      piece = nextPiece;
      runEnd = Math.min(pieces, piece + a.rangePieces);
      nextPiece = runEnd;
      const first = piece * a.pieceLength;
      const last = Math.min(a.total, runEnd * a.pieceLength) - 1;
      takeBuffer();
      socket.write(
        `GET ${a.url.pathname} HTTP/1.1\r\nHost: ${a.url.host}\r\nRange: bytes=${first}-${last}\r\n\r\n`,
      );
    };
    socket.on('connect', request);
  };

  worker.once('online', () => {
    console.log('started');
    t0 = performance.now();
    for (let i = 0; i < a.connections; i++) connection();
  });
}

main();
