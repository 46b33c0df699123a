/**
 * The session's transports: TCP, uTP (BEP 29) on the shared UDP socket, a SOCKS5 proxy's, and
 * any the user adds; where they listen and in which order a dial tries them.
 *
 * DEV DOCS
 * - Listening: TCP on the session's port; with uTP, one {@link SharedUdpSocket} on the same port
 *   number (`0.0.0.0`: uTP is IPv4), which the uTP transport, the IPv4 DHT and the UDP tracker
 *   client share (it tells their datagrams apart by their first bytes). On port 0 the UDP side of
 *   the port TCP got may be taken: TCP is closed and both try again, {@link LISTEN_PORT_TRIES}
 *   times. Under `utp-only` TCP is not listened on at all (the UDP socket takes the port).
 * - Dialling ({@link SessionTransports.forAddress}): the user's transports first, then uTP and
 *   TCP in the order net/dial-policy.ts gives for the policy and the address's hints. With a
 *   proxy, only the proxy (uTP cannot go through it; options refuse the combination).
 * - Closing: {@link stopAccepting} first (no new streams while torrents close theirs), then
 *   {@link close} once every user of the UDP socket (DHT, trackers) has let go of it.
 * - Without `listen`, uTP binds an ephemeral socket of its own at the first dial.
 */
import { dialOrder } from '../net/dial-policy.js';
import type { AddressHints } from '../net/peer-pool.js';
import { Socks5Transport } from '../net/socks5-transport.js';
import { TcpTransport } from '../net/tcp-transport.js';
import type { ListeningTransport, PeerStream, Transport } from '../net/transport.js';
import { SharedUdpSocket } from '../net/udp-socket.js';
import { UtpTransport } from '../net/utp-transport.js';
import { ErrorCode, ShoalError } from '../shared/errors.js';
import type { ResolvedOptions } from './options.js';

/** Port-0 listens retried when the UDP side of the port TCP got is taken. */
export const LISTEN_PORT_TRIES = 8;

/** The session's transports; see the file's notes. */
export class SessionTransports {
  readonly tcp = new TcpTransport();
  readonly #options: ResolvedOptions;
  readonly #socks: Socks5Transport | undefined;
  #utp: UtpTransport | undefined;
  #udp: SharedUdpSocket | undefined;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#socks = options.proxy !== undefined ? new Socks5Transport({ proxy: options.proxy }) : undefined;
  }

  /** The UDP socket shared by uTP, the DHT and UDP trackers (listening with uTP only). */
  get udp(): SharedUdpSocket | undefined {
    return this.#udp;
  }

  /** The uTP transport, when uTP runs. */
  get utp(): UtpTransport | undefined {
    if (this.#utp === undefined && this.#options.utp !== undefined)
      this.#utp = new UtpTransport(this.#options.utp);
    return this.#utp;
  }

  /** Every transport in use (for connection counts). */
  get all(): readonly Transport[] {
    const out: Transport[] = [...this.#options.transports, this.tcp];
    if (this.#utp !== undefined) out.push(this.#utp);
    if (this.#socks !== undefined) out.push(this.#socks);
    return out;
  }

  /** The transports to dial an address with these hints through, in order. */
  forAddress(hints: AddressHints): readonly Transport[] {
    if (this.#socks !== undefined) return [this.#socks];
    const utp = this.utp;
    if (utp === undefined) return [...this.#options.transports, this.tcp];
    const order = dialOrder(this.#options.transportPolicy, hints);
    return [...this.#options.transports, ...order.map((k) => (k === 'utp' ? utp : this.tcp))];
  }

  /**
   * Listens on `port` (0: any) with TCP and, with uTP, the shared UDP socket on the same port
   * number; then the user's listening transports on it too. Resolves with the port.
   */
  async listen(
    port: number,
    onStream: (s: PeerStream) => void,
    onError: (e: Error) => void,
  ): Promise<number> {
    const o = this.#options;
    const host = o.host;
    let bound = o.transportPolicy === 'utp-only' ? await this.#listenUdp(port) : undefined;
    for (let tries = 1; bound === undefined; tries++) {
      const p = await this.tcp.listen({ host, port }, onStream);
      if (o.utp === undefined) bound = p;
      else {
        try {
          bound = await this.#listenUdp(p);
        } catch (e) {
          if (port !== 0 || tries >= LISTEN_PORT_TRIES) throw e;
          await this.tcp.close();
        }
      }
    }
    this.tcp.onListenError(onError);
    if (this.#udp !== undefined) {
      await this.#utp?.close(); // one made for a dial before listening (none in a session)
      this.#utp = new UtpTransport(o.utp, { socket: this.#udp });
      await this.#utp.listen({ port: bound }, onStream);
    }
    // Other transports that accept connections listen on the same port number, so that one
    // address (what trackers and PEX spread) reaches the node whatever carries it.
    for (const t of o.transports) if (isListening(t)) await t.listen({ host, port: bound }, onStream);
    return bound;
  }

  async #listenUdp(port: number): Promise<number> {
    const host = this.#options.host;
    try {
      this.#udp = await SharedUdpSocket.bind(host === '::' ? '0.0.0.0' : host, port);
    } catch (e) {
      throw new ShoalError(
        ErrorCode.NetConnectFailed,
        `cannot listen for uTP on UDP port ${port}: ${(e as Error).message}`,
        { port },
        { cause: e },
      );
    }
    return this.#udp.port;
  }

  /** Stops accepting (TCP listener closed, uTP refuses new connections); open streams stay. */
  async stopAccepting(): Promise<void> {
    this.#utp?.stopListening();
    await Promise.all([this.tcp.close(), ...this.#options.transports.map((t) => t.close())]);
  }

  /** Closes uTP (resetting its streams still open), the proxy's transport and the UDP socket. */
  async close(): Promise<void> {
    await this.#utp?.close();
    await this.#socks?.close();
    await this.#udp?.close();
  }
}

function isListening(t: Transport): t is ListeningTransport {
  return typeof (t as Partial<ListeningTransport>).listen === 'function';
}
