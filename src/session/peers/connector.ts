/**
 * The one dial path for BitTorrent connections — torrents, metadata fetches and whatever comes
 * later. It dials through the session's transports, runs the encryption policy (MSE/PE,
 * src/wire/mse) with its fallbacks, sends our handshake and returns once the peer's handshake
 * arrived, so a connection is only handed out when it speaks BitTorrent with us.
 *
 * Policies (`encryption`, see {@link msePolicyPlan}): `disabled` dials plaintext only;
 * `enabled` dials plaintext and retries encrypted when the peer hangs up before answering;
 * `prefer` dials encrypted and falls back to plaintext; `require` dials encrypted only. An
 * address that worked encrypted before, or that PEX says prefers encryption, is dialled
 * encrypted first under `enabled`.
 */
import { randomBytes } from 'node:crypto';
import type { AddressHints } from '../../net/peer-pool.js';
import type { PeerStream, Transport } from '../../net/transport.js';
import { ErrorCode, ShoalError } from '../../shared/errors.js';
import {
  encodeHandshake,
  HANDSHAKE_BYTES,
  type Handshake,
  type MseDialAttempt,
  MseInitiator,
  type MseInitiatorResult,
  type MsePolicy,
  msePolicyPlan,
} from '../../wire/index.js';
import { MseStream } from './mse-stream.js';

/** A dialled stream, our handshake sent and the peer's received. */
export interface OpenedStream {
  readonly stream: PeerStream;
  /**
   * What was read so far, starting with the peer's handshake (decrypted): decode it first. The
   * stream is paused: the new owner binds it, then resumes it.
   */
  readonly initial: Uint8Array;
  readonly encrypted: boolean;
}

export interface BtConnectorInit {
  /** Transports in order of preference. */
  readonly transports: readonly Transport[];
  /** Time a dial may take, ms. */
  readonly connectTimeoutMs: number;
  /** Time the peer has for its part of the handshake (MSE, then BitTorrent), ms. */
  readonly handshakeTimeoutMs: number;
  /** The encryption policy now (a setting that may change). */
  encryption(): MsePolicy;
}

export class BtConnector {
  readonly #init: BtConnectorInit;

  constructor(init: BtConnectorInit) {
    this.#init = init;
  }

  /**
   * Opens a BitTorrent connection to `host:port` (see the module notes). Rejects with a
   * `ShoalError` whose message says what each attempt met.
   */
  async connect(
    host: string,
    port: number,
    handshake: Handshake,
    hints: AddressHints,
    signal?: AbortSignal,
  ): Promise<OpenedStream> {
    const policy = this.#init.encryption();
    const attempts = [...msePolicyPlan(policy).dial];
    if (policy === 'enabled' && (hints.encrypted === true || hints.prefersEncryption === true))
      attempts.reverse();
    const failures: string[] = [];
    let last: unknown;
    for (const a of attempts) {
      if (signal?.aborted) break;
      try {
        return await this.#attempt(a, host, port, handshake, signal);
      } catch (e) {
        last = e;
        failures.push(`${a.kind === 'mse' ? 'encrypted' : 'plaintext'}: ${(e as Error).message}`);
        // A peer we could not reach at all (nor the proxy to it) will not be reached by another
        // handshake either; nor will one that is merely slow (it did not hang up on this
        // handshake: only a hang-up says "try the other kind", as libtorrent reads it).
        if (
          e instanceof ShoalError &&
          (((e.code === ErrorCode.NetConnectFailed || e.code === ErrorCode.NetProxy) &&
            e.details.dial === true) ||
            e.code === ErrorCode.NetTimeout)
        )
          break;
      }
    }
    throw new ShoalError(
      last instanceof ShoalError ? last.code : ErrorCode.NetConnectFailed,
      `${host}:${port}: ${failures.join('; ') || 'aborted'}`,
      { host, port },
      { cause: last },
    );
  }

