/**
 * Short notices in the corner: added, finished, and every error with the daemon's message.
 *
 * Notices come in the order things happened. A live event can overtake the answer to the request
 * that caused it (a torrent already complete on disk is "finished" before its add request is
 * answered), so while an add is in flight ({@link holdEventToasts}) the notices of live events
 * ({@link eventToast}) wait, and follow the add's own notices.
 */
import { h } from './dom.js';
import { type IconName, icon } from './icons.js';

export type ToastKind = 'info' | 'success' | 'error';

const ICON: Readonly<Record<ToastKind, IconName>> = { info: 'list', success: 'check', error: 'alert' };

/** Shows a notice; errors stay longer. Returns a function that dismisses it. */
export function toast(message: string, kind: ToastKind = 'info', title?: string): () => void {
  const host = document.getElementById('toasts');
  if (host === null) return () => {};
  const close = (): void => {
    window.clearTimeout(timer);
    el.classList.add('leaving');
    window.setTimeout(() => el.remove(), 180);
  };
  const el = h(
    'div',
    { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    icon(ICON[kind], 'icon toast-icon'),
    h(
      'div',
      { class: 'toast-body' },
      title !== undefined ? h('strong', null, title) : null,
      h('span', null, message),
    ),
    h(
      'button',
      { class: 'icon-btn toast-close', type: 'button', 'aria-label': 'Dismiss', onClick: close },
      icon('close'),
    ),
  );
  host.appendChild(el);
  while (host.children.length > 5) host.firstElementChild?.remove();
  const timer = window.setTimeout(close, kind === 'error' ? 10_000 : 5_000);
  return close;
}

let holds = 0;
const held: (() => void)[] = [];

/**
 * Makes {@link eventToast} notices wait until the returned function is called (after the
 * caller showed its own notices). Holds nest; the last release shows the waiting notices in
 * the order their events came.
 */
export function holdEventToasts(): () => void {
  holds++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holds--;
    if (holds === 0) for (const show of held.splice(0)) show();
  };
}

/** A notice for a live event: shown now, or after the adds in flight were answered. */
export function eventToast(message: string, kind: ToastKind = 'info', title?: string): void {
  if (holds > 0) held.push(() => toast(message, kind, title));
  else toast(message, kind, title);
}
