/** Short notices in the corner: added, finished, and every error with the daemon's message. */
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
