/**
 * Path safety: the guarantee that a torrent can never name a file outside its download folder.
 *
 * Every path component that comes from a torrent (`name`, `name.utf-8`, each element of `path`
 * / `path.utf-8`, every key of a v2 `file tree`) passes {@link assertSafePathComponent} before it
 * reaches the model, and storage turns components into file-system paths only through
 * {@link joinSafe}, which checks the result a second time against the root.
 *
 * A component is rejected when, on any platform Shoal runs on, it could leave its folder, name
 * something other than a plain file or directory, or be silently rewritten by the file system:
 *
 * - empty, `.` or `..` (BEP 52 §file tree: "must be sanitized ... directory traversal");
 * - absolute (`/x`, `\x`), or containing a separator `/` or `\`, or a NUL or other control
 *   character below 0x20;
 * - a Windows drive prefix (`C:`, `c:foo`), a Windows device name (`CON`, `PRN`, `AUX`, `NUL`,
 *   `COM0-9`, `LPT0-9`, with superscript digits, `CONIN$`, `CONOUT$`, `CLOCK$`), also with an
 *   extension (`con.txt`, `nul.tar.gz`) and in any case;
 * - ending in a dot or a space (Windows strips them, so `a.` and `a` would be one file);
 * - longer than MAX_PATH_COMPONENT_BYTES in UTF-8, or not valid UTF-8.
 *
 * A whole path is also limited to MAX_PATH_DEPTH components and must not be empty.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { bytesToUtf8 } from '../codec/index.js';
import { ErrorCode } from '../shared/errors.js';
import { toHex } from '../shared/hash.js';
import { MAX_PATH_COMPONENT_BYTES, MAX_PATH_DEPTH } from '../shared/limits.js';
import { MetainfoError } from './errors.js';

/** Device names Windows resolves in every folder; the part before the first dot is what counts. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$|clock\$)$/i;
const DRIVE_PREFIX = /^[a-zA-Z]:/;
const CONTROL_CHAR = /[\u0000-\u001f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Longest excerpt of an offending component quoted in an error message. */
const QUOTE_CHARS = 80;

/** Bytes of `s` in UTF-8 (lone surrogates count as the 3-byte replacement they would become). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Why `component` is not a safe path component, or `undefined` when it is safe.
 * The reason is a short phrase suitable for an error message.
 */
export function unsafePathComponentReason(component: string): string | undefined {
  if (component.length === 0) return 'empty component';
  if (component === '.') return 'current-directory reference "."';
  if (component === '..') return 'parent-directory reference ".."';
  if (LONE_SURROGATE.test(component)) return 'not valid UTF-8';
  if (component.startsWith('/') || component.startsWith('\\')) return 'absolute path';
  if (component.includes('/')) return 'contains the separator "/"';
  if (component.includes('\\')) return 'contains the separator "\\"';
  if (CONTROL_CHAR.test(component)) return 'contains a NUL or control character';
  if (DRIVE_PREFIX.test(component)) return 'Windows drive prefix';
  const base = component.split('.')[0]!.replace(/ +$/, '');
  if (WINDOWS_DEVICE.test(base)) return 'Windows device name';
  if (component.endsWith('.') || component.endsWith(' ')) return 'ends with a dot or space (Windows)';
  if (utf8Length(component) > MAX_PATH_COMPONENT_BYTES) {
    return `longer than ${MAX_PATH_COMPONENT_BYTES} bytes`;
  }
  return undefined;
}

/** A component for an error message: JSON-quoted (control characters escaped) and shortened. */
export function quoteComponent(component: string): string {
  const short = component.length > QUOTE_CHARS ? `${component.slice(0, QUOTE_CHARS)}…` : component;
  return JSON.stringify(short);
}

function unsafe(component: string, field: string, reason: string): MetainfoError {
  return new MetainfoError(
    ErrorCode.MetainfoUnsafePath,
    `unsafe path component ${component} in ${field}: ${reason}`,
    field,
  );
}

/**
 * Checks one path component from a torrent and returns it as text. Raw bytes are decoded as
 * UTF-8 first. Throws {@link MetainfoError} with code `MetainfoUnsafePath`, `field` set to
 * `field`, and a message quoting the component and the reason (BEP 3, BEP 52 §file tree).
 */
export function assertSafePathComponent(component: string | Uint8Array, field: string): string {
  let text: string;
  if (component instanceof Uint8Array) {
    const decoded = bytesToUtf8(component);
    if (decoded === undefined) {
      const hex = toHex(component).slice(0, QUOTE_CHARS);
      throw unsafe(`0x${hex}`, field, 'not valid UTF-8');
    }
    text = decoded;
  } else text = component;
  const reason = unsafePathComponentReason(text);
  if (reason !== undefined) throw unsafe(quoteComponent(text), field, reason);
  return text;
}

/**
 * Checks a whole relative path (non-empty, at most MAX_PATH_DEPTH components, each safe) and
 * returns its components as text. `field` names the path; a failing component is named in the
 * message and in `field` as `field[i]`.
 */
export function assertSafePath(components: readonly (string | Uint8Array)[], field: string): string[] {
  if (components.length === 0) {
    throw new MetainfoError(ErrorCode.MetainfoUnsafePath, `empty path in ${field}`, field);
  }
  if (components.length > MAX_PATH_DEPTH) {
    throw new MetainfoError(
      ErrorCode.MetainfoUnsafePath,
      `path in ${field} is ${components.length} components deep, more than ${MAX_PATH_DEPTH}`,
      field,
    );
  }
  return components.map((c, i) => assertSafePathComponent(c, `${field}[${i}]`));
}

/**
 * Joins `components` below `rootDir` and returns the absolute result, after checking every
 * component ({@link assertSafePath}) and that the result lies strictly inside `rootDir`.
 * `rootDir` must be absolute. This is the only way storage should build a path from a torrent.
 */
export function joinSafe(rootDir: string, components: readonly string[]): string {
  if (!isAbsolute(rootDir)) {
    throw new MetainfoError(
      ErrorCode.MetainfoUnsafePath,
      `download folder ${JSON.stringify(rootDir)} is not an absolute path`,
      'rootDir',
    );
  }
  assertSafePath(components, 'path');
  const root = resolve(rootDir);
  const full = resolve(root, ...components);
  const rel = relative(root, full);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new MetainfoError(
      ErrorCode.MetainfoUnsafePath,
      `path ${quoteComponent(components.join('/'))} resolves outside ${JSON.stringify(rootDir)}`,
      'path',
    );
  }
  return full;
}
