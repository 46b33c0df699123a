/**
 * The settings panel: every daemon setting (`PUT /api/v1/settings`) — global speed limits, the
 * queue, seed limits, the encryption policy, the IP blocklist (with a reload button and what is
 * in force), the SOCKS5 proxy (its password is write-only: left empty, the stored one stays) and
 * the watch folder — plus read-only facts of the node.
 */
import type { SettingsInfo } from '../../src/daemon/api-types.js';
import { api, describeError, type SettingsUpdate } from './api.js';
import { dialogShell } from './dialogs.js';
import { h, replaceChildren } from './dom.js';
import { formatDate, formatLimit } from './format.js';
import { icon } from './icons.js';

const KIB = 1024;

/** Describes the limits for the status bar. */
export function limitsLabel(s: SettingsInfo): string {
  return `limits ↓ ${formatLimit(s.downloadRateLimit)} · ↑ ${formatLimit(s.uploadRateLimit)}`;
}

const num = (id: string, placeholder: string, step = '1') =>
  h('input', { id, type: 'number', min: '0', step, inputmode: 'numeric', placeholder });
const text = (id: string, placeholder: string, type = 'text') =>
  h('input', { id, type, placeholder, spellcheck: 'false', autocomplete: 'off' });
const select = (id: string, options: readonly (readonly [string, string])[]) =>
  h(
    'select',
    { id },
    options.map(([value, label]) => h('option', { value }, label)),
  );

function field(label: string, input: HTMLElement, unit?: string): HTMLElement {
  return h(
    'label',
    { class: 'field', for: input.id },
    h('span', null, label),
    unit === undefined ? input : h('div', { class: 'input-unit' }, input, h('span', null, unit)),
  );
}

