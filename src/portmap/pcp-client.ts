/**
 * PCP and NAT-PMP clients on one connected UDP socket to the gateway's port 5351: the kernel
 * drops datagrams from any other address, and each answer is still checked (source, opcode,
 * PCP nonce) before it is believed. Requests are retransmitted at 250 ms doubling (RFC 6886
 * §3.1, RFC 6887 §8.1.1), for {@link PCP_TRIES} tries.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import {
  decodeNatPmpResponse,
  decodePcpResponse,
  encodeNatPmpExternalRequest,
  encodeNatPmpMapRequest,
  encodePcpMapRequest,
  type MappingProtocol,
  NATPMP_PORT,
  NatError,
} from '../nat/index.js';
import { ErrorCode, isShoalError } from '../shared/errors.js';
import { MAX_PCP_MESSAGE_BYTES } from '../shared/limits.js';
import type { MappingClient, MappingGrant } from './types.js';

/** Tries of one request before giving up (250 + 500 + 1000 ms). */
export const PCP_TRIES = 3;
const FIRST_RETRY_MS = 250;

/** Where the server is. */
export interface PcpTarget {
  readonly gateway: string;
  /** @default 5351 */
  readonly port?: number;
  /** Our LAN address (PCP puts it in the request). */
  readonly localAddress: string;
}

class Exchange {
  readonly #socket: Socket;
  #waiter: ((msg: Uint8Array) => boolean) | undefined;
  #error: ((e: Error) => void) | undefined;
  #ready: Promise<void>;

  constructor(readonly target: PcpTarget) {
    this.#socket = createSocket('udp4');
    const port = target.port ?? NATPMP_PORT;
    this.#socket.on('message', (msg, rinfo) => {
      // Only the gateway's server port speaks for the router (the socket is connected too).
      if (rinfo.address !== target.gateway || rinfo.port !== port || msg.length > MAX_PCP_MESSAGE_BYTES)
        return;
      this.#waiter?.(msg);
    });
    this.#socket.on('error', (e) => this.#error?.(e));
    this.#ready = new Promise((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.connect(port, target.gateway, () => {
        this.#socket.off('error', reject);
        resolve();
      });
    });
  }

  /** Sends `req` until `accept` returns a value for an answer, or the tries run out. */
  async request<T>(
    req: Uint8Array,
    accept: (msg: Uint8Array) => T | undefined,
    signal: AbortSignal,
  ): Promise<T> {
    await this.#ready;
    return new Promise<T>((resolve, reject) => {
      let tries = 0;
      let timer: NodeJS.Timeout | undefined;
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.#waiter = undefined;
        this.#error = undefined;
        signal.removeEventListener('abort', onAbort);
        f();
      };
      const onAbort = () => done(() => reject(signal.reason));
      this.#waiter = (msg) => {
        try {
          const v = accept(msg);
          if (v === undefined) return false;
          done(() => resolve(v));
        } catch (e) {
          // A refusal is the router's answer; a malformed datagram is ignored (it may be forged).
          if (isShoalError(e, ErrorCode.NatRefused)) done(() => reject(e));
        }
        return true;
      };
      // ICMP port unreachable on the connected socket: nothing listens there.
      this.#error = (e) =>
        done(() =>
          reject(
            new NatError(
              ErrorCode.NatUnavailable,
              `no server: ${e.message}`,
              { protocol: 'pcp' },
              { cause: e },
            ),
          ),
        );
      const send = () => {
        if (tries++ >= PCP_TRIES) {
          done(() =>
            reject(new NatError(ErrorCode.NatUnavailable, 'no answer from the gateway', { protocol: 'pcp' })),
          );
          return;
        }
        this.#socket.send(req);
        timer = setTimeout(send, FIRST_RETRY_MS * 2 ** (tries - 1));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      send();
    });
  }

  close(): void {
    this.#socket.close();
  }
}

