/**
 * A tiny DOM builder — the dashboard's only "framework". `h('button', {class: 'btn', onClick: fn},
 * 'Pause')` makes an element; text is always set as text (never parsed as HTML), so names coming
 * from torrents cannot inject markup.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type Listener = (ev: never) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Listener>;

/** Creates an element with attributes, `onEvent` listeners and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs !== null) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (typeof v === 'function') {
        el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
      } else if (k === 'value' && 'value' in el) {
        (el as HTMLInputElement).value = String(v);
      } else if (k === 'checked' && el instanceof HTMLInputElement) {
        el.checked = v === true;
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

/** Appends children (flattening arrays, skipping empty values). */
export function append(parent: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (Array.isArray(c)) append(parent, c);
    else if (c === null || c === undefined || c === false) continue;
    else if (c instanceof Node) parent.appendChild(c);
    else parent.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces every child of `el`. */
export function replaceChildren(el: Element, ...children: Child[]): void {
  el.textContent = '';
  append(el, children);
}

/** Sets text only when it changed (keeps the DOM quiet during 1 Hz updates). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Sets an attribute only when it changed. */
export function setAttr(el: Element, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/** The element with `id`, typed; throws when the page lacks it (a build mistake, not user input). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}
