/**
 * `shoal btc`: the Bitcoin-protocol light node (BIP 157/158) and its watch-only wallet.
 *
 *   shoal btc sync [--until-synced] [--timeout S]      headers, filter headers, wallet scan
 *   shoal btc status | balance | history [--json]      what the data folder holds (offline)
 *   shoal btc watch <address|descriptor> [--rescan-from H] [--label L]
 *   shoal btc tx <txid> [--json]                       one wallet transaction, with its proof
 *   shoal btc send --key FILE --to ADDR --amount SATS [--fee-rate SAT/VB] [--allow-mainnet]
 *
 * Every command takes `--network` (`mainnet`, `testnet4`, `signet`, `regtest`,
 * `litecoin-regtest`), `--peer host:port` (repeatable; only those peers are dialled) and
 * `--data-dir` (default `$XDG_DATA_HOME/shoal/btc/<network>`, else `~/.local/share/shoal/btc/…`),
 * where headers and the wallet persist between runs. `sync --until-synced` exits 0 once caught up
 * with its peers and prints the tip's height and hash.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { type Command, InvalidArgumentError } from 'commander';
import { NETWORKS } from '../../bitcoin/chain/params.js';
import type { BtcNode } from '../../btc-node/node.js';
import { defaultStateDir } from '../../daemon/options.js';
import { UsageError } from '../output.js';

/** Short network names the CLI accepts beside the library's. */
const NETWORK_ALIASES: Readonly<Record<string, string>> = {
  mainnet: 'bitcoin',
  testnet4: 'bitcoin-testnet4',
  signet: 'bitcoin-signet',
  regtest: 'bitcoin-regtest',
};

/** Options every `shoal btc` command takes. */
export interface BtcCommonOptions {
  readonly network: string;
  readonly peer: readonly string[];
  readonly dataDir?: string;
  readonly json?: boolean;
}

