/**
 * Content types for streamed files and the web UI, by file extension. Streamed files come from
 * strangers' torrents, so active content (HTML, SVG, XML, JavaScript) is never served as such:
 * it would run with the daemon's origin and could call its API.
 */

const MEDIA: Readonly<Record<string, string>> = {
  // video
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  mov: 'video/quicktime',
  avi: 'video/x-msvideo',
  ogv: 'video/ogg',
  ts: 'video/mp2t',
  m2ts: 'video/mp2t',
  mpg: 'video/mpeg',
  mpeg: 'video/mpeg',
  wmv: 'video/x-ms-wmv',
  flv: 'video/x-flv',
  '3gp': 'video/3gpp',
  // audio
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  wav: 'audio/wav',
  wma: 'audio/x-ms-wma',
  // images
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  bmp: 'image/bmp',
  ico: 'image/x-icon',
  // text and documents
  txt: 'text/plain; charset=utf-8',
  nfo: 'text/plain; charset=utf-8',
  md: 'text/plain; charset=utf-8',
  log: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  srt: 'application/x-subrip',
  vtt: 'text/vtt; charset=utf-8',
  ass: 'text/plain; charset=utf-8',
  pdf: 'application/pdf',
  epub: 'application/epub+zip',
  json: 'application/json',
  // archives
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  '7z': 'application/x-7z-compressed',
  rar: 'application/vnd.rar',
  iso: 'application/x-iso9660-image',
  torrent: 'application/x-bittorrent',
};

/** Extra types for the web UI's own files (trusted: they ship with Shoal). */
const WEB: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  map: 'application/json',
  woff: 'font/woff',
  woff2: 'font/woff2',
  webmanifest: 'application/manifest+json',
};

function ext(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 || dot === name.length - 1 ? '' : name.slice(dot + 1).toLowerCase();
}

/** Content type of a streamed torrent file (`application/octet-stream` when unknown or active). */
export function streamContentType(fileName: string): string {
  return MEDIA[ext(fileName)] ?? 'application/octet-stream';
}

/** Content type of a web UI file. */
export function webContentType(fileName: string): string {
  const e = ext(fileName);
  return WEB[e] ?? MEDIA[e] ?? 'application/octet-stream';
}
