/**
 * The dashboard's modal dialogs, each a native `<dialog>`: add torrents (magnet links, .torrent
 * URLs, .torrent files), remove (with the "also delete the files" confirmation), the player for
 * streaming a file, and the token prompt. Settings are in settings-dialog.ts.
 */
import type { FileInfo, SettingsInfo, TorrentDetails, TorrentSummary } from '../../src/daemon/api-types.js';
import { type AddOptions, api, describeError } from './api.js';
import { h, replaceChildren } from './dom.js';
import { formatBytes } from './format.js';
import { icon } from './icons.js';
import { holdEventToasts } from './toasts.js';

/** A native `<dialog>` with a title, a body and a footer, appended to the page. */
export function dialogShell(
  id: string,
  title: string,
  body: Node,
  footer: Node,
  wide = false,
): HTMLDialogElement {
  const dialog = h(
    'dialog',
    { id, class: wide ? 'modal modal-wide' : 'modal', 'aria-labelledby': `${id}-title` },
    h(
      'div',
      { class: 'modal-head' },
      h('h2', { id: `${id}-title` }, title),
      h(
        'button',
        { type: 'button', class: 'icon-btn', 'aria-label': 'Close', onClick: () => dialog.close() },
        icon('close'),
      ),
    ),
    h('div', { class: 'modal-body' }, body),
    h('div', { class: 'modal-foot' }, footer),
  );
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) dialog.close();
  });
  document.body.appendChild(dialog);
  return dialog;
}

/** Result of one add attempt. */
export interface AddOutcome {
  readonly label: string;
  readonly torrent?: TorrentSummary;
  readonly created?: boolean;
  readonly error?: string;
}

/** Adds one .torrent file (also used by drag-and-drop). */
export async function addTorrentFile(file: File, o: AddOptions = {}): Promise<AddOutcome> {
  try {
    const r = await api.addFile(await file.arrayBuffer(), o);
    return { label: file.name, torrent: r.torrent, created: r.created };
  } catch (e) {
    return { label: file.name, error: describeError(e) };
  }
}

/** Adds a magnet link or an http(s) .torrent URL. */
export async function addLink(link: string, o: AddOptions = {}): Promise<AddOutcome> {
  const label = link.length > 80 ? `${link.slice(0, 77)}…` : link;
  try {
    if (/^magnet:/i.test(link)) {
      const r = await api.addMagnet(link, o);
      return { label, torrent: r.torrent, created: r.created };
    }
    if (/^https?:\/\//i.test(link)) {
      const r = await api.addUrl(link, o);
      return { label, torrent: r.torrent, created: r.created };
    }
    return { label, error: 'not a magnet link or an http(s) URL of a .torrent file' };
  } catch (e) {
    return { label, error: describeError(e) };
  }
}

export class AddDialog {
  readonly el: HTMLDialogElement;
  readonly #links: HTMLTextAreaElement;
  readonly #fileInput: HTMLInputElement;
  readonly #fileList: HTMLElement;
  readonly #paused: HTMLInputElement;
  readonly #dir: HTMLSelectElement;
  readonly #dirRow: HTMLElement;
  readonly #error: HTMLElement;
  readonly #submit: HTMLButtonElement;
  #files: File[] = [];