/** The library's network name for a CLI one; `UsageError` when unknown. */
export function btcNetworkName(text: string): string {
  const name = NETWORK_ALIASES[text] ?? text;
  if (NETWORKS[name] === undefined) {
    throw new UsageError(
      `unknown network "${text}" (known: ${[...Object.keys(NETWORK_ALIASES), 'litecoin-regtest'].join(', ')})`,
    );
  }
  return name;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

function withCommon(c: Command): Command {
  return c
    .option('--network <name>', 'mainnet, testnet4, signet, regtest or litecoin-regtest', 'mainnet')
    .option('--peer <host:port>', 'a peer to connect to (repeatable; only these are dialled)', collect, [])
    .option('--data-dir <dir>', 'headers and wallet folder (default: the user data folder)')
    .option('--json', 'print JSON');
}

/**
 * Keeps V8's heap close to what a `shoal btc` process holds. A header sync keeps most of what it
 * allocates (the chain's entries), and by default (1) every scavenge that promotes a lot doubles
 * the young generation, up to the `#!` line's 8 MiB cap: 16 MiB of resident memory that holds
 * nothing; (2) the old generation's next limit is set up to several times what survived. Here the
 * young generation keeps its first size (1 MiB a semi-space) and the old one grows by half of
 * what survived. Measured syncing 20,000 headers: peak RSS 86 → 71 MiB, at the same speed
 * (docs/BENCHMARKS.md, bench:btc). Both flags are read when the heap next grows, so setting them
 * before the node loads is enough.
 */
function tuneHeapForLightNode(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--heap-growing-percent=50');
}

async function openNode(o: BtcCommonOptions, extra: { allowMainnetSpends?: boolean } = {}): Promise<BtcNode> {
  const network = btcNetworkName(o.network);
  tuneHeapForLightNode();
  // Loaded here, not at the top: every other shoal command runs without the Bitcoin layers.
  const { BtcNode } = await import('../../btc-node/node.js');
  return BtcNode.open({
    network,
    dataDir: o.dataDir ?? join(defaultStateDir(), 'btc', network),
    peers: o.peer,
    ...(o.peer.length > 0 ? { dnsSeeds: [] } : {}),
    ...extra,
  });
}

function print(o: BtcCommonOptions, value: unknown, text: string): void {
  process.stdout.write(
    o.json === true
      ? `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`
      : `${text}\n`,
  );
}

/** Runs `fn` on an opened node and always closes it (files flushed, wallet saved). */
async function withNode<T>(o: BtcCommonOptions, fn: (node: BtcNode) => Promise<T>, extra = {}): Promise<T> {
  const node = await openNode(o, extra);
  try {
    return await fn(node);
  } finally {
    await node.close();
  }
}

/** An abort signal for `--timeout` seconds and Ctrl-C. */
function stopSignal(timeoutS: number | undefined): AbortSignal {
  const ctl = new AbortController();
  const onSig = () => ctl.abort(new Error('interrupted'));
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  const signals = [ctl.signal];
  if (timeoutS !== undefined) signals.push(AbortSignal.timeout(timeoutS * 1000));
  return AbortSignal.any(signals);
}

export function registerBtcCommands(program: Command): void {
  const btc = program
    .command('btc')
    .description('a Bitcoin-protocol light node (BIP 157/158) with a watch-only wallet');

  withCommon(btc.command('sync'))
    .description('sync headers, filter headers and the wallet from peers')
    .option('--until-synced', 'exit 0 once caught up with the peers, printing the tip')
    .option('--timeout <s>', 'give up after this many seconds (exit 1)', positiveNumber)
    .action(async (o: BtcCommonOptions & { untilSynced?: boolean; timeout?: number }) => {
      await withNode(o, async (node) => {
        const signal = stopSignal(o.timeout);
        node.start();
        const report = () => {
          const s = node.status();
          print(o, s, `synced ${s.tip.height} ${s.tip.hash}`);
        };
        if (o.untilSynced === true) {
          await node.synced(signal);
          report();
          return;
        }
        node.on('synced', report);
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
      });
    });

  withCommon(btc.command('status'))
    .description('tip, filter headers, wallet scan height and watched items (offline)')
    .action(async (o: BtcCommonOptions) => {
      await withNode(o, async (node) => {
        const s = node.status();
        print(
          o,
          s,
          [
            `network ${node.params.name}`,
            `tip ${s.tip.height} ${s.tip.hash}`,
            `filter headers ${s.filterHeaderHeight}`,
            `scanned ${s.scannedHeight}`,
            `watching ${node.wallet.watched().length}`,
          ].join('\n'),
        );
      });
    });

  withCommon(btc.command('watch <item>'))
    .description('watch an address or an output descriptor (the next sync scans for it)')
    .option('--rescan-from <height>', 'scan from this height', nonNegativeInt)
    .option('--label <text>', 'a label')
    .action(async (item: string, o: BtcCommonOptions & { rescanFrom?: number; label?: string }) => {
      await withNode(o, async (node) => {
        const w = await node.watch(item, {
          ...(o.rescanFrom !== undefined ? { rescanFrom: o.rescanFrom } : {}),
          ...(o.label !== undefined ? { label: o.label } : {}),
        });
        print(o, { descriptor: w.descriptor, address: w.address, rescanFrom: w.rescanFrom }, w.descriptor);
      });
    });

  withCommon(btc.command('balance'))
    .description('confirmed, unconfirmed and immature balance, base units (offline)')
    .action(async (o: BtcCommonOptions) => {
      await withNode(o, async (node) => {
        const b = node.balance();
        print(
          o,
          b,
          `confirmed ${b.confirmed}\nunconfirmed ${b.unconfirmed}\nimmature ${b.immature}\nutxos ${b.utxoCount}`,
        );
      });
    });

  withCommon(btc.command('history'))
    .description('wallet transactions with confirmations (offline)')
    .action(async (o: BtcCommonOptions) => {
      await withNode(o, async (node) => {
        const h = node.history();
        print(
          o,
          h,
          h.map((e) => `${e.txid} ${e.delta} ${e.height ?? 'unconfirmed'} ${e.confirmations}`).join('\n'),
        );
      });
    });

  withCommon(btc.command('tx <txid>'))
    .description('a wallet transaction with its merkle inclusion proof (offline)')
    .action(async (txid: string, o: BtcCommonOptions) => {
      await withNode(o, async (node) => {
        const t = await node.transaction(txid);
        if (t === undefined) throw new UsageError(`transaction ${txid} is not in the wallet`);
        print(
          o,
          t,
          `${t.txid} confirmations ${t.confirmations} height ${t.height ?? '-'} proof ${t.proofVerified ? 'verified' : 'none'}`,
        );
      });
    });

  withCommon(btc.command('send'))
    .description('sign a P2WPKH/P2PKH spend from a key file, broadcast it, wait until a peer fetched it')
    .requiredOption('--key <file>', 'a file holding the private key (WIF or 64 hex digits)')
    .requiredOption('--to <address>', 'the destination address')
    .requiredOption('--amount <sats>', 'base units to send', nonNegativeInt)
    .option('--fee-rate <sat/vB>', 'fee rate', positiveNumber, 2)
    .option('--timeout <s>', 'give up after this many seconds (exit 1)', positiveNumber, 120)
    .option('--allow-mainnet', 'sign a mainnet spend')
    .action(
      async (
        o: BtcCommonOptions & {
          key: string;
          to: string;
          amount: number;
          feeRate: number;
          timeout: number;
          allowMainnet?: boolean;
        },
      ) => {
        const key = (await readFile(o.key, 'utf8')).trim();
        await withNode(
          o,
          async (node) => {
            const signal = stopSignal(o.timeout);
            node.start();
            await node.synced(signal);
            const spend = node.createSpend({ key, to: o.to, amount: BigInt(o.amount), feeRate: o.feeRate });
            const { txid, fetched } = node.broadcast(spend.tx);
            const aborted = new Promise<never>((_, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
            );
            const peer = await Promise.race([fetched, aborted]);
            print(o, { txid, fee: spend.fee, fetchedBy: peer }, txid);
          },
          { allowMainnetSpends: o.allowMainnet === true },
        );
      },
    );
}
