/**
 * Line icons drawn for Shoal (24×24, stroke `currentColor`), built as SVG elements so they
 * follow the theme's text colour and need no icon font or network.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Each icon is a list of SVG child elements: [tag, attributes]. */
type Shape = readonly [string, Readonly<Record<string, string>>];

const p = (d: string): Shape => ['path', { d }];
const c = (cx: number, cy: number, r: number): Shape => [
  'circle',
  { cx: String(cx), cy: String(cy), r: String(r) },
];

const ICONS = {
  plus: [p('M12 5v14M5 12h14')],
  play: [p('M8 5.5v13l10.5-6.5z')],
  pause: [p('M8 5v14M16 5v14')],
  trash: [p('M4 7h16M9.5 7V4.5h5V7M6.5 7l1 13h9l1-13M10 11v5.5M14 11v5.5')],
  check: [p('M5 12.5l4.5 4.5L19 7.5')],
  recheck: [p('M20 12a8 8 0 1 1-2.3-5.6M20 4.5v4h-4')],
  settings: [p('M4 7h9M17 7h3M4 17h3M11 17h9'), c(15, 7, 2), c(9, 17, 2)],
  sun: [
    c(12, 12, 4),
    p(
      'M12 2.5v2M12 19.5v2M2.5 12h2M19.5 12h2M5.3 5.3l1.4 1.4M17.3 17.3l1.4 1.4M5.3 18.7l1.4-1.4M17.3 6.7l1.4-1.4',
    ),
  ],
  moon: [p('M19.5 14.5A8 8 0 0 1 9.5 4.5a8 8 0 1 0 10 10z')],
  close: [p('M6 6l12 12M18 6L6 18')],
  search: [c(11, 11, 6), p('M20 20l-4.5-4.5')],
  down: [p('M12 4v15M6 13l6 6 6-6')],
  up: [p('M12 20V5M6 11l6-6 6 6')],
  list: [p('M8 6h12M8 12h12M8 18h12M4 6h.01M4 12h.01M4 18h.01')],
  alert: [p('M12 3.5l9.5 16.5h-19zM12 10v4.5M12 17.5v.01')],
  magnet: [p('M6 3.5v8a6 6 0 0 0 12 0v-8M6 8h4M14 8h4M10 3.5v8a2 2 0 0 0 4 0v-8M6 3.5h4M14 3.5h4')],
  file: [p('M6.5 3h7.5l4 4v14h-11.5zM14 3v4h4')],
  folder: [p('M3.5 6.5h6l2 2h9v11h-17z')],
  peers: [
    c(9, 8.5, 3),
    p('M3.5 19.5a5.5 5.5 0 0 1 11 0'),
    c(17, 9.5, 2.3),
    p('M15.5 14.6a4.5 4.5 0 0 1 5.5 4.9'),
  ],
  clock: [c(12, 12, 8.5), p('M12 7.5V12l3 2')],
  upload: [p('M12 15V4M7.5 8.5 12 4l4.5 4.5M4.5 15v5h15v-5')],
  external: [p('M14 4h6v6M20 4l-9 9M18 14v6H4V6h6')],
  queued: [p('M7 12h.01M12 12h.01M17 12h.01')],
} as const satisfies Record<string, readonly Shape[]>;

export type IconName = keyof typeof ICONS;

/** An inline SVG icon. */
export function icon(name: IconName, className = 'icon'): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', className);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('fill', name === 'play' ? 'currentColor' : 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '1.8');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  for (const [tag, attrs] of ICONS[name]) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.appendChild(el);
  }
  return svg;
}

/** The Shoal mark: three fish swimming together, on the accent colour. */
export function logo(): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 32 32');
  svg.setAttribute('class', 'logo');
  svg.setAttribute('aria-hidden', 'true');
  const bg = document.createElementNS(SVG_NS, 'rect');
  for (const [k, v] of Object.entries({ x: '0', y: '0', width: '32', height: '32', rx: '8' }))
    bg.setAttribute(k, v);
  svg.appendChild(bg);
  const fish = (x: number, y: number, s: number): void => {
    const f = document.createElementNS(SVG_NS, 'path');
    const d = `M${x} ${y}c${2.2 * s} ${-2.6 * s} ${5.6 * s} ${-2.6 * s} ${7.6 * s} 0l${2.4 * s} ${-1.8 * s}v${3.6 * s}l${-2.4 * s} ${-1.8 * s}c${-2 * s} ${2.6 * s} ${-5.4 * s} ${2.6 * s} ${-7.6 * s} 0z`;
    f.setAttribute('d', d);
    svg.appendChild(f);
  };
  fish(4.5, 10, 1.3);
  fish(13, 16.5, 1.3);
  fish(5, 23, 1.15);
  return svg;
}
