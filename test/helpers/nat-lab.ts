/**
 * A home network behind a NAT router, in network namespaces (root only): "internet"
 * (203.0.113.1), "router" (WAN 203.0.113.2, LAN 192.0.2.1; nftables masquerade and the chains
 * miniupnpd fills) and "home" (192.0.2.10, default route via the router). Documentation ranges
 * only. `destroy()` deletes the namespaces, which takes their veths and nft rules with them;
 * processes started inside are the caller's (a ClientGroup) and must be stopped first.
 */
import { execFileSync } from 'node:child_process';

export const INTERNET_IP = '203.0.113.1';
export const ROUTER_WAN_IP = '203.0.113.2';
export const ROUTER_LAN_IP = '192.0.2.1';
export const HOME_IP = '192.0.2.10';
/** The nft table miniupnpd is told to use, with its chains. */
export const NFT_TABLE = 'shoalnat';

/** Why these tests cannot run here, or undefined. */
export function netnsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const [bin, pkg] of [
    ['ip', 'iproute2'],
    ['nft', 'nftables'],
    ['miniupnpd', 'miniupnpd-nftables'],
  ] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed (apt-get install ${pkg})`;
    }
  }
  return undefined;
}

const run = (args: readonly string[], input?: string) =>
  execFileSync(args[0]!, args.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 10_000,
    ...(input !== undefined && { input }),
  }).toString();

export class NatLab {
  /** Short unique suffix (interface names are at most 15 bytes). */
  readonly id = `${process.pid % 100_000}${Math.floor(performance.now()) % 1000}`;
  readonly internet = `shoal-inet-${this.id}`;
  readonly router = `shoal-rtr-${this.id}`;
  readonly home = `shoal-home-${this.id}`;
  /** The router's WAN and LAN interface names (inside the router namespace). */
  readonly wan = `sw${this.id}`;
  readonly lan = `sl${this.id}`;
  #made: string[] = [];

  /** Builds the three namespaces; on failure removes what it made and throws. */
  create(): void {
    try {
      for (const ns of [this.internet, this.router, this.home]) {
        run(['ip', 'netns', 'add', ns]);
        this.#made.push(ns);
        run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      }
      const [I, R, H] = [this.internet, this.router, this.home];
      run([
        'ip',
        '-n',
        R,
        'link',
        'add',
        this.wan,
        'type',
        'veth',
        'peer',
        'name',
        `si${this.id}`,
        'netns',
        I,
      ]);
      run([
        'ip',
        '-n',
        R,
        'link',
        'add',
        this.lan,
        'type',
        'veth',
        'peer',
        'name',
        `sh${this.id}`,
        'netns',
        H,
      ]);
      run(['ip', '-n', I, 'addr', 'add', `${INTERNET_IP}/24`, 'dev', `si${this.id}`]);
      run(['ip', '-n', I, 'link', 'set', `si${this.id}`, 'up']);
      run(['ip', '-n', R, 'addr', 'add', `${ROUTER_WAN_IP}/24`, 'dev', this.wan]);
      run(['ip', '-n', R, 'link', 'set', this.wan, 'up']);
      run(['ip', '-n', R, 'addr', 'add', `${ROUTER_LAN_IP}/24`, 'dev', this.lan]);
      run(['ip', '-n', R, 'link', 'set', this.lan, 'up']);
      run(['ip', '-n', H, 'addr', 'add', `${HOME_IP}/24`, 'dev', `sh${this.id}`]);
      run(['ip', '-n', H, 'link', 'set', `sh${this.id}`, 'up']);
      run(['ip', '-n', H, 'route', 'add', 'default', 'via', ROUTER_LAN_IP]);
      run(['ip', 'netns', 'exec', R, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      // The table and chains miniupnpd jumps to (its packaged nft_init.sh needs a missing helper).
      run(
        ['ip', 'netns', 'exec', R, 'nft', '-f', '-'],
        `table inet ${NFT_TABLE} {
  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; oifname "${this.wan}" masquerade; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
`,
      );
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** The DNAT rules miniupnpd made, as `proto externalPort -> ip:port` lines. */
  mappings(): string[] {
    const text = run([
      'ip',
      'netns',
      'exec',
      this.router,
      'nft',
      'list',
      'chain',
      'inet',
      NFT_TABLE,
      'prerouting_miniupnpd',
    ]);
    const out: string[] = [];
    for (const m of text.matchAll(/0x(6|11) th dport (\d+) dnat ip to ([\d.]+:\d+)/g))
      out.push(`${m[1] === '6' ? 'TCP' : 'UDP'} ${m[2]} -> ${m[3]}`);
    return out;
  }

  /** Empties miniupnpd's chains: what a router loses when it restarts. */
  flushMappings(): void {
    for (const c of ['miniupnpd', 'prerouting_miniupnpd', 'postrouting_miniupnpd'])
      run(['ip', 'netns', 'exec', this.router, 'nft', 'flush', 'chain', 'inet', NFT_TABLE, c]);
  }

  /** The miniupnpd configuration for this lab. */
  miniupnpdConf(o: { upnp: boolean; natpmp: boolean; stunPort: number }): string {
    return [
      `ext_ifname=${this.wan}`,
      `listening_ip=${this.lan}`,
      'port=0',
      `enable_upnp=${o.upnp ? 'yes' : 'no'}`,
      `enable_natpmp=${o.natpmp ? 'yes' : 'no'}`,
      'secure_mode=no',
      'system_uptime=yes',
      // miniupnpd refuses mappings while its address is reserved; STUN makes it accept (INTEROP-NOTES).
      'ext_perform_stun=yes',
      `ext_stun_host=${INTERNET_IP}`,
      `ext_stun_port=${o.stunPort}`,
      `upnp_table_name=${NFT_TABLE}`,
      `upnp_nat_table_name=${NFT_TABLE}`,
      'upnp_forward_chain=miniupnpd',
      'upnp_nat_chain=prerouting_miniupnpd',
      'upnp_nat_postrouting_chain=postrouting_miniupnpd',
      'uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b',
      'allow 1024-65535 192.0.2.0/24 1024-65535',
      'deny 0-65535 0.0.0.0/0 0-65535',
      '',
    ].join('\n');
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
