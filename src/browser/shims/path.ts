/**
 * `node:path` as the browser bundle sees it (vite aliases the import here): the POSIX subset the
 * metainfo layer's path checks use. A page writes no files, so these only ever see the paths a
 * torrent names.
 */
export const sep = '/';

export function isAbsolute(p: string): boolean {
  return p.startsWith('/');
}

function normalize(parts: string[]): string[] {
  const out: string[] = [];
  for (const s of parts) {
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  return out;
}

export function resolve(...paths: string[]): string {
  let parts: string[] = [];
  for (const p of paths) parts = isAbsolute(p) ? p.split('/') : [...parts, ...p.split('/')];
  return `/${normalize(parts).join('/')}`;
}

export function relative(from: string, to: string): string {
  const a = normalize(resolve(from).split('/'));
  const b = normalize(resolve(to).split('/'));
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
}
