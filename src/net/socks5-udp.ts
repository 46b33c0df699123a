/**
 * A SOCKS5 UDP association (RFC 1928 §7): datagrams to any host go to the proxy's UDP relay
 * wrapped in the SOCKS5 UDP request header, and replies come back the same way with their
 * sender's address. Used by the UDP tracker client when a proxy is set.
 *
 * Owns one UDP socket (bound to our address on the control connection, port 0) and the TCP
 * control connection of the UDP ASSOCIATE request: the association lives as long as that
 * connection, so when the proxy closes it the association ends (`onClose`) and its owner opens a
 * new one. Datagrams from anyone but the relay, fragmented ones (FRAG ≠ 0) and malformed ones are
 * dropped.
 */
import dgram from 'node:dgram';
import type { Socket } from 'node:net';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import {
  decodeSocks5UdpDatagram,
  encodeSocks5UdpDatagram,
  endpointName,
  type Socks5Endpoint,
  type Socks5ProxyOptions,
} from './socks5-protocol.js';
import { openSocks5Socket, type Socks5SocketOptions } from './socks5-socket.js';
import { plainAddress } from './tcp-transport.js';

/** Unspecified addresses: a relay that names one means "the proxy's own address". */
const UNSPECIFIED = new Set(['0.0.0.0', '::']);

/** An open UDP association; see the module notes. */
export class Socks5UdpAssociation {
  /** The relay datagrams are sent to. */
  readonly relay: Socks5Endpoint;
  readonly #udp: dgram.Socket;
  readonly #control: Socket;
  readonly #messageListeners = new Set<(payload: Uint8Array, from: Socks5Endpoint) => void>();
  readonly #closeListeners = new Set<() => void>();
  #closed = false;

  private constructor(udp: dgram.Socket, control: Socket, relay: Socks5Endpoint) {
    this.#udp = udp;
    this.#control = control;
    this.relay = relay;
    udp.on('message', (msg, rinfo) => {
      if (rinfo.port !== relay.port || plainAddress(rinfo.address) !== relay.host) return;
      const d = decodeSocks5UdpDatagram(msg);
      if (d === undefined) return;
      for (const l of this.#messageListeners) l(d.payload, d.from);
    });
    // Send errors come through the send callbacks; nothing else may crash the process.
    udp.on('error', () => {});
    control.on('error', () => this.#close());
    control.on('close', () => this.#close());
    // The proxy sends nothing more on the control connection; read so a close is seen.
    control.on('data', () => {});
    control.resume();
  }

  /** Asks `proxy` for a UDP association. Rejects with a `ShoalError` (`SHOAL_ERR_NET_PROXY`, …). */
  static async open(
    proxy: Socks5ProxyOptions,
    options: Socks5SocketOptions = {},
  ): Promise<Socks5UdpAssociation> {
    let udp: dgram.Socket | undefined;
    try {
      const { socket, bound } = await openSocks5Socket(
        proxy,
        'udp-associate',
        async (local) => {
          const s = dgram.createSocket(local.family === 6 ? 'udp6' : 'udp4');
          udp = s;
          await new Promise<void>((resolve, reject) => {
            s.once('error', reject);
            s.bind(0, plainAddress(local.address), () => {
              s.off('error', reject);
              resolve();
            });
          });
          // RFC 1928 §7: the address and port the client will send datagrams from.
          return { host: plainAddress(local.address), port: s.address().port };
        },
        options,
      );
      const relayHost = UNSPECIFIED.has(bound.host)
        ? plainAddress(socket.remoteAddress ?? proxy.host)
        : bound.host;
      return new Socks5UdpAssociation(udp!, socket, { host: relayHost, port: bound.port });
    } catch (e) {
      try {
        udp?.close();
      } catch {
        // already closed by a failed bind
      }
      throw e;
    }
  }

  /** True once the association ended. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Sends `payload` to `address:port` through the relay. */
  send(payload: Uint8Array, port: number, address: string, callback: (error: Error | null) => void): void {
    if (this.#closed) {
      callback(
        new ShoalError(ErrorCode.NetProxy, 'the SOCKS5 UDP association is closed', {
          relay: endpointName(this.relay.host, this.relay.port),
        }),
      );
      return;
    }
    let datagram: Uint8Array;
    try {
      datagram = encodeSocks5UdpDatagram({ host: address, port }, payload);
    } catch (e) {
      callback(e as Error);
      return;
    }
    this.#udp.send(datagram, this.relay.port, this.relay.host, (err) => callback(err ?? null));
  }

  /** Calls `listener` with every datagram relayed to us (payload and original sender). */
  onMessage(listener: (payload: Uint8Array, from: Socks5Endpoint) => void): void {
    this.#messageListeners.add(listener);
  }

  /** Calls `listener` once the association ends (the proxy closed it, or {@link close}). */
  onClose(listener: () => void): void {
    this.#closeListeners.add(listener);
  }

  /** Ends the association: closes the control connection and the UDP socket. */
  close(callback?: () => void): void {
    this.#close();
    callback?.();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#control.destroy();
    this.#udp.close();
    for (const l of this.#closeListeners) l();
  }
}
