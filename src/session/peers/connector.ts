/**
 * The one dial path for BitTorrent connections — torrents, metadata fetches and whatever comes
 * later: dials through the session's transports and sends our handshake, so the caller only has
 * to wait for the peer's. Encryption (MSE/PE) and the choice between transports are decided here.
 */
import type { AddressHints } from '../../net/peer-pool.js';
import type { PeerStream, Transport } from '../../net/transport.js';
import { ErrorCode, ShoalError } from '../../shared/errors.js';
import { encodeHandshake, type Handshake } from '../../wire/index.js';

/** A dialled stream with our handshake sent. */
export interface OpenedStream {
  readonly stream: PeerStream;
  /** Bytes already read from the peer (after an encryption handshake), to decode first. */
  readonly initial: Uint8Array;
  readonly encrypted: boolean;
}

export interface BtConnectorInit {
  /** Transports in order of preference. */
  readonly transports: readonly Transport[];
  /** Time a dial may take, ms. */
  readonly connectTimeoutMs: number;
}

const EMPTY = new Uint8Array(0);

export class BtConnector {
  readonly #init: BtConnectorInit;

  constructor(init: BtConnectorInit) {
    this.#init = init;
  }

  /** Dials `host:port` and sends `handshake`. Rejects with a `ShoalError` when no transport gets through. */
  async connect(
    host: string,
    port: number,
    handshake: Handshake,
    _hints: AddressHints,
    signal?: AbortSignal,
  ): Promise<OpenedStream> {
    let last: unknown;
    for (const t of this.#init.transports) {
      if (signal?.aborted) break;
      try {
        const stream = await t.dial(host, port, {
          timeoutMs: this.#init.connectTimeoutMs,
          ...(signal !== undefined ? { signal } : {}),
        });
        stream.write(encodeHandshake(handshake));
        return { stream, initial: EMPTY, encrypted: false };
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof ShoalError
      ? last
      : new ShoalError(
          ErrorCode.NetConnectFailed,
          `no transport reached ${host}:${port}`,
          { host, port },
          { cause: last },
        );
  }
}
