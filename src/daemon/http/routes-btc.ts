/**
 * The `/api/v1/btc` routes: the daemon's Bitcoin light node (tip, sync progress, peers, watched
 * items, balance), its wallet history, and watching an address or descriptor. When the daemon
 * runs without a node (the default) they answer 404 `SHOAL_ERR_API_NOT_FOUND` saying how to
 * start one.
 */
import { ErrorCode } from '../../shared/errors.js';
import type { BtcService } from '../btc-service.js';
import { apiError } from '../errors.js';
import type { ApiRoutes } from './route.js';
import * as S from './schemas.js';

const TAGS = ['bitcoin'];

const Balance = {
  type: 'object',
  description: 'base units (satoshis), decimal strings',
  properties: {
    confirmed: { type: 'string' },
    unconfirmed: { type: 'string' },
    immature: { type: 'string' },
    utxoCount: { type: 'integer' },
  },
};

const Watched = {
  type: 'object',
  properties: {
    descriptor: { type: 'string' },
    address: { type: ['string', 'null'] },
    label: { type: 'string' },
    rescanFrom: { type: 'integer' },
  },
};

const BtcInfo = {
  type: 'object',
  properties: {
    network: { type: 'string' },
    tip: {
      type: 'object',
      properties: { height: { type: 'integer' }, hash: { type: 'string' }, time: { type: 'integer' } },
    },
    bestKnownHeight: { type: 'integer', description: 'highest height a peer showed' },
    synced: { type: 'boolean' },
    headersCaughtUp: { type: 'boolean' },
    filterHeaderHeight: { type: 'integer' },
    scannedHeight: { type: 'integer' },
    peers: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          endpoint: { type: 'string' },
          outgoing: { type: 'boolean' },
          ready: { type: 'boolean' },
          userAgent: { type: 'string' },
          filters: { type: 'boolean' },
          bestHeight: { type: 'integer' },
          pingMs: { type: ['number', 'null'] },
          bytesIn: { type: 'integer' },
          bytesOut: { type: 'integer' },
          syncing: { type: 'boolean' },
        },
      },
    },
    watched: { type: 'array', items: Watched },
    balance: Balance,
  },
};

const HistoryEntry = {
  type: 'object',
  properties: {
    txid: { type: 'string' },
    delta: { type: 'string', description: 'balance change, base units (decimal, may be negative)' },
    height: { type: ['integer', 'null'] },
    blockHash: { type: ['string', 'null'] },
    confirmations: { type: 'integer' },
    time: { type: 'integer', description: 'block time, else first seen; Unix seconds' },
    coinbase: { type: 'boolean' },
  },
};

const WatchBody = {
  type: 'object',
  additionalProperties: false,
  required: ['item'],
  properties: {
    item: { type: 'string', minLength: 1, maxLength: 1024, description: 'an address or output descriptor' },
    label: { type: 'string', maxLength: 200 },
    rescanFrom: { type: 'integer', minimum: 0, description: 'scan from this height; default the next block' },
  },
};

const OFF = {
  description: 'the daemon runs no Bitcoin node (start it with --btc <network>)',
  schema: S.ErrorBody,
};

/** Registers the Bitcoin routes; `btc()` is the running node, if any. */
export function registerBtcRoutes(api: ApiRoutes, btc: () => BtcService | undefined): void {
  const node = (): BtcService => {
    const s = btc();
    if (s === undefined)
      throw apiError(
        ErrorCode.ApiNotFound,
        'the daemon runs no Bitcoin node (start it with --btc <network> and --btc-peer <host:port>)',
      );
    return s;
  };

  api.add(
    {
      method: 'GET',
      url: '/api/v1/btc',
      operationId: 'getBitcoin',
      summary: 'The Bitcoin light node',
      description:
        'Tip, sync progress (headers, filter headers, wallet scan), peers, watched addresses and the balance.',
      tags: TAGS,
      responses: { 200: { description: 'the node', schema: BtcInfo }, 404: OFF },
    },
    async () => node().info(),
  );

  api.add(
    {
      method: 'GET',
      url: '/api/v1/btc/history',
      operationId: 'getBitcoinHistory',
      summary: 'Wallet history',
      description: 'Transactions paying to or from the watched items, with confirmations.',
      tags: TAGS,
      responses: {
        200: {
          description: 'the history',
          schema: { type: 'object', properties: { history: { type: 'array', items: HistoryEntry } } },
        },
        404: OFF,
      },
    },
    async () => ({ history: node().history() }),
  );

  api.add(
    {
      method: 'POST',
      url: '/api/v1/btc/watch',
      operationId: 'watchBitcoin',
      summary: 'Watch an address or descriptor',
      description: 'Its payments from `rescanFrom` on are found by the wallet scan (compact block filters).',
      tags: TAGS,
      body: WatchBody,
      responses: {
        201: { description: 'the watched item', schema: Watched },
        400: { description: 'not an address or descriptor of this network', schema: S.ErrorBody },
        404: OFF,
      },
    },
    async (req, reply) => {
      const b = req.body as { item: string; label?: string; rescanFrom?: number };
      const w = await node().watch(b.item, {
        ...(b.label !== undefined ? { label: b.label } : {}),
        ...(b.rescanFrom !== undefined ? { rescanFrom: b.rescanFrom } : {}),
      });
      return reply.code(201).send(w);
    },
  );
}