export class SettingsDialog {
  readonly el: HTMLDialogElement;
  readonly #down = num('limit-down', 'unlimited');
  readonly #up = num('limit-up', 'unlimited');
  readonly #maxDownloads = num('set-max-downloads', 'no limit');
  readonly #maxSeeds = num('set-max-seeds', 'no limit');
  readonly #ratio = num('set-seed-ratio', 'never', '0.1');
  readonly #idle = num('set-seed-idle', 'never');
  readonly #encryption = select('set-encryption', [
    ['enabled', 'Enabled: accept both, dial plaintext, retry encrypted'],
    ['prefer', 'Prefer: dial encrypted, fall back to plaintext'],
    ['require', 'Require: encrypted connections only'],
    ['disabled', 'Disabled: plaintext only'],
  ]);
  readonly #blocklist = text('set-blocklist', '/path/to/blocklist.p2p (empty: none)');
  readonly #blocklistStatus = h('p', { class: 'hint', id: 'blocklist-status' });
  readonly #proxyOn = h('input', { type: 'checkbox', id: 'set-proxy-on' });
  readonly #proxyHost = text('set-proxy-host', 'host');
  readonly #proxyPort = num('set-proxy-port', '1080');
  readonly #proxyUser = text('set-proxy-user', 'user (optional)');
  readonly #proxyPass = text('set-proxy-pass', 'password', 'password');
  readonly #proxyOnly = h('input', { type: 'checkbox', id: 'set-proxy-only' });
  readonly #proxyNote = h('p', { class: 'hint', id: 'proxy-note' });
  readonly #watchDir = text('set-watch-dir', '/path/to/folder (empty: none)');
  readonly #watchAction = select('set-watch-action', [
    ['rename', 'Rename added files to .added'],
    ['delete', 'Delete added files'],
  ]);
  readonly #incompleteDir = text('set-incomplete-dir', '/path/to/folder (empty: none)');
  readonly #preallocation = select('set-preallocation', [
    ['sparse', 'Sparse files (space taken as data arrives)'],
    ['full', 'Full: reserve the space when a torrent is added'],
  ]);
  readonly #info = h('dl', { class: 'info-grid' });
  readonly #error = h('div', { class: 'form-error', id: 'settings-error', role: 'alert', hidden: true });
  #current: SettingsInfo | null = null;

  constructor(onSaved: (s: SettingsInfo) => void) {
    const reload = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-small',
        id: 'set-blocklist-reload',
        onClick: () => void this.#reload(),
      },
      icon('recheck'),
      'Reload',
    );
    const form = h(
      'form',
      { id: 'settings-form', class: 'form' },
      h('h3', null, 'Global speed limits'),
      h(
        'div',
        { class: 'field-row' },
        field('Download', this.#down, 'KiB/s'),
        field('Upload', this.#up, 'KiB/s'),
      ),
      h(
        'p',
        { class: 'hint' },
        'Empty or 0 means unlimited. Limits apply to all torrents and are kept across restarts.',
      ),
      h('h3', null, 'Queue'),
      h(
        'div',
        { class: 'field-row' },
        field('Active downloads', this.#maxDownloads),
        field('Active seeds', this.#maxSeeds),
      ),
      h(
        'p',
        { class: 'hint' },
        'The first torrents of the queue run; the others wait. Empty or 0: no limit.',
      ),
      h('h3', null, 'Seeding'),
      h(
        'div',
        { class: 'field-row' },
        field('Stop at ratio', this.#ratio),
        field('Stop when idle for', this.#idle, 'min'),
      ),
      h('h3', null, 'Peers'),
      field('Encryption (MSE/PE)', this.#encryption),
      h('div', { class: 'field-row' }, field('IP blocklist file', this.#blocklist), reload),
      this.#blocklistStatus,
      h('h3', null, 'SOCKS5 proxy'),
      h(
        'label',
        { class: 'check' },
        this.#proxyOn,
        h('span', null, 'Connect to peers and trackers through a proxy'),
      ),
      h(
        'div',
        { class: 'field-row' },
        field('Host', this.#proxyHost),
        field('Port', this.#proxyPort),
        field('User', this.#proxyUser),
        field('Password', this.#proxyPass),
      ),
      h(
        'label',
        { class: 'check' },
        this.#proxyOnly,
        h('span', null, 'Keep the DHT and local discovery off (they would bypass it)'),
      ),
      this.#proxyNote,
      h('h3', null, 'Watch folder'),
      h('div', { class: 'field-row' }, field('Folder', this.#watchDir), field('Then', this.#watchAction)),
      h(
        'p',
        { class: 'hint' },
        '.torrent files that appear in it are added; files that are no torrent are renamed .invalid.',
      ),
      h('h3', null, 'Storage'),
      h(
        'div',
        { class: 'field-row' },
        field('Incomplete folder', this.#incompleteDir),
        field('Preallocation', this.#preallocation),
      ),
      h(
        'p',
        { class: 'hint' },
        'New torrents download into the incomplete folder and move to their folder once complete.',
      ),
      this.#error,
      h('h3', null, 'Node'),
      this.#info,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#save(onSaved);
    });
    this.el = dialogShell(
      'settings-dialog',
      'Settings',
      form,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'btn', onClick: () => this.el.close() }, 'Cancel'),
        h(
          'button',
          { type: 'submit', class: 'btn btn-primary', id: 'settings-save', form: 'settings-form' },
          'Save',
        ),
      ),
    );
  }

  open(s: SettingsInfo | null, version: string | null): void {
    this.#current = s;
    this.#error.hidden = true;
    const kib = (v: number) => (v > 0 ? String(Math.max(1, Math.round(v / KIB))) : '');
    const n = (v: number) => (v > 0 ? String(v) : '');
    this.#down.value = s === null ? '' : kib(s.downloadRateLimit);
    this.#up.value = s === null ? '' : kib(s.uploadRateLimit);
    this.#maxDownloads.value = s === null ? '' : n(s.maxActiveDownloads);
    this.#maxSeeds.value = s === null ? '' : n(s.maxActiveSeeds);
    this.#ratio.value = s === null ? '' : n(s.seedRatioLimit);
    this.#idle.value = s === null ? '' : n(s.seedIdleLimitMinutes);
    this.#encryption.value = s?.encryption ?? 'enabled';
    this.#blocklist.value = s?.blocklistPath ?? '';
    const p = s?.proxy ?? null;
    this.#proxyOn.checked = p !== null;
    this.#proxyHost.value = p?.host ?? '';
    this.#proxyPort.value = p === null ? '' : String(p.port);
    this.#proxyUser.value = p?.username ?? '';
    this.#proxyPass.value = '';
    this.#proxyPass.placeholder = p?.hasPassword === true ? 'unchanged' : 'password';
    this.#proxyOnly.checked = p?.onlyProxy ?? true;
    this.#watchDir.value = s?.watchDir ?? '';
    this.#watchAction.value = s?.watchDirAction ?? 'rename';
    this.#incompleteDir.value = s?.incompleteDir ?? '';
    this.#preallocation.value = s?.preallocation ?? 'sparse';
    this.#showStatus(s);
    replaceChildren(
      this.#info,
      s === null
        ? null
        : [
            [h('dt', null, 'Download folder'), h('dd', { class: 'mono' }, s.downloadDir)],
            s.allowedDirs.some((d) => d !== s.downloadDir)
              ? [
                  h('dt', null, 'Other allowed folders'),
                  h('dd', { class: 'mono' }, s.allowedDirs.filter((d) => d !== s.downloadDir).join(', ')),
                ]
              : null,
            [h('dt', null, 'Peer port'), h('dd', { class: 'mono' }, String(s.peerPort))],
            version !== null ? [h('dt', null, 'Version'), h('dd', null, version)] : null,
          ].flat(),
    );
    this.el.showModal();
  }

  #showStatus(s: SettingsInfo | null): void {
    const b = s?.blocklist;
    this.#blocklistStatus.textContent =
      b === undefined || b.path === null
        ? 'No blocklist.'
        : `${b.ranges} address ranges in force${b.malformed > 0 ? `, ${b.malformed} malformed lines skipped` : ''}${b.loadedAt !== null ? `, loaded ${formatDate(b.loadedAt)}` : ''}.${b.error !== null ? ` The last load failed: ${b.error}` : ''}`;
    this.#proxyNote.textContent =
      s?.restartRequired === true
        ? 'The proxy changed: it takes effect when the daemon next starts.'
        : 'A proxy change takes effect when the daemon next starts.';
  }

  /** The form as a settings change; a message when a field is wrong. */
  #change(): SettingsUpdate | string {
    const count = (input: HTMLInputElement, integer = true): number | undefined => {
      const t = input.value.trim();
      if (t === '') return 0;
      const v = Number(t);
      return Number.isFinite(v) && v >= 0 && (!integer || Number.isInteger(v)) ? v : undefined;
    };
    const down = count(this.#down, false);
    const up = count(this.#up, false);
    const maxDownloads = count(this.#maxDownloads);
    const maxSeeds = count(this.#maxSeeds);
    const ratio = count(this.#ratio, false);
    const idle = count(this.#idle);
    if ([down, up, maxDownloads, maxSeeds, ratio, idle].some((v) => v === undefined))
      return 'Limits are numbers ≥ 0 (counts and minutes whole), or empty.';
    const path = (input: HTMLInputElement) => (input.value.trim() === '' ? null : input.value.trim());
    const change: SettingsUpdate = {
      downloadRateLimit: Math.round(down! * KIB),
      uploadRateLimit: Math.round(up! * KIB),
      maxActiveDownloads: maxDownloads!,
      maxActiveSeeds: maxSeeds!,
      seedRatioLimit: ratio!,
      seedIdleLimitMinutes: idle!,
      encryption: this.#encryption.value as SettingsUpdate['encryption'] & string,
      blocklistPath: path(this.#blocklist),
      watchDir: path(this.#watchDir),
      watchDirAction: this.#watchAction.value === 'delete' ? 'delete' : 'rename',
      incompleteDir: path(this.#incompleteDir),
      preallocation: this.#preallocation.value === 'full' ? 'full' : 'sparse',
    };
    const was = this.#current?.proxy ?? null;
    if (!this.#proxyOn.checked) {
      if (was !== null) change.proxy = null;
    } else {
      const port = Number(this.#proxyPort.value);
      if (this.#proxyHost.value.trim() === '' || !Number.isInteger(port) || port < 1 || port > 65535)
        return 'The proxy needs a host and a port (1-65535).';
      const user = this.#proxyUser.value.trim();
      const pass = this.#proxyPass.value;
      const proxy = {
        host: this.#proxyHost.value.trim(),
        port,
        onlyProxy: this.#proxyOnly.checked,
        ...(user !== '' ? { username: user } : {}),
        ...(user !== '' && pass !== '' ? { password: pass } : {}),
      };
      const same =
        was !== null &&
        was.host === proxy.host &&
        was.port === proxy.port &&
        (was.username ?? '') === user &&
        was.onlyProxy === proxy.onlyProxy &&
        pass === '';
      if (!same) change.proxy = proxy;
    }
    return change;
  }

  async #save(onSaved: (s: SettingsInfo) => void): Promise<void> {
    const change = this.#change();
    if (typeof change === 'string') {
      this.#error.textContent = change;
      this.#error.hidden = false;
      return;
    }
    try {
      const s = await api.updateSettings(change);
      onSaved(s);
      this.el.close();
    } catch (e) {
      this.#error.textContent = describeError(e);
      this.#error.hidden = false;
    }
  }

  async #reload(): Promise<void> {
    try {
      await api.reloadBlocklist();
      const s = await api.settings();
      this.#current = s;
      this.#showStatus(s);
      this.#error.hidden = true;
    } catch (e) {
      this.#error.textContent = describeError(e);
      this.#error.hidden = false;
    }
  }
}
