/**
 * The Options tab of the detail pane: a torrent's own speed limits, its bandwidth priority and
 * its seed limits (`PATCH /api/v1/torrents/:id`). The form is filled from each details refresh
 * only while the user is not editing it (a refresh must not undo typing).
 */
import type { SettingsInfo, TorrentDetails } from '../../src/daemon/api-types.js';
import { api, describeError, type OptionsUpdate } from './api.js';
import { h } from './dom.js';
import { formatLimit } from './format.js';
import { icon } from './icons.js';
import { toast } from './toasts.js';

const KIB = 1024;

const numberInput = (id: string, placeholder: string, step = '1') =>
  h('input', { id, type: 'number', min: '0', step, inputmode: 'decimal', placeholder });

export class OptionsForm {
  readonly el: HTMLFormElement;
  readonly #down = numberInput('opt-down', 'global only');
  readonly #up = numberInput('opt-up', 'global only');
  readonly #priority = h(
    'select',
    { id: 'opt-priority' },
    h('option', { value: 'high' }, 'High'),
    h('option', { value: 'normal' }, 'Normal'),
    h('option', { value: 'low' }, 'Low'),
  );
  readonly #ratio = numberInput('opt-ratio', "daemon's", '0.1');
  readonly #idle = numberInput('opt-idle', "daemon's");
  readonly #error = h('div', { class: 'form-error', role: 'alert', hidden: true });
  readonly #hint = h('p', { class: 'hint' });
  #id: string | null = null;
  #dirty = false;
  readonly #onSaved: (d: TorrentDetails) => void;

  constructor(onSaved: (d: TorrentDetails) => void) {
    this.#onSaved = onSaved;
    const field = (label: string, input: HTMLElement, unit?: string) =>
      h(
        'label',
        { class: 'field', for: input.id },
        h('span', null, label),
        unit === undefined ? input : h('div', { class: 'input-unit' }, input, h('span', null, unit)),
      );
    this.el = h(
      'form',
      { class: 'form options-form', id: 'options-form' },
      h(
        'section',
        { class: 'info-card' },
        h('h3', null, 'Speed'),
        h(
          'div',
          { class: 'field-row' },
          field('Download limit', this.#down, 'KiB/s'),
          field('Upload limit', this.#up, 'KiB/s'),
          field('Bandwidth priority', this.#priority),
        ),
        h(
          'p',
          { class: 'hint' },
          'Empty or 0: only the global limits apply. High-priority torrents are served first.',
        ),
      ),
      h(
        'section',
        { class: 'info-card' },
        h('h3', null, 'Seeding'),
        h(
          'div',
          { class: 'field-row' },
          field('Stop at ratio', this.#ratio),
          field('Stop when idle for', this.#idle, 'min'),
        ),
        this.#hint,
      ),
      this.#error,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', class: 'btn btn-primary', id: 'opt-save' }, icon('check'), 'Save'),
      ),
    );
    this.el.addEventListener('input', () => {
      this.#dirty = true;
    });
    this.el.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#save();
    });
  }

  /** Shows `d`'s options (unless the user is editing them). */
  update(d: TorrentDetails, settings: SettingsInfo | null): void {
    if (this.#id !== d.id) {
      this.#id = d.id;
      this.#dirty = false;
      this.#error.hidden = true;
    }
    const ratio = settings?.seedRatioLimit ?? 0;
    const idle = settings?.seedIdleLimitMinutes ?? 0;
    this.#hint.textContent = `Empty: the daemon's setting (${ratio > 0 ? `ratio ${ratio}` : 'no ratio limit'}, ${idle > 0 ? `${idle} min idle` : 'no idle limit'}). 0: never stop.`;
    if (this.#dirty) return;
    const o = d.options;
    const kib = (v: number) => (v > 0 ? String(Math.max(1, Math.round(v / KIB))) : '');
    this.#down.value = kib(o.downloadLimit);
    this.#up.value = kib(o.uploadLimit);
    this.#priority.value = o.priority;
    this.#ratio.value = o.seedRatioLimit === null ? '' : String(o.seedRatioLimit);
    this.#idle.value = o.seedIdleLimitMinutes === null ? '' : String(o.seedIdleLimitMinutes);
  }

  async #save(): Promise<void> {
    const id = this.#id;
    if (id === null) return;
    const num = (input: HTMLInputElement, integer: boolean): number | null | undefined => {
      const t = input.value.trim();
      if (t === '') return null;
      const n = Number(t);
      if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) return undefined;
      return n;
    };
    const down = num(this.#down, false);
    const up = num(this.#up, false);
    const ratio = num(this.#ratio, false);
    const idle = num(this.#idle, true);
    if (down === undefined || up === undefined || ratio === undefined || idle === undefined) {
      this.#error.textContent = 'Limits are numbers ≥ 0 (idle time in whole minutes), or empty.';
      this.#error.hidden = false;
      return;
    }
    const change: OptionsUpdate = {
      downloadLimit: Math.round((down ?? 0) * KIB),
      uploadLimit: Math.round((up ?? 0) * KIB),
      priority: this.#priority.value as OptionsUpdate['priority'] & string,
      seedRatioLimit: ratio,
      seedIdleLimitMinutes: idle,
    };
    try {
      const d = await api.setOptions(id, change);
      this.#dirty = false;
      this.#error.hidden = true;
      this.#onSaved(d);
      toast(
        `↓ ${formatLimit(d.options.downloadLimit)} · ↑ ${formatLimit(d.options.uploadLimit)} · ${d.options.priority} priority`,
        'success',
        'Torrent options saved',
      );
    } catch (e) {
      this.#error.textContent = describeError(e);
      this.#error.hidden = false;
    }
  }
}
