/**
 * BitTorrent on the inbound stage: the plaintext handshake (`\x13BitTorrent protocol`, BEP 3)
 * is recognized by its first bytes; anything else may be MSE/PE (its first bytes are a random
 * Diffie-Hellman key), so MSE is the stage's fallback. Both end in a {@link PeerConnection}
 * routed by its handshake's info-hash to its torrent, under the session's encryption policy:
 * `require` refuses plaintext, `disabled` refuses MSE.
 */
import { randomBytes } from 'node:crypto';
import type { InboundProtocol, Recognition } from '../../net/inbound.js';
import type { PeerStream } from '../../net/transport.js';
import { ErrorCode, ShoalError } from '../../shared/errors.js';
import { type Handshake, type MsePolicy, MseResponder, msePolicyPlan } from '../../wire/index.js';
import { MseStream } from './mse-stream.js';
import { PeerConnection } from './peer-connection.js';

/** The first 20 bytes of every plaintext BitTorrent handshake. */
const PROTOCOL_PREFIX = new Uint8Array(Buffer.from('\x13BitTorrent protocol', 'latin1'));

/**
 * Bytes of the prefix that claim a plaintext handshake: a stream that starts `\x13BitT` is
 * BitTorrent (an MSE key starts that way once in 2^40), and a wrong byte after that is the
 * handshake's error to report at once, not a reason to try it as MSE.
 */
const CLAIM_BYTES = 5;

/** Whether `head` starts a plaintext BitTorrent handshake. */
export function recognizeBitTorrent(head: Uint8Array): Recognition {
  const n = Math.min(head.length, CLAIM_BYTES);
  for (let i = 0; i < n; i++) if (head[i] !== PROTOCOL_PREFIX[i]) return 'no';
  return n === CLAIM_BYTES ? 'yes' : 'more';
}

/** Where an incoming connection goes once its handshake named an info-hash. */
export interface IncomingTarget {
  acceptIncoming(conn: PeerConnection, h: Handshake): boolean;
}

export interface BitTorrentInboundInit {
  readonly handshakeTimeoutMs: number;
  /** The torrent with this 20-byte wire info-hash, if any. */
  torrentFor(infoHash: Uint8Array): IncomingTarget | undefined;
  /** The encryption policy now. */
  encryption(): MsePolicy;
  /** The info-hash whose HASH('req2', info-hash) this is (MSE's SKEY lookup), if we serve it. */
  findSkey(req2Hash: Uint8Array): Uint8Array | undefined;
  /** A connection refused before it reached a torrent, and why (logs, tests). */
  onRefused?(stream: PeerStream, reason: string): void;
}

/**
 * Makes a connection of an accepted stream whose first bytes (already read) are `head`, routed by
 * info-hash; with `skey`, the handshake must name that torrent (the one MSE proved).
 */
export function acceptBitTorrent(
  init: BitTorrentInboundInit,
  stream: PeerStream,
  head: Uint8Array,
  acceptedAt: number,
  encrypted = false,
  skey?: Uint8Array,
): PeerConnection {
  const conn: PeerConnection = new PeerConnection({
    stream,
    encrypted,
    // The handshake's deadline counts from the accept, whatever came before (sniffing, MSE).
    handshakeTimeoutMs: Math.max(1, init.handshakeTimeoutMs - (performance.now() - acceptedAt)),
    handlers: {
      onHandshake: (h) => {
        if (skey !== undefined && Buffer.compare(skey, h.infoHash) !== 0) return false;
        return init.torrentFor(h.infoHash)?.acceptIncoming(conn, h) ?? false;
      },
      onMessages: () => {},
      onClose: () => {},
    },
  });
  conn.feed(head);
  return conn;
}

function refuse(init: BitTorrentInboundInit, stream: PeerStream, reason: string): void {
  init.onRefused?.(stream, reason);
  stream.destroy(new ShoalError(ErrorCode.NetRefused, reason, { address: stream.remoteAddress }));
}

/** The plaintext BitTorrent protocol of the inbound stage. */
export function plaintextBitTorrent(init: BitTorrentInboundInit): InboundProtocol {
  return {
    name: 'bittorrent',
    recognize: recognizeBitTorrent,
    take: (stream, head, acceptedAt) => {
      if (!msePolicyPlan(init.encryption()).acceptPlaintext)
        refuse(init, stream, 'plaintext connection refused: encryption is required');
      else acceptBitTorrent(init, stream, head, acceptedAt);
    },
  };
}

/** MSE/PE as the inbound stage's fallback: the responder's handshake, then BitTorrent inside it. */
export function encryptedBitTorrent(init: BitTorrentInboundInit): InboundProtocol {
  return {
    name: 'mse',
    recognize: () => 'yes',
    take: (stream, head, acceptedAt) => {
      const accept = msePolicyPlan(init.encryption()).accept;
      if (accept === undefined) {
        refuse(init, stream, 'not a BitTorrent handshake, and encryption is disabled');
        return;
      }
      const responder = new MseResponder({
        findSkey: (h) => init.findSkey(h),
        allow: accept.allow,
        prefer: accept.prefer,
        random: randomBytes,
      });
      let done = false;
      const timer = setTimeout(
        () => {
          if (done) return;
          done = true;
          refuse(init, stream, 'the encrypted handshake did not finish in time');
        },
        Math.max(1, init.handshakeTimeoutMs - (performance.now() - acceptedAt)),
      );
      timer.unref();
      const onChunk = (chunk: Uint8Array) => {
        if (done) return;
        let step: ReturnType<MseResponder['push']>;
        try {
          step = responder.push(chunk);
        } catch (e) {
          done = true;
          clearTimeout(timer);
          refuse(init, stream, `bad encrypted handshake: ${(e as Error).message}`);
          return;
        }
        if (step.send !== undefined) stream.write(step.send);
        const r = step.result;
        if (r === undefined) return;
        done = true;
        clearTimeout(timer);
        const payload = new Uint8Array(r.ia.length + r.rest.length);
        payload.set(r.ia);
        payload.set(r.rest, r.ia.length);
        const s = r.method === 'rc4' ? new MseStream(stream, r.encrypt, r.decrypt) : stream;
        acceptBitTorrent(init, s, payload, acceptedAt, r.method === 'rc4', r.skey);
      };
      stream.bind({
        data: onChunk,
        drain: () => {},
        close: () => {
          done = true;
          clearTimeout(timer);
        },
      });
      onChunk(head);
    },
  };
}