/** Epoch check of RFC 6886 §3.6: the router restarted if its clock went back (with 1/8 slack). */
class EpochWatch {
  #last: { epoch: number; at: number } | undefined;
  restarted(epoch: number, now: number): boolean {
    const prev = this.#last;
    this.#last = { epoch, at: now };
    if (!prev) return false;
    const elapsed = (now - prev.at) / 1000;
    return epoch + 2 < prev.epoch + (elapsed * 7) / 8;
  }
}

/** PCP (RFC 6887) MAP client. */
export class PcpClient implements MappingClient {
  readonly method = 'pcp' as const;
  readonly #x: Exchange;
  readonly #epoch = new EpochWatch();
  #externalIp: string | undefined;
  /** One nonce per mapping, kept for its renewals and its deletion (RFC 6887 §11.1, §15). */
  readonly #nonces = new Map<string, Uint8Array>();

  constructor(readonly target: PcpTarget) {
    this.#x = new Exchange(target);
  }

  async externalIp(): Promise<string | undefined> {
    return this.#externalIp;
  }

  async map(
    protocol: MappingProtocol,
    internalPort: number,
    externalPort: number,
    leaseSeconds: number,
    signal: AbortSignal,
  ): Promise<MappingGrant> {
    const key = `${protocol}:${internalPort}`;
    const nonce = this.#nonces.get(key) ?? randomBytes(12);
    this.#nonces.set(key, nonce);
    const req = encodePcpMapRequest({
      nonce,
      protocol,
      internalPort,
      externalPort,
      lifetimeSeconds: leaseSeconds,
      clientIp: this.target.localAddress,
    });
    const r = await this.#x.request(
      req,
      (msg) => {
        const d = decodePcpResponse(msg);
        return Buffer.from(d.nonce).equals(nonce) &&
          d.protocol === protocol &&
          d.internalPort === internalPort
          ? d
          : undefined;
      },
      signal,
    );
    this.#externalIp = r.externalIp;
    return {
      externalPort: r.externalPort,
      lifetimeSeconds: r.lifetimeSeconds,
      externalIp: r.externalIp,
      routerRestarted: this.#epoch.restarted(r.epoch, performance.now()),
    };
  }

  async unmap(
    protocol: MappingProtocol,
    internalPort: number,
    _externalPort: number,
    signal: AbortSignal,
  ): Promise<void> {
    await this.map(protocol, internalPort, 0, 0, signal);
  }

  close(): void {
    this.#x.close();
  }
}

/** NAT-PMP (RFC 6886) client. */
export class NatPmpClient implements MappingClient {
  readonly method = 'natpmp' as const;
  readonly #x: Exchange;
  readonly #epoch = new EpochWatch();

  constructor(readonly target: PcpTarget) {
    this.#x = new Exchange(target);
  }

  async externalIp(signal: AbortSignal): Promise<string | undefined> {
    const r = await this.#x.request(
      encodeNatPmpExternalRequest(),
      (msg) => {
        const d = decodeNatPmpResponse(msg);
        return d.op === 'external' ? d : undefined;
      },
      signal,
    );
    return r.externalIp;
  }

  async map(
    protocol: MappingProtocol,
    internalPort: number,
    externalPort: number,
    leaseSeconds: number,
    signal: AbortSignal,
  ): Promise<MappingGrant> {
    const r = await this.#x.request(
      encodeNatPmpMapRequest(protocol, internalPort, externalPort, leaseSeconds),
      (msg) => {
        const d = decodeNatPmpResponse(msg);
        return d.op === 'map' && d.protocol === protocol && d.internalPort === internalPort ? d : undefined;
      },
      signal,
    );
    return {
      externalPort: r.externalPort,
      lifetimeSeconds: r.lifetimeSeconds,
      routerRestarted: this.#epoch.restarted(r.epoch, performance.now()),
    };
  }

  async unmap(
    protocol: MappingProtocol,
    internalPort: number,
    _externalPort: number,
    signal: AbortSignal,
  ): Promise<void> {
    await this.map(protocol, internalPort, 0, 0, signal);
  }

  close(): void {
    this.#x.close();
  }
}