  constructor(onAdded: (outcomes: readonly AddOutcome[]) => void) {
    this.#links = h('textarea', {
      id: 'add-links',
      rows: 3,
      spellcheck: 'false',
      placeholder: 'magnet:?xt=urn:btih:…  or  https://example.org/file.torrent — one per line',
    });
    this.#fileInput = h('input', {
      id: 'add-files',
      class: 'visually-hidden',
      type: 'file',
      multiple: true,
      accept: '.torrent,application/x-bittorrent',
    });
    this.#fileInput.addEventListener('change', () => {
      this.#files.push(...Array.from(this.#fileInput.files ?? []));
      this.#fileInput.value = '';
      this.#renderFiles();
    });
    this.#fileList = h('ul', { class: 'file-chips', id: 'add-file-list' });
    this.#paused = h('input', { type: 'checkbox', id: 'add-paused' });
    this.#dir = h('select', { id: 'add-dir' });
    this.#dirRow = h('label', { class: 'field', hidden: true }, h('span', null, 'Save to'), this.#dir);
    this.#error = h('div', { class: 'form-error', id: 'add-error', role: 'alert', hidden: true });
    this.#submit = h(
      'button',
      { type: 'submit', class: 'btn btn-primary', id: 'add-submit', form: 'add-form' },
      'Add',
    );
    const form = h(
      'form',
      { id: 'add-form', class: 'form' },
      h(
        'label',
        { class: 'field', for: 'add-links' },
        h('span', null, 'Magnet links or .torrent URLs'),
        this.#links,
      ),
      h(
        'div',
        { class: 'field' },
        h('span', null, '.torrent files'),
        h(
          'div',
          { class: 'file-pick' },
          h('label', { class: 'btn', for: 'add-files' }, icon('upload'), 'Choose files…'),
          h('span', { class: 'muted' }, 'or drop them anywhere on the page'),
          this.#fileInput,
        ),
        this.#fileList,
      ),
      this.#dirRow,
      h('label', { class: 'check' }, this.#paused, h('span', null, 'Add paused')),
      this.#error,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#run(onAdded);
    });
    this.el = dialogShell(
      'add-dialog',
      'Add torrents',
      form,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'btn', onClick: () => this.el.close() }, 'Cancel'),
        this.#submit,
      ),
    );
    this.el.addEventListener('dragover', (e) => e.preventDefault());
    this.el.addEventListener('drop', (e) => {
      e.preventDefault();
      e.stopPropagation();
      this.#files.push(...torrentFiles(e.dataTransfer));
      this.#renderFiles();
    });
  }

  open(settings: SettingsInfo | null): void {
    this.#files = [];
    this.#links.value = '';
    this.#error.hidden = true;
    this.#renderFiles();
    const dirs =
      settings === null
        ? []
        : [settings.downloadDir, ...settings.allowedDirs.filter((d) => d !== settings.downloadDir)];
    replaceChildren(
      this.#dir,
      dirs.map((d) => h('option', { value: d }, d)),
    );
    this.#dirRow.hidden = dirs.length < 2;
    this.el.showModal();
    this.#links.focus();
  }

  #renderFiles(): void {
    replaceChildren(
      this.#fileList,
      this.#files.map((f, i) =>
        h(
          'li',
          { class: 'chip' },
          icon('file'),
          h('span', null, f.name),
          h('span', { class: 'muted' }, formatBytes(f.size)),
          h(
            'button',
            {
              type: 'button',
              class: 'icon-btn',
              'aria-label': `Remove ${f.name}`,
              onClick: () => {
                this.#files.splice(i, 1);
                this.#renderFiles();
              },
            },
            icon('close'),
          ),
        ),
      ),
    );
  }

  async #run(onAdded: (outcomes: readonly AddOutcome[]) => void): Promise<void> {
    const links = this.#links.value
      .split(/\s*\n\s*/)
      .map((l) => l.trim())
      .filter((l) => l !== '');
    if (links.length === 0 && this.#files.length === 0) {
      this.#showError(['Paste a magnet link or choose a .torrent file first.']);
      return;
    }
    const o: AddOptions = {
      paused: this.#paused.checked,
      ...(this.#dirRow.hidden || this.#dir.value === '' ? {} : { downloadDir: this.#dir.value }),
    };
    this.#submit.disabled = true;
    this.#submit.textContent = 'Adding…';
    // Live notices (finished, metadata) about what is being added wait for the add's own.
    const release = holdEventToasts();
    try {
      const fileOutcomes = await Promise.all(this.#files.map((f) => addTorrentFile(f, o)));
      const linkOutcomes: AddOutcome[] = [];
      for (const l of links) linkOutcomes.push(await addLink(l, o));
      const outcomes = [...linkOutcomes, ...fileOutcomes];
      const ok = outcomes.filter((x) => x.error === undefined);
      if (ok.length > 0) onAdded(ok);
      const failedLinks = links.filter((_, i) => linkOutcomes[i]?.error !== undefined);
      this.#files = this.#files.filter((_, i) => fileOutcomes[i]?.error !== undefined);
      this.#links.value = failedLinks.join('\n');
      this.#renderFiles();
      const failed = outcomes.filter((x) => x.error !== undefined);
      if (failed.length === 0) this.el.close();
      else this.#showError(failed.map((f) => `${f.label}: ${f.error}`));
    } finally {
      release();
      this.#submit.disabled = false;
      this.#submit.textContent = 'Add';
    }
  }

  #showError(lines: readonly string[]): void {
    replaceChildren(
      this.#error,
      icon('alert'),
      h(
        'div',
        null,
        lines.map((l) => h('p', null, l)),
      ),
    );
    this.#error.hidden = false;
  }
}

/** The .torrent files of a drop (anything else is ignored). */
export function torrentFiles(dt: DataTransfer | null): File[] {
  if (dt === null) return [];
  return Array.from(dt.files).filter(
    (f) => /\.torrent$/i.test(f.name) || f.type === 'application/x-bittorrent',
  );
}

export class RemoveDialog {
  readonly el: HTMLDialogElement;
  readonly #text: HTMLElement;
  readonly #list: HTMLElement;
  readonly #deleteData: HTMLInputElement;
  readonly #confirm: HTMLButtonElement;
  #resolve: ((v: { deleteData: boolean } | null) => void) | undefined;

