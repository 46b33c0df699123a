/**
 * Two homes, each behind its own NAT router, and an "internet" between them, in network
 * namespaces (root only), for BEP 55 holepunching tests. Documentation ranges only:
 *
 *   internet  203.0.113.1 on a bridge that joins both routers' WAN sides
 *   router A  WAN 203.0.113.2, LAN 192.0.2.1     home A  192.0.2.10     (default via router A)
 *   router B  WAN 203.0.113.3, LAN 198.51.100.1  home B  198.51.100.10  (default via router B)
 *
 * Each router masquerades what leaves its WAN side (Linux keeps the source port when it is
 * free: an endpoint-independent mapping) and, like a home router, drops anything new that comes
 * in from the WAN side (its own input and what it would forward): only answers to what a home
 * host sent pass. A home is reachable from outside only through a hole its own traffic opened.
 * `destroy()` deletes the namespaces (their veths, bridge and nft rules go with them); processes
 * started inside are the caller's and must be stopped first.
 */
import { execFileSync } from 'node:child_process';

export const INTERNET_IP = '203.0.113.1';
export const ROUTER_A_WAN = '203.0.113.2';
export const ROUTER_B_WAN = '203.0.113.3';
export const HOME_A_IP = '192.0.2.10';
export const HOME_B_IP = '198.51.100.10';
const NFT_TABLE = 'shoalhp';

const run = (args: readonly string[], input?: string) =>
  execFileSync(args[0]!, args.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 10_000,
    ...(input !== undefined && { input }),
  }).toString();

/** Why these tests cannot run here, or undefined. */
export function holepunchLabMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const [bin, pkg] of [
    ['ip', 'iproute2'],
    ['nft', 'nftables'],
  ] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed (apt-get install ${pkg})`;
    }
  }
  return undefined;
}

export class HolepunchLab {
  /** Short unique suffix (interface names are at most 15 bytes). */
  readonly id = `${process.pid % 100_000}${Math.floor(performance.now()) % 1000}`;
  readonly internet = `shoal-hpi-${this.id}`;
  readonly routerA = `shoal-hpra-${this.id}`;
  readonly routerB = `shoal-hprb-${this.id}`;
  readonly homeA = `shoal-hpha-${this.id}`;
  readonly homeB = `shoal-hphb-${this.id}`;
  #made: string[] = [];

  /** Builds the five namespaces; on failure removes what it made and throws. */
  create(): void {
    try {
      for (const ns of [this.internet, this.routerA, this.routerB, this.homeA, this.homeB]) {
        run(['ip', 'netns', 'add', ns]);
        this.#made.push(ns);
        run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      }
      const I = this.internet;
      const br = `br${this.id}`;
      run(['ip', '-n', I, 'link', 'add', br, 'type', 'bridge']);
      run(['ip', '-n', I, 'addr', 'add', `${INTERNET_IP}/24`, 'dev', br]);
      run(['ip', '-n', I, 'link', 'set', br, 'up']);
      this.#home('a', this.routerA, this.homeA, ROUTER_A_WAN, '192.0.2.1', HOME_A_IP, br);
      this.#home('b', this.routerB, this.homeB, ROUTER_B_WAN, '198.51.100.1', HOME_B_IP, br);
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  #home(tag: string, R: string, H: string, wanIp: string, lanIp: string, homeIp: string, br: string): void {
    const I = this.internet;
    const wan = `w${tag}${this.id}`;
    const lan = `l${tag}${this.id}`;
    const inet = `i${tag}${this.id}`;
    const home = `h${tag}${this.id}`;
    run(['ip', '-n', R, 'link', 'add', wan, 'type', 'veth', 'peer', 'name', inet, 'netns', I]);
    run(['ip', '-n', I, 'link', 'set', inet, 'master', br]);
    run(['ip', '-n', I, 'link', 'set', inet, 'up']);
    run(['ip', '-n', R, 'link', 'add', lan, 'type', 'veth', 'peer', 'name', home, 'netns', H]);
    run(['ip', '-n', R, 'addr', 'add', `${wanIp}/24`, 'dev', wan]);
    run(['ip', '-n', R, 'link', 'set', wan, 'up']);
    run(['ip', '-n', R, 'addr', 'add', `${lanIp}/24`, 'dev', lan]);
    run(['ip', '-n', R, 'link', 'set', lan, 'up']);
    run(['ip', '-n', H, 'addr', 'add', `${homeIp}/24`, 'dev', home]);
    run(['ip', '-n', H, 'link', 'set', home, 'up']);
    run(['ip', '-n', H, 'route', 'add', 'default', 'via', lanIp]);
    run(['ip', 'netns', 'exec', R, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    run(
      ['ip', 'netns', 'exec', R, 'nft', '-f', '-'],
      `table inet ${NFT_TABLE} {
  chain input { type filter hook input priority 0; policy accept; iifname "${wan}" ct state established,related accept; iifname "${wan}" counter drop; }
  chain forward { type filter hook forward priority 0; policy accept; iifname "${wan}" ct state established,related accept; iifname "${wan}" counter drop; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; oifname "${wan}" masquerade; }
}
`,
    );
  }

  /** Packets router A (`'a'`) or B dropped coming in from the internet (new, unsolicited). */
  dropped(router: 'a' | 'b'): number {
    const text = run([
      'ip',
      'netns',
      'exec',
      router === 'a' ? this.routerA : this.routerB,
      'nft',
      'list',
      'table',
      'inet',
      NFT_TABLE,
    ]);
    let n = 0;
    for (const m of text.matchAll(/counter packets (\d+)/g)) n += Number(m[1]);
    return n;
  }

  /** Deletes every namespace made (their interfaces and nft rules go with them). Idempotent. */
  destroy(): void {
    for (const ns of this.#made.splice(0).reverse()) {
      try {
        run(['ip', 'netns', 'delete', ns]);
      } catch {
        // already gone
      }
    }
  }
}