  async #dial(host: string, port: number, signal: AbortSignal | undefined): Promise<PeerStream> {
    let last: unknown;
    for (const t of this.#init.transports) {
      try {
        return await t.dial(host, port, {
          timeoutMs: this.#init.connectTimeoutMs,
          ...(signal !== undefined ? { signal } : {}),
        });
      } catch (e) {
        last = e;
      }
    }
    const message = last instanceof Error ? last.message : 'no transport';
    throw new ShoalError(
      last instanceof ShoalError ? last.code : ErrorCode.NetConnectFailed,
      message,
      { host, port, dial: true },
      { cause: last },
    );
  }

  async #attempt(
    a: MseDialAttempt,
    host: string,
    port: number,
    handshake: Handshake,
    signal: AbortSignal | undefined,
  ): Promise<OpenedStream> {
    const raw = await this.#dial(host, port, signal);
    const deadline = performance.now() + this.#init.handshakeTimeoutMs;
    try {
      const ours = encodeHandshake(handshake);
      if (a.kind === 'plaintext') {
        raw.write(ours);
        return {
          stream: raw,
          initial: await readHandshake(raw, new Uint8Array(0), deadline),
          encrypted: false,
        };
      }
      const init = new MseInitiator({
        skey: handshake.infoHash,
        provide: a.provide,
        ia: ours,
        random: randomBytes,
      });
      raw.write(init.start());
      const result = await runInitiator(raw, init, deadline);
      const stream = result.method === 'rc4' ? new MseStream(raw, result.encrypt, result.decrypt) : raw;
      return {
        stream,
        initial: await readHandshake(stream, result.rest, deadline),
        encrypted: result.method === 'rc4',
      };
    } catch (e) {
      raw.destroy();
      throw e;
    }
  }
}

/** Runs an MSE initiator on `stream` until it has a result. */
function runInitiator(stream: PeerStream, init: MseInitiator, deadline: number): Promise<MseInitiatorResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new ShoalError(ErrorCode.NetTimeout, 'no answer to the encrypted handshake', {})),
      Math.max(0, deadline - performance.now()),
    );
    timer.unref();
    let done = false;
    const finish = () => {
      done = true;
      clearTimeout(timer);
    };
    stream.bind({
      data: (chunk) => {
        if (done) return;
        try {
          const step = init.push(chunk);
          if (step.send !== undefined) stream.write(step.send);
          if (step.result !== undefined) {
            finish();
            // Bytes after the handshake's own are in `rest`: nothing more is read until the
            // next stage binds.
            stream.pause();
            resolve(step.result);
          }
        } catch (e) {
          finish();
          reject(e);
        }
      },
      drain: () => {},
      close: (error) => {
        if (done) return;
        finish();
        reject(
          new ShoalError(
            ErrorCode.NetRefused,
            `closed during the encrypted handshake${error ? `: ${error.message}` : ''}`,
            {},
          ),
        );
      },
    });
  });
}

/**
 * Reads from `stream` (after `prefix`) until a whole BitTorrent handshake is in, then pauses the
 * stream and resolves with everything read. A peer that hangs up first refused us.
 */
function readHandshake(stream: PeerStream, prefix: Uint8Array, deadline: number): Promise<Uint8Array> {
  if (prefix.length >= HANDSHAKE_BYTES) {
    stream.pause();
    return Promise.resolve(prefix);
  }
  return new Promise((resolve, reject) => {
    let got = prefix;
    let done = false;
    const timer = setTimeout(
      () => {
        done = true;
        reject(new ShoalError(ErrorCode.NetTimeout, 'no handshake from the peer in time', {}));
      },
      Math.max(0, deadline - performance.now()),
    );
    timer.unref();
    stream.bind({
      data: (chunk) => {
        if (done) return;
        const next = new Uint8Array(got.length + chunk.length);
        next.set(got);
        next.set(chunk, got.length);
        got = next;
        if (got.length < HANDSHAKE_BYTES) return;
        done = true;
        clearTimeout(timer);
        stream.pause();
        resolve(got);
      },
      drain: () => {},
      close: (error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(
          new ShoalError(
            ErrorCode.NetRefused,
            `closed before its handshake${error ? `: ${error.message}` : ''}`,
            {},
          ),
        );
      },
    });
    stream.resume();
  });
}
