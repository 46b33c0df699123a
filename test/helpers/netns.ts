/**
 * Network namespaces made by a test (root only; `ip` from iproute2, `nft` from nftables, `tc`).
 * Each namespace has only its loopback interface, with an MTU of 1500 (so packets are sized as on
 * a real link and `tc tbf` sees link-sized packets) and a documentation address (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24): no other address is ever used. The test removes it in a
 * `finally`, so a failed assertion does not leave it behind.
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** True when this process can make namespaces and the tools are there. */
export function canMakeNamespaces(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    execFileSync('tc', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface Namespace {
  readonly name: string;
  /** The documentation address on its loopback interface. */
  readonly address: string;
  /** Runs a command inside the namespace (synchronously; throws on a non-zero exit). */
  run(cmd: string, args: readonly string[], input?: string): void;
  /**
   * Runs `test/helpers/<script>` under tsx inside the namespace; resolves with its last stdout line
   * as JSON. `onLine` sees every stdout line as it comes.
   */
  node(
    script: string,
    args: readonly string[],
    timeoutMs: number,
    onLine?: (line: string) => void,
  ): Promise<Record<string, unknown>>;
  /** Removes the namespace and ends what still runs in it (by PID). */
  remove(): void;
}

let made = 0;

/** Makes a namespace with loopback up at MTU 1500 and, if given, `address`/32 on it. */
export function makeNamespace(address = ''): Namespace {
  const name = `shoal-test-${process.pid}-${made++}`;
  execFileSync('ip', ['netns', 'add', name]);
  const children = new Set<number>();
  const run = (cmd: string, args: readonly string[], input?: string) => {
    execFileSync('ip', ['netns', 'exec', name, cmd, ...args], {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
      ...(input !== undefined ? { input } : {}),
    });
  };
  const ns: Namespace = {
    name,
    address,
    run,
    node(script, args, timeoutMs, onLine) {
      const child = spawn(
        'ip',
        ['netns', 'exec', name, process.execPath, '--import', 'tsx', `test/helpers/${script}`, ...args],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      if (child.pid !== undefined) children.add(child.pid);
      let out = '';
      let err = '';
      let partial = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        partial += c.toString();
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) onLine?.(l);
      });
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
      });
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`${script} gave no result in ${timeoutMs} ms\n${err.slice(-2000)}`));
        }, timeoutMs);
        child.on('exit', (code) => {
          clearTimeout(timer);
          if (child.pid !== undefined) children.delete(child.pid);
          const last = out.trim().split('\n').at(-1) ?? '';
          if (code !== 0 || !last.startsWith('{'))
            reject(new Error(`${script} exited ${code}\n${out.slice(-2000)}\n${err.slice(-2000)}`));
          else resolve(JSON.parse(last) as Record<string, unknown>);
        });
      });
    },
    remove() {
      for (const pid of children) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      execFileSync('ip', ['netns', 'del', name]);
    },
  };
  try {
    run('ip', ['link', 'set', 'lo', 'up']);
    run('ip', ['link', 'set', 'lo', 'mtu', '1500']);
    if (address !== '') addLocal(run, address);
  } catch (e) {
    ns.remove();
    throw e;
  }
  return ns;
}

function addLocal(run: Namespace['run'], address: string): void {
  run('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']);
  // TCP to the address is CUBIC, Linux's default loss-based TCP (this machine's default may be
  // BBR, which does not fill queues and is not what LEDBAT is built to yield to).
  // (The sysctl is read-only here; a route's `congctl` picks it per destination.)
  run('ip', ['route', 'replace', 'local', address, 'dev', 'lo', 'table', 'local', 'congctl', 'cubic']);
}

/** Drops `percent` % of the UDP datagrams the namespace receives, at random (nftables `numgen random`). */
export function dropUdp(ns: Namespace, percent: number): void {
  ns.run(
    'nft',
    ['-f', '-'],
    `table inet shoal_impair {
  chain input {
    type filter hook input priority 0; policy accept;
    meta l4proto udp numgen random mod 100 < ${percent} counter drop
  }
}
`,
  );
}

/** Reads how many datagrams {@link dropUdp}'s rule dropped. */
export function droppedUdp(ns: Namespace): number {
  const out = execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'table', 'inet', 'shoal_impair'], {
    encoding: 'utf8',
  });
  const m = /counter packets (\d+)/.exec(out);
  return m === null ? 0 : Number(m[1]);
}

/**
 * A sender's namespace and a receiver's, joined through a router namespace whose link towards the
 * receiver is throttled with `tc tbf` (the queue sits at the router, as on a real path: a queue in
 * the sender's own qdisc would hold TCP back through TCP Small Queues, not UDP). Sender 192.0.2.2,
 * router 192.0.2.1 / 198.51.100.1, receiver 198.51.100.2; TCP between them is CUBIC.
 */
export interface ThrottledPath {
  readonly sender: Namespace;
  readonly receiver: Namespace;
  /** The router between them (its link towards the receiver is the throttled one). */
  readonly router: Namespace;
  readonly senderAddress: string;
  readonly receiverAddress: string;
  remove(): void;
}

export function makeThrottledPath(rate: string, latency: string): ThrottledPath {
  const made: Namespace[] = [];
  const remove = () => {
    for (const n of made.reverse()) n.remove();
  };
  try {
    const s = makeNamespace();
    made.push(s);
    const r = makeNamespace();
    made.push(r);
    const d = makeNamespace();
    made.push(d);
    s.run('ip', ['link', 'add', 'vs', 'type', 'veth', 'peer', 'name', 'rs', 'netns', r.name]);
    d.run('ip', ['link', 'add', 'vd', 'type', 'veth', 'peer', 'name', 'rd', 'netns', r.name]);
    s.run('ip', ['addr', 'add', '192.0.2.2/24', 'dev', 'vs']);
    s.run('ip', ['link', 'set', 'vs', 'up']);
    s.run('ip', ['route', 'add', '198.51.100.0/24', 'via', '192.0.2.1', 'congctl', 'cubic']);
    d.run('ip', ['addr', 'add', '198.51.100.2/24', 'dev', 'vd']);
    d.run('ip', ['link', 'set', 'vd', 'up']);
    d.run('ip', ['route', 'add', '192.0.2.0/24', 'via', '198.51.100.1', 'congctl', 'cubic']);
    r.run('ip', ['addr', 'add', '192.0.2.1/24', 'dev', 'rs']);
    r.run('ip', ['addr', 'add', '198.51.100.1/24', 'dev', 'rd']);
    r.run('ip', ['link', 'set', 'rs', 'up']);
    r.run('ip', ['link', 'set', 'rd', 'up']);
    r.run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    r.run('tc', [
      'qdisc',
      'add',
      'dev',
      'rd',
      'root',
      'tbf',
      'rate',
      rate,
      'burst',
      '16kb',
      'latency',
      latency,
    ]);
    return {
      sender: s,
      receiver: d,
      router: r,
      senderAddress: '192.0.2.2',
      receiverAddress: '198.51.100.2',
      remove,
    };
  } catch (e) {
    remove();
    throw e;
  }
}
