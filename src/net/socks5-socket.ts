/**
 * SOCKS5 negotiation over a plain node:net socket, for users that need a `net.Socket` rather than
 * a {@link PeerStream}: HTTP(S) tracker requests tunnelled through CONNECT (node:http takes the
 * socket as its connection) and the control connection of a UDP ASSOCIATE (socks5-udp.ts).
 * The protocol itself is socks5-protocol.ts; errors are as in socks5-transport.ts.
 */
import { connect, type Socket } from 'node:net';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import { SOCKS5_HANDSHAKE_TIMEOUT_MS } from '../shared/limits.js';
import {
  endpointName,
  type Socks5Command,
  type Socks5Endpoint,
  Socks5Handshake,
  type Socks5ProxyOptions,
} from './socks5-protocol.js';

export interface Socks5SocketOptions {
  /** Time for the TCP connect and the whole negotiation, ms. @default SOCKS5_HANDSHAKE_TIMEOUT_MS */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Our end of the connection to the proxy, once it is connected. */
export interface LocalEndpoint {
  readonly address: string;
  readonly family: 4 | 6;
}

/** A socket on which the proxy granted a request, and the address the proxy bound for it. */
export interface Socks5Socket {
  /** Paused; bytes that followed the proxy's reply were put back (`unshift`). */
  readonly socket: Socket;
  readonly bound: Socks5Endpoint;
}

/**
 * Connects to `proxy` and asks for `command` on `target`. `target` may be a function of our
 * local endpoint (UDP ASSOCIATE names the address our datagrams come from). Rejects with a
 * `ShoalError` (see the module notes).
 */
export function openSocks5Socket(
  proxy: Socks5ProxyOptions,
  command: Socks5Command,
  target: Socks5Endpoint | ((local: LocalEndpoint) => Promise<Socks5Endpoint>),
  options: Socks5SocketOptions = {},
): Promise<Socks5Socket> {
  const name = endpointName(proxy.host, proxy.port);
  const credentials = {
    ...(proxy.username !== undefined ? { username: proxy.username } : {}),
    ...(proxy.password !== undefined ? { password: proxy.password } : {}),
  };
  const { signal } = options;
  return new Promise((resolve, reject) => {
    let done = false;
    let connected = false;
    const socket = connect({ host: proxy.host, port: proxy.port });
    socket.setNoDelay(true);
    const finish = (error: Error | undefined, bound?: Socks5Endpoint) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('data', onData);
      if (error !== undefined) {
        socket.destroy();
        reject(error);
      } else resolve({ socket, bound: bound! });
    };
    const timer = setTimeout(
      () =>
        finish(
          new ShoalError(ErrorCode.NetTimeout, `SOCKS5 proxy ${name} did not answer in time`, {
            proxy: name,
          }),
        ),
      options.timeoutMs ?? SOCKS5_HANDSHAKE_TIMEOUT_MS,
    );
    timer.unref();
    const onAbort = () => finish(new ShoalError(ErrorCode.NetProxy, 'aborted', { proxy: name }));
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    let handshake: Socks5Handshake | undefined;
    const onData = (chunk: Buffer) => {
      if (done || handshake === undefined) return;
      let step: ReturnType<Socks5Handshake['push']>;
      try {
        step = handshake.push(chunk);
      } catch (e) {
        finish(e as Error);
        return;
      }
      if (step.send !== undefined) socket.write(step.send);
      if (step.result !== undefined) {
        socket.pause();
        if (step.result.rest.length > 0) socket.unshift(Buffer.from(step.result.rest));
        finish(undefined, step.result.bound);
      }
    };
    // Left in place after success (as no-ops): the new owner adds its own.
    socket.on('error', (e) =>
      finish(
        new ShoalError(
          ErrorCode.NetProxy,
          connected
            ? `SOCKS5 proxy ${name}: ${e.message}`
            : `cannot reach SOCKS5 proxy ${name}: ${e.message}`,
          { proxy: name },
          { cause: e },
        ),
      ),
    );
    socket.on('close', () =>
      finish(
        new ShoalError(
          ErrorCode.NetProxy,
          `SOCKS5 proxy ${name} closed the connection during the handshake`,
          {
            proxy: name,
          },
        ),
      ),
    );
    socket.once('connect', () => {
      connected = true;
      const local: LocalEndpoint = {
        address: socket.localAddress ?? '',
        family: socket.localFamily === 'IPv6' ? 6 : 4,
      };
      void (async () => {
        try {
          const t = typeof target === 'function' ? await target(local) : target;
          if (done) return;
          handshake = new Socks5Handshake({ command, target: t, proxyName: name, ...credentials });
        } catch (e) {
          finish(e as Error);
          return;
        }
        socket.on('data', onData);
        socket.write(handshake.start());
      })();
    });
  });
}
