/**
 * The piece map: every piece of a torrent drawn on a `<canvas>` from the BEP 3 bitfield, as a
 * grid of cells when they fit in a few rows, else as a strip where each pixel column shades the
 * share of its pieces that are verified (like qBittorrent's progress bar in the General tab).
 */
import { countPieces, decodeBase64, fractionSet, hasPiece } from './bitfield.js';

/** Tallest the grid may grow, CSS pixels, before the map turns into a strip. */
const MAX_GRID_HEIGHT = 88;
const STRIP_HEIGHT = 28;
const GAP = 1;

export class PieceMap {
  readonly canvas: HTMLCanvasElement;
  #bits: Uint8Array = new Uint8Array(0);
  #count = 0;
  readonly #resize: ResizeObserver;

  constructor() {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'piece-map';
    this.canvas.id = 'piece-map';
    this.canvas.setAttribute('role', 'img');
    this.#resize = new ResizeObserver(() => this.#draw());
    this.#resize.observe(this.canvas);
  }

  /** Draws `pieceCount` pieces from a base64 bitfield. */
  update(bitfieldBase64: string, pieceCount: number): void {
    this.#bits = decodeBase64(bitfieldBase64);
    this.#count = pieceCount;
    this.#draw();
  }

  dispose(): void {
    this.#resize.disconnect();
  }

  #draw(): void {
    const canvas = this.canvas;
    const ctx = canvas.getContext('2d');
    if (ctx === null) return;
    const width = Math.max(120, Math.floor(canvas.clientWidth || 600));
    const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
    const css = getComputedStyle(canvas);
    // Colours come from CSS (`color` = verified, `outline-color` = missing) so they follow the theme.
    const have = css.color;
    const missing = css.outlineColor;
    const count = this.#count;
    const bits = this.#bits;

    let cell = 0;
    let cols = 0;
    for (let s = 16; s >= 4 && count > 0; s--) {
      const c = Math.max(1, Math.floor((width + GAP) / (s + GAP)));
      const r = Math.ceil(count / c);
      if (r * (s + GAP) - GAP <= MAX_GRID_HEIGHT) {
        cell = s;
        cols = c;
        break;
      }
    }
    const rows = cell > 0 ? Math.ceil(count / cols) : 0;
    const height = cell > 0 ? rows * (cell + GAP) - GAP : STRIP_HEIGHT;
    if (canvas.width !== width * dpr || canvas.height !== height * dpr) {
      canvas.width = width * dpr;
      canvas.height = height * dpr;
      canvas.style.height = `${height}px`;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);

    if (count === 0) {
      ctx.fillStyle = missing;
      ctx.fillRect(0, 0, width, height);
    } else if (cell > 0) {
      const r = cell >= 8 ? 2 : 1;
      for (const wantHave of [false, true]) {
        ctx.fillStyle = wantHave ? have : missing;
        ctx.beginPath();
        for (let i = 0; i < count; i++) {
          if (hasPiece(bits, i) !== wantHave) continue;
          const x = (i % cols) * (cell + GAP);
          const y = Math.floor(i / cols) * (cell + GAP);
          ctx.roundRect(x, y, cell, cell, r);
        }
        ctx.fill();
      }
    } else {
      ctx.fillStyle = missing;
      ctx.fillRect(0, 0, width, height);
      ctx.fillStyle = have;
      for (let x = 0; x < width; x++) {
        const from = Math.floor((x * count) / width);
        const to = Math.max(from + 1, Math.floor(((x + 1) * count) / width));
        const f = fractionSet(bits, from, to);
        if (f === 0) continue;
        ctx.globalAlpha = f >= 1 ? 1 : 0.2 + 0.7 * f;
        ctx.fillRect(x, 0, 1, height);
      }
      ctx.globalAlpha = 1;
    }
    const got = countPieces(bits, count);
    canvas.dataset.pieces = String(count);
    canvas.dataset.have = String(got);
    canvas.setAttribute('aria-label', `${got} of ${count} pieces verified`);
  }
}
