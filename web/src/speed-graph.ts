/**
 * The sidebar's speed graph: the session's download and upload rates over the last two minutes,
 * drawn on a canvas from the `snapshot` events.
 */

const SAMPLES = 120;

export class SpeedGraph {
  readonly canvas: HTMLCanvasElement;
  readonly #down: number[] = [];
  readonly #up: number[] = [];

  constructor() {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'speed-graph';
    this.canvas.setAttribute('aria-hidden', 'true');
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  push(down: number, up: number): void {
    this.#down.push(down);
    this.#up.push(up);
    if (this.#down.length > SAMPLES) this.#down.shift();
    if (this.#up.length > SAMPLES) this.#up.shift();
    this.draw();
  }

  draw(): void {
    const c = this.canvas;
    const ctx = c.getContext('2d');
    if (ctx === null) return;
    const w = Math.max(60, Math.floor(c.clientWidth || 180));
    const hgt = Math.max(30, Math.floor(c.clientHeight || 56));
    const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
    if (c.width !== w * dpr || c.height !== hgt * dpr) {
      c.width = w * dpr;
      c.height = hgt * dpr;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const css = getComputedStyle(c);
    const max = Math.max(1024, ...this.#down, ...this.#up) * 1.15;
    const line = (values: readonly number[], color: string, fill: boolean) => {
      if (values.length < 2) return;
      const step = w / (SAMPLES - 1);
      const x0 = w - (values.length - 1) * step;
      ctx.beginPath();
      values.forEach((v, i) => {
        const x = x0 + i * step;
        const y = hgt - 1 - (v / max) * (hgt - 4);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.stroke();
      if (fill) {
        ctx.lineTo(w, hgt);
        ctx.lineTo(x0, hgt);
        ctx.closePath();
        ctx.globalAlpha = 0.15;
        ctx.fillStyle = color;
        ctx.fill();
        ctx.globalAlpha = 1;
      }
    };
    // Colours come from CSS (`color` is the download line, `outline-color` the upload line), so
    // they follow the theme.
    line(this.#up, css.outlineColor, false);
    line(this.#down, css.color, true);
  }
}
