/**
 * A small bounded XML reader, enough for UPnP device descriptions and SOAP envelopes.
 *
 * It is not a general XML parser: it builds a tree of elements (namespace prefixes dropped, since
 * routers disagree on them), keeps text, decodes the five named entities and numeric ones, and
 * skips the prolog, comments, processing instructions and DOCTYPE. It never expands entities
 * defined in a DOCTYPE (there is no billion-laughs path). Depth and element count are bounded by
 * {@link MAX_XML_DEPTH} and {@link MAX_XML_ELEMENTS}; anything malformed is a `NatError`.
 */
import { MAX_XML_DEPTH, MAX_XML_ELEMENTS } from '../shared/limits.js';
import { badMessage, tooLarge } from './errors.js';

/** One element: its local name (no prefix), its children and its text (concatenated, trimmed). */
export interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes `&lt;`-style and `&#NN;` / `&#xNN;` entities; an unknown entity is malformed. */
export function decodeEntities(s: string): string {
  return s.replace(/&([^;&\s]{1,10});/g, (_m, e: string) => {
    if (e[0] === '#') {
      const n =
        e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
      if (!Number.isInteger(n) || n < 0 || n > 0x10ffff)
        throw badMessage('xml', `bad character reference &${e};`);
      return String.fromCodePoint(n);
    }
    const v = NAMED[e];
    if (v === undefined) throw badMessage('xml', `unknown entity &${e};`);
    return v;
  });
}

/** Escapes text for an element body or an attribute value. */
export function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}

const NAME = /^[A-Za-z_][\w.:-]*$/;

/** Parses a whole document (UTF-8 bytes) into its root element. Throws `NatError` when malformed. */
export function parseXml(bytes: Uint8Array): XmlElement {
  let src: string;
  try {
    src = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badMessage('xml', 'document is not UTF-8');
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  let i = 0;
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? src.length : lt;
    if (textEnd > i) {
      const text = src.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.text += decodeEntities(text);
      else if (text.trim() !== '') throw badMessage('xml', 'text outside the root element');
    }
    if (lt < 0) break;
    if (src.startsWith('<!--', lt)) {
      const end = src.indexOf('-->', lt + 4);
      if (end < 0) throw badMessage('xml', 'unterminated comment');
      i = end + 3;
      continue;
    }
    if (src.startsWith('<![CDATA[', lt)) {
      const end = src.indexOf(']]>', lt + 9);
      if (end < 0) throw badMessage('xml', 'unterminated CDATA');
      const top = stack[stack.length - 1];
      if (!top) throw badMessage('xml', 'CDATA outside the root element');
      top.text += src.slice(lt + 9, end);
      i = end + 3;
      continue;
    }
    if (src.startsWith('<?', lt)) {
      const end = src.indexOf('?>', lt + 2);
      if (end < 0) throw badMessage('xml', 'unterminated processing instruction');
      i = end + 2;
      continue;
    }
    if (src.startsWith('<!', lt)) {
      // A DOCTYPE: skipped whole (an internal subset with '>' inside it is refused as malformed
      // rather than interpreted; no router sends one).
      if (stack.length > 0 || root) throw badMessage('xml', 'declaration inside the document');
      const end = src.indexOf('>', lt + 2);
      if (end < 0 || src.slice(lt, end).includes('[')) throw badMessage('xml', 'unsupported DOCTYPE');
      i = end + 1;
      continue;
    }
    const gt = findTagEnd(src, lt + 1);
    const tag = src.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const top = stack.pop();
      if (!top || top.name !== localName(name)) throw badMessage('xml', `unexpected </${name.slice(0, 40)}>`);
      top.text = top.text.trim();
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const m = /^\s*([^\s/>]+)/.exec(body);
    if (!m || !NAME.test(m[1]!)) throw badMessage('xml', 'bad element name');
    if (++count > MAX_XML_ELEMENTS) throw tooLarge('xml', `more than ${MAX_XML_ELEMENTS} elements`);
    const el: XmlElement = { name: localName(m[1]!), children: [], text: '' };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else if (root) throw badMessage('xml', 'more than one root element');
    else root = el;
    if (!selfClosing) {
      if (stack.length >= MAX_XML_DEPTH) throw tooLarge('xml', `nesting deeper than ${MAX_XML_DEPTH}`);
      stack.push(el);
    }
  }
  if (stack.length > 0) throw badMessage('xml', `unclosed <${stack[stack.length - 1]!.name}>`);
  if (!root) throw badMessage('xml', 'no root element');
  return root;
}

/** Index of the `>` closing a tag that starts at `from`, skipping quoted attribute values. */
function findTagEnd(src: string, from: number): number {
  let quote = '';
  for (let j = from; j < src.length; j++) {
    const c = src[j]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return j;
    else if (c === '<') break;
  }
  throw badMessage('xml', 'unterminated tag');
}

/** The first child named `name`, if any. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** Every descendant named `name`, in document order (iterative: depth is already bounded). */
export function descendants(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const todo: XmlElement[] = [...el.children].reverse();
  while (todo.length > 0) {
    const e = todo.pop()!;
    if (e.name === name) out.push(e);
    for (let k = e.children.length - 1; k >= 0; k--) todo.push(e.children[k]!);
  }
  return out;
}
