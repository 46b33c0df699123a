/**
 * Dropping .torrent files or magnet links anywhere on the page adds them (an overlay shows while
 * files are dragged over it).
 */
import { type AddOutcome, addLink, addTorrentFile, torrentFiles } from './dialogs.js';
import { byId } from './dom.js';
import { holdEventToasts, toast } from './toasts.js';

/** Listens for drops on the page; `added` gets what was added, errors are toasts. */
export function setupDrop(addOpen: () => boolean, added: (outcomes: readonly AddOutcome[]) => void): void {
  const overlay = byId('drop-overlay');
  let depth = 0;
  const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e) || addOpen()) return;
    depth++;
    overlay.hidden = false;
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) overlay.hidden = true;
  });
  document.addEventListener('dragover', (e) => {
    if (hasFiles(e) || e.dataTransfer?.types.includes('text/uri-list')) e.preventDefault();
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    const files = torrentFiles(e.dataTransfer);
    const text = e.dataTransfer?.getData('text/uri-list') || e.dataTransfer?.getData('text/plain') || '';
    const links = text.split(/\s+/).filter((l) => /^magnet:/i.test(l));
    if (files.length === 0 && links.length === 0) {
      if ((e.dataTransfer?.files.length ?? 0) > 0)
        toast('Only .torrent files can be dropped here.', 'error', 'Not a torrent');
      return;
    }
    void (async () => {
      const release = holdEventToasts();
      try {
        const outcomes = [
          ...(await Promise.all(files.map((f) => addTorrentFile(f)))),
          ...(await Promise.all(links.map((l) => addLink(l)))),
        ];
        for (const o of outcomes) if (o.error !== undefined) toast(o.error, 'error', `Cannot add ${o.label}`);
        added(outcomes.filter((o) => o.error === undefined));
      } finally {
        release();
      }
    })();
  });
}
