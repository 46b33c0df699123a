/**
 * The sidebar's "Network" card: how peers reach this node. Which port-mapping method worked on
 * the router (UPnP, NAT-PMP, PCP, or none), our external address and the port peers dial, where
 * the address came from, and the last mapping error. Filled from `GET /api/v1/network`, then from
 * the `network:changed` events (the same body).
 */
import type { NetworkInfo } from '../../src/daemon/api-types.js';
import { h, setAttr, setText } from './dom.js';

const METHODS: Readonly<Record<string, string>> = { upnp: 'UPnP', natpmp: 'NAT-PMP', pcp: 'PCP' };
const SOURCES: Readonly<Record<string, string>> = {
  router: 'reported by the router',
  peers: 'as peers see it',
  dht: 'as DHT nodes see it',
};

/** What the card says about port mapping. */
export function mappingText(n: NetworkInfo): string {
  const pm = n.portMapping;
  if (pm === null) return 'Port mapping off';
  if (pm.state === 'mapped') return `Mapped by ${METHODS[pm.method ?? ''] ?? pm.method ?? '?'}`;
  if (pm.state === 'starting') return 'Looking for the router…';
  return pm.state === 'failed' ? 'No port mapping (router refused or absent)' : 'Port mapping stopped';
}

export class NetworkPanel {
  readonly el: HTMLElement;
  readonly #mapping = h('dd', { id: 'net-mapping' });
  readonly #address = h('dd', { id: 'net-address' });
  readonly #error = h('dd', { id: 'net-error' });

  constructor() {
    this.el = h(
      'section',
      { class: 'network-card', id: 'network', 'aria-label': 'Network' },
      h('h3', { class: 'side-title' }, 'Network'),
      h(
        'dl',
        {},
        h('dt', {}, 'Router'),
        this.#mapping,
        h('dt', {}, 'Reachable at'),
        this.#address,
        h('dt', {}, 'Last error'),
        this.#error,
      ),
    );
  }

  /** Shows `n` (a `GET /api/v1/network` body or a `network:changed` payload). */
  render(n: NetworkInfo): void {
    setText(this.#mapping, mappingText(n));
    setAttr(this.el, 'data-state', n.portMapping?.state ?? 'off');
    const port = n.externalPort > 0 ? `:${n.externalPort}` : '';
    const v4 = n.externalAddress === null ? undefined : `${n.externalAddress}${port}`;
    const v6 = n.externalAddress6 === null ? undefined : `[${n.externalAddress6}]${port}`;
    setText(this.#address, [v4, v6].filter((a) => a !== undefined).join(', ') || 'not known yet');
    this.#address.title =
      n.externalAddressSource === null ? '' : `IPv4 address ${SOURCES[n.externalAddressSource] ?? ''}`;
    const errors = n.portMapping?.errors ?? [];
    setText(this.#error, errors.at(-1) ?? 'none');
  }
}