  constructor() {
    this.#text = h('p');
    this.#list = h('ul', { class: 'remove-list' });
    this.#deleteData = h('input', { type: 'checkbox', id: 'remove-delete-data' });
    this.#confirm = h('button', { type: 'button', class: 'btn btn-danger', id: 'remove-confirm' }, 'Remove');
    this.#deleteData.addEventListener('change', () => {
      this.#confirm.textContent = this.#deleteData.checked ? 'Remove and delete files' : 'Remove';
    });
    this.#confirm.addEventListener('click', () => {
      this.#finish({ deleteData: this.#deleteData.checked });
    });
    this.el = dialogShell(
      'remove-dialog',
      'Remove torrents',
      h(
        'div',
        { class: 'form' },
        this.#text,
        this.#list,
        h(
          'label',
          { class: 'check check-danger' },
          this.#deleteData,
          h('span', null, 'Also delete the downloaded files from disk'),
        ),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'btn', onClick: () => this.el.close() }, 'Cancel'),
        this.#confirm,
      ),
    );
    this.el.addEventListener('close', () => this.#finish(null));
  }

  /** Asks; resolves with the choice, or null when cancelled. */
  ask(torrents: readonly TorrentSummary[]): Promise<{ deleteData: boolean } | null> {
    this.#text.textContent =
      torrents.length === 1
        ? 'Remove this torrent from the list?'
        : `Remove these ${torrents.length} torrents from the list?`;
    replaceChildren(
      this.#list,
      torrents
        .slice(0, 8)
        .map((t) =>
          h('li', null, h('span', null, t.name), h('span', { class: 'muted' }, formatBytes(t.size))),
        ),
      torrents.length > 8 ? h('li', { class: 'muted' }, `and ${torrents.length - 8} more`) : null,
    );
    this.#deleteData.checked = false;
    this.#confirm.textContent = 'Remove';
    this.el.showModal();
    return new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  #finish(v: { deleteData: boolean } | null): void {
    const r = this.#resolve;
    this.#resolve = undefined;
    if (this.el.open) this.el.close();
    r?.(v);
  }
}

export class PlayerDialog {
  readonly el: HTMLDialogElement;
  readonly #video: HTMLVideoElement;
  readonly #open: HTMLAnchorElement;
  readonly #note: HTMLElement;

  constructor() {
    this.#video = h('video', { id: 'player-video', controls: true, preload: 'metadata', playsinline: true });
    this.#open = h(
      'a',
      { class: 'btn', target: '_blank', rel: 'noopener' },
      icon('external'),
      'Open in new tab',
    );
    this.#note = h('p', { class: 'hint' });
    this.#video.addEventListener('error', () => {
      this.#note.textContent =
        'The browser cannot play this file (its format or codec is not supported here).';
    });
    this.el = dialogShell(
      'player',
      'Player',
      h('div', { class: 'player' }, this.#video, this.#note),
      h(
        'div',
        { class: 'actions' },
        this.#open,
        h('button', { type: 'button', class: 'btn btn-primary', onClick: () => this.el.close() }, 'Close'),
      ),
      true,
    );
    this.el.addEventListener('close', () => {
      this.#video.pause();
      this.#video.removeAttribute('src');
      this.#video.load();
    });
  }

  play(t: TorrentDetails, f: FileInfo): void {
    const title = this.el.querySelector('h2');
    if (title !== null) title.textContent = f.path.split('/').pop() ?? f.path;
    this.#note.textContent =
      f.progress < 1
        ? `Streaming from “${t.name}” while it downloads: the pieces you watch are fetched first.`
        : `From “${t.name}”.`;
    this.#open.href = f.streamUrl;
    this.#video.src = f.streamUrl;
    this.el.showModal();
    void this.#video.play().catch(() => {});
  }
}

/** The token prompt shown instead of the dashboard when the daemon requires its token. */
export function loginScreen(onDone: () => void): HTMLElement {
  const input = h('input', {
    id: 'login-token',
    type: 'password',
    autocomplete: 'current-password',
    placeholder: 'token',
    required: true,
  });
  const error = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const form = h(
    'form',
    { class: 'login-card form' },
    h('h1', null, 'Shoal'),
    h(
      'p',
      null,
      'This daemon is reachable from the network, so it asks for its access token. You will find it in the file ',
      h('code', null, 'token'),
      ' of its state folder.',
    ),
    h('label', { class: 'field', for: 'login-token' }, h('span', null, 'Access token'), input),
    error,
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void api
      .login(input.value.trim())
      .then(onDone)
      .catch((err: unknown) => {
        error.textContent = describeError(err);
        error.hidden = false;
        input.select();
      });
  });
  return h('div', { class: 'login' }, form);
}
