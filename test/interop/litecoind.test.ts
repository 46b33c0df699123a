/**
 * Interop: Shoal's pure Bitcoin core against Litecoin Core 0.21 (`litecoind`, Bitcoin Core's
 * networking with scrypt proof of work) in regtest on 127.0.0.1, over a raw node:net socket that
 * lives only in this test (the runtime comes later).
 *
 * One litecoind, one connection, in order: the version handshake (wtxidrelay, sendaddrv2,
 * sendheaders, sendcmpct 2); 2,100+ headers mined by `generatetodescriptor`, fetched with
 * getheaders and validated by a HeaderChain (scrypt); BIP 157 checkpoints, filter headers and a
 * filter checked against its header and against the filter Shoal builds from the block; a P2WPKH
 * and a P2PKH spend signed by Shoal and broadcast with `tx`, accepted into the mempool; then a
 * block mined with them, announced by `headers`, rebuilt from a BIP 152 compact block and Shoal's
 * own "mempool", and matched by its filter.
 *
 * litecoind is stopped by its PID and its data folder removed in `after()`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BtcFrameDecoder,
  type BtcMessage,
  basicFilter,
  buildBasicFilter,
  chainFilterHeaders,
  decodeHeader,
  encodeHeader,
  encodeMessage,
  encodeTransaction,
  filterHash,
  finishReconstruction,
  HeaderChain,
  hashFromHex,
  hashToHex,
  InvType,
  ipv4Mapped,
  isCoinbase,
  LITECOIN_REGTEST,
  PROTOCOL_VERSION,
  PrivateKey,
  p2pkhScript,
  p2wpkhScript,
  ServiceFlags,
  scriptToAddress,
  signP2pkhInput,
  signP2wpkhInput,
  startReconstruction,
  type Transaction,
  txid,
  verifyBlockCommitments,
  verifyFilter,
  wtxid,
} from '../../src/bitcoin/index.js';

const LITECOIND = '/usr/bin/litecoind';
// Like the other interop suites: without the client this fails loudly rather than skipping.
if (!existsSync(LITECOIND)) throw new Error('litecoind is not installed');

const P = LITECOIN_REGTEST;
/** Bound of each wait for litecoind (start, RPC, a message). */
const WAIT_MS = 30_000;
const BLOCKS = 2_100;
const KEY = PrivateKey.fromBytes(new Uint8Array(32).fill(0x42));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** litecoind, its RPC, and the output it printed (for failure messages). */
class Node {
  proc: ChildProcess | undefined;
  output = '';
  dir = '';
  rpcPort = 0;
  p2pPort = 0;
  #id = 0;

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'shoal-ltc-'));
    this.rpcPort = await freePort();
    this.p2pPort = await freePort();
    const args = [
      '-regtest',
      `-datadir=${this.dir}`,
      '-listen=1',
      '-bind=127.0.0.1',
      `-port=${this.p2pPort}`,
      '-rpcbind=127.0.0.1',
      '-rpcallowip=127.0.0.1',
      `-rpcport=${this.rpcPort}`,
      '-rpcuser=u',
      '-rpcpassword=p',
      '-blockfilterindex=1',
      '-peerblockfilters=1',
      '-txindex=1',
      '-dnsseed=0',
      '-discover=0',
      '-upnp=0',
      '-listenonion=0',
      '-disablewallet',
      '-printtoconsole=1',
      '-vbparams=mweb:-2:0',
    ];
    const proc = spawn(LITECOIND, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`litecoind not ready in ${WAIT_MS} ms`)), WAIT_MS);
      const onData = (b: Buffer) => {
        this.output = (this.output + b.toString()).slice(-20_000);
        if (this.output.includes('init message: Done loading')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`litecoind exited (${code}): ${this.output.slice(-2000)}`));
      });
    });
    await ready;
  }

  async rpc<T>(method: string, ...params: unknown[]): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.rpcPort}/`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ jsonrpc: '1.0', id: ++this.#id, method, params }),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    const body = (await res.json()) as { result: T; error: { message: string } | null };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  }

  async descriptor(d: string): Promise<string> {
    return (await this.rpc<{ descriptor: string }>('getdescriptorinfo', d)).descriptor;
  }

  /** Resolves once `check` returns true, asking every 100 ms, or rejects at the deadline. */
  async until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (proc !== undefined && proc.exitCode === null && proc.pid !== undefined) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      process.kill(proc.pid, 'SIGTERM');
      const timer = setTimeout(
        () => proc.pid !== undefined && proc.exitCode === null && process.kill(proc.pid, 'SIGKILL'),
        15_000,
      );
      await exited;
      clearTimeout(timer);
    }
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }
}

/** One P2P connection: frames out, decoded messages in, waited for by type. */
class Peer {
  readonly socket: Socket;
  readonly #decoder = new BtcFrameDecoder({ magic: P.magic });
  readonly #inbox: BtcMessage[] = [];
  #wake: (() => void) | undefined;
  #error: Error | undefined;
  readonly seen: string[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const m of this.#decoder.push(chunk)) {
          this.seen.push(m.type === 'unknown' ? m.command : m.type);
          if (m.type === 'ping') this.send({ type: 'pong', nonce: m.nonce });
          else this.#inbox.push(m);
        }
      } catch (e) {
        this.#error = e as Error;
      }
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#error ??= new Error('litecoind closed the connection');
      this.#wake?.();
    });
  }

  static async open(port: number): Promise<Peer> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new Peer(socket);
  }

  send(m: BtcMessage): void {
    this.socket.write(encodeMessage(P.magic, m));
  }

  /** The next message of `type` (others before it are dropped), within the deadline. */
  async next<T extends BtcMessage['type']>(
    type: T,
    accept: (m: Extract<BtcMessage, { type: T }>) => boolean = () => true,
  ): Promise<Extract<BtcMessage, { type: T }>> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const i = this.#inbox.findIndex(
        (m) => m.type === type && accept(m as Extract<BtcMessage, { type: T }>),
      );
      if (i >= 0) {
        const [m] = this.#inbox.splice(0, i + 1).slice(-1);
        return m as Extract<BtcMessage, { type: T }>;
      }
      if (this.#error !== undefined) throw this.#error;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no ${type} within ${WAIT_MS} ms (seen: ${this.seen.slice(-20).join(' ')})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Waits until litecoind has processed everything sent before (it answers messages in order). */
  async sync(): Promise<void> {
    const nonce = BigInt(Date.now()) * 1000n + BigInt(this.seen.length);
    this.send({ type: 'ping', nonce });
    await this.next('pong', (m) => m.nonce === nonce);
  }
}

describe('litecoind (regtest, scrypt): headers, filters, transactions, compact blocks', {
  timeout: 240_000,
}, () => {
  const node = new Node();
  let peer: Peer;
  const chain = new HeaderChain(P);
  const now = () => Math.floor(Date.now() / 1000);
  let headersPerSecond = 0;
  const coinbases: { script: Uint8Array; tx: Transaction; vout: number }[] = [];

  before(async () => {
    await node.start();
    // Heights 1 and 2 pay Shoal's key (P2PKH, P2WPKH); the rest mature them.
    const pub = Buffer.from(KEY.publicKey).toString('hex');
    await node.rpc('generatetodescriptor', 1, await node.descriptor(`pkh(${pub})`));
    await node.rpc('generatetodescriptor', 1, await node.descriptor(`wpkh(${pub})`));
    const anyone = await node.descriptor('raw(51)');
    for (let mined = 2; mined < BLOCKS; mined += 1000)
      await node.rpc('generatetodescriptor', Math.min(1000, BLOCKS - mined), anyone);
    peer = await Peer.open(node.p2pPort);
  });

  after(async () => {
    peer?.socket.destroy();
    await node.stop();
  });

  test('version handshake with BIP 339 and BIP 155 signals', async () => {
    peer.send({
      type: 'version',
      version: PROTOCOL_VERSION,
      services: 0n,
      timestamp: BigInt(now()),
      receiver: { services: 0n, ip: ipv4Mapped('127.0.0.1'), port: node.p2pPort },
      sender: { services: 0n, ip: new Uint8Array(16), port: 0 },
      nonce: 0x5348_4f41_4cn,
      userAgent: '/Shoal:0.1.0/',
      startHeight: 0,
      relay: true,
    });
    const v = await peer.next('version');
    assert.ok(v.version >= 70015, `protocol ${v.version}`);
    assert.ok((v.services & ServiceFlags.CompactFilters) !== 0n, 'litecoind advertises BIP 158 filters');
    assert.ok((v.services & ServiceFlags.Witness) !== 0n);
    assert.equal(v.startHeight, BLOCKS);
    assert.match(v.userAgent, /LitecoinCore/);
    peer.send({ type: 'wtxidrelay' });
    peer.send({ type: 'sendaddrv2' });
    peer.send({ type: 'verack' });
    await peer.next('verack');
    peer.send({ type: 'sendheaders' });
    peer.send({ type: 'sendcmpct', announce: false, version: 2n });
    await peer.sync();
  });

  test(`${BLOCKS}+ headers over getheaders, validated with scrypt proof of work`, async () => {
    let validateMs = 0;
    let count = 0;
    for (;;) {
      peer.send({
        type: 'getheaders',
        version: PROTOCOL_VERSION,
        locator: chain.locator(),
        stopHash: new Uint8Array(32),
      });
      const { headers } = await peer.next('headers');
      if (headers.length === 0) break;
      const t0 = performance.now();
      const r = chain.acceptHeaders(headers, now());
      validateMs += performance.now() - t0;
      assert.equal(r.error, undefined, String(r.error));
      count += headers.length;
      if (headers.length < 2000) break;
    }
    headersPerSecond = Math.round((count / validateMs) * 1000);
    console.log(
      `# validated ${count} scrypt headers in ${validateMs.toFixed(0)} ms: ${headersPerSecond} headers/s`,
    );
    assert.equal(chain.height, BLOCKS);
    assert.equal(hashToHex(chain.tip.hash), await node.rpc<string>('getbestblockhash'));
    assert.equal(hashToHex(chain.hashAt(1000)!), await node.rpc<string>('getblockhash', 1000));
  });

  test('BIP 157: checkpoints, filter headers and a filter, checked against each other and the block', async () => {
    const tipHash = chain.tip.hash;
    await node.until('the block filter index', async () => {
      const info =
        await node.rpc<Record<string, { synced: boolean; best_block_height: number }>>('getindexinfo');
      return info['basic block filter index']?.best_block_height === BLOCKS;
    });
    peer.send({ type: 'getcfcheckpt', filterType: 0, stopHash: tipHash });
    const cp = await peer.next('cfcheckpt');
    assert.equal(cp.filterHeaders.length, Math.floor(BLOCKS / 1000));
    const rpc1000 = await node.rpc<{ header: string }>('getblockfilter', hashToHex(chain.hashAt(1000)!));
    assert.equal(hashToHex(cp.filterHeaders[0]!), rpc1000.header);
    // Filter hashes of 1..1000 chain from the genesis filter header to the first checkpoint.
    const genesisFilter = await node.rpc<{ header: string }>('getblockfilter', hashToHex(P.genesisHash));
    peer.send({ type: 'getcfheaders', filterType: 0, startHeight: 1, stopHash: chain.hashAt(1000)! });
    const cfh = await peer.next('cfheaders');
    assert.equal(hashToHex(cfh.previousFilterHeader), genesisFilter.header);
    assert.equal(cfh.filterHashes.length, 1000);
    const derived = chainFilterHeaders(cfh.previousFilterHeader, cfh.filterHashes);
    assert.equal(hashToHex(derived[999]!), hashToHex(cp.filterHeaders[0]!));
    // The filters of heights 1 and 2 (Shoal's coinbases): valid under their headers, matching
    // Shoal's scripts, byte-equal to the filters Shoal builds from the blocks.
    peer.send({ type: 'getcfilters', filterType: 0, startHeight: 1, stopHash: chain.hashAt(2)! });
    const filters = [await peer.next('cfilter'), await peer.next('cfilter')];
    const scripts = [p2pkhScript(KEY.publicKeyHash), p2wpkhScript(KEY.publicKeyHash)];
    for (let i = 0; i < 2; i++) {
      const f = filters[i]!;
      assert.equal(hashToHex(f.blockHash), hashToHex(chain.hashAt(i + 1)!));
      verifyFilter(f.filter, i === 0 ? cfh.previousFilterHeader : derived[0]!, derived[i]!);
      assert.ok(basicFilter(f.filter, f.blockHash).match(scripts[i]!));
      assert.ok(!basicFilter(f.filter, f.blockHash).match(scripts[1 - i]!));
      peer.send({ type: 'getdata', items: [{ type: InvType.WitnessBlock, hash: f.blockHash }] });
      const { block } = await peer.next('block');
      verifyBlockCommitments(block);
      assert.equal(
        Buffer.from(buildBasicFilter(block, [])).toString('hex'),
        Buffer.from(f.filter).toString('hex'),
      );
      assert.equal(hashToHex(filterHash(f.filter)), hashToHex(cfh.filterHashes[i]!));
      const cb = block.txs[0]!;
      assert.ok(isCoinbase(cb));
      const vout = cb.outputs.findIndex((o) => Buffer.from(o.script).equals(scripts[i]!));
      assert.ok(vout >= 0);
      coinbases.push({ script: scripts[i]!, tx: cb, vout });
    }
  });

  test('P2WPKH and P2PKH spends signed by Shoal enter the mempool; the next block is rebuilt from a compact block', async () => {
    assert.equal(coinbases.length, 2);
    const fee = 100_000n;
    const spends: Transaction[] = [];
    for (const { script, tx, vout } of coinbases) {
      const amount = tx.outputs[vout]!.value;
      const unsigned: Transaction = {
        version: 2,
        inputs: [
          {
            prevout: { txid: txid(tx), index: vout },
            scriptSig: new Uint8Array(0),
            sequence: 0xfffffffe,
            witness: [],
          },
        ],
        outputs: [{ value: amount - fee, script: p2wpkhScript(KEY.publicKeyHash) }],
        lockTime: 0,
      };
      const signed =
        script.length === 22 ? signP2wpkhInput(unsigned, 0, KEY, amount) : signP2pkhInput(unsigned, 0, KEY);
      const check = await node.rpc<{ allowed: boolean; 'reject-reason'?: string }[]>('testmempoolaccept', [
        Buffer.from(encodeTransaction(signed)).toString('hex'),
      ]);
      assert.equal(check[0]!.allowed, true, check[0]!['reject-reason']);
      peer.send({ type: 'tx', tx: signed });
      spends.push(signed);
    }
    await peer.sync();
    const mempool = await node.rpc<string[]>('getrawmempool');
    for (const tx of spends)
      assert.ok(mempool.includes(hashToHex(txid(tx))), 'broadcast transaction in the mempool');
    assert.ok(scriptToAddress(spends[0]!.outputs[0]!.script, P)!.startsWith('rltc1q'));

    // A block with both: announced by `headers` (BIP 130), rebuilt from `cmpctblock` (BIP 152 v2).
    const [hash] = await node.rpc<string[]>('generatetodescriptor', 1, await node.descriptor('raw(51)'));
    const announced = await peer.next('headers');
    const r = chain.acceptHeaders(announced.headers, now());
    assert.equal(r.error, undefined);
    assert.equal(hashToHex(chain.tip.hash), hash);
    peer.send({ type: 'getdata', items: [{ type: InvType.CompactBlock, hash: hashFromHex(hash!) }] });
    const { compact } = await peer.next('cmpctblock');
    assert.equal(hashToHex(chain.tip.hash), hashToHex(chain.entry(hashFromHex(hash!))!.hash));
    assert.equal(
      Buffer.from(encodeHeader(compact.header)).toString('hex'),
      Buffer.from(chain.tip.raw).toString('hex'),
    );
    assert.equal(compact.shortIds.length, 2, 'the two spends travel as short ids');
    const ours = new Map(spends.map((tx) => [hashToHex(wtxid(tx)), tx]));
    const partial = startReconstruction(compact, ours, 2);
    assert.deepEqual(partial.missing, [], "every short id found in Shoal's mempool");
    const block = finishReconstruction(partial);
    assert.equal(block.txs.length, 3);
    // The filter of the new block matches the spent scripts and the new outputs.
    await node.until('the filter of the new block', async () => {
      const info = await node.rpc<Record<string, { best_block_height: number }>>('getindexinfo');
      return info['basic block filter index']?.best_block_height === BLOCKS + 1;
    });
    peer.send({ type: 'getcfilters', filterType: 0, startHeight: BLOCKS + 1, stopHash: chain.tip.hash });
    const f = await peer.next('cfilter');
    const filter = basicFilter(f.filter, f.blockHash);
    assert.ok(filter.match(p2pkhScript(KEY.publicKeyHash)), 'the spent P2PKH script');
    assert.ok(filter.match(p2wpkhScript(KEY.publicKeyHash)));
    assert.equal(
      Buffer.from(
        buildBasicFilter(
          block,
          coinbases.map((c) => c.script),
        ),
      ).toString('hex'),
      Buffer.from(f.filter).toString('hex'),
    );
    assert.ok(headersPerSecond > 0);
    assert.equal(decodeHeader(chain.tip.raw).prevHash.length, 32);
  });
});
