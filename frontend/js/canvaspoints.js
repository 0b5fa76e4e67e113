// @ts-check
// Large point clouds drawn on plain 2D canvases under a Plotly figure's axes.
//
// Without a GPU (headless Chromium, many laptops in remote sessions) WebGL runs in software, and Plotly's
// scattergl spends ~1 s per 100,000 points on every redraw. Writing pixels straight into an ImageData costs
// ~25 ms for the same points, so for large populations the scatter grid keeps Plotly for what it is good at
// (axes, zoom, box/lasso selection, the server's trend lines and bands drawn above) and paints the models
// itself: one canvas per panel, placed under Plotly's SVG, redrawn on a filter change or a zoom. Hover is a
// grid lookup of the nearest point; the PNG download composes the canvases with Plotly's own image.

const SEL = [37, 99, 235]; // #2563eb
const CONTEXT = [203, 213, 225]; // #cbd5e1
const CELL = 8; // px per hover-index cell
const HOVER_PX = 6;

/**
 * @param {number[]} rgb  red, green, blue in 0..255
 * @param {number} [a]
 */
function rgba([r, g, b], a = 255) {
  return ((a << 24) | (b << 16) | (g << 8) | r) >>> 0; // little-endian ImageData word
}

export class CanvasPoints {
  /**
   * @param {PlotlyHTMLElement} gd
   * @param {any} pop  the loaded population (population.js)
   * @param {any[]} panels  [{x: Float64Array, y: Float64Array, xaxis: "xaxis2", yaxis: "yaxis2", xname}]
   * @param {{format?: (name: string, v: number) => string}} [options]
   */
  constructor(gd, pop, panels, { format = (_name, v) => String(v) } = {}) {
    this.gd = gd;
    this.pop = pop;
    this.panels = panels.map((p) => ({ ...p, canvas: null, index: null }));
    this.keep = null;
    this.format = format;
    this.tip = null;
    this.onMove = (e) => this.hover(e);
    this.onLeave = () => this.hideTip();
    gd.addEventListener("mousemove", this.onMove);
    gd.addEventListener("mouseleave", this.onLeave);
  }

  destroy() {
    this.gd.removeEventListener("mousemove", this.onMove);
    this.gd.removeEventListener("mouseleave", this.onLeave);
    for (const p of this.panels) p.canvas?.remove();
    this.tip?.remove();
  }

  /** Kept rows (ascending indices) in colour, the rest as grey context; null = every row kept. */
  setKeep(idx) {
    if (idx === null) this.keep = null;
    else {
      this.keep = new Uint8Array(this.pop.n);
      for (let j = 0; j < idx.length; j++) this.keep[idx[j]] = 1;
    }
    this.render();
  }

  /** (Re)paint every panel at the axes' current ranges (after a draw, zoom, pan or resize). */
  render() {
    const fl = this.gd._fullLayout;
    const host = this.gd.querySelector(".svg-container");
    if (!fl || !host) return;
    for (const p of this.panels) {
      const xa = fl[p.xaxis];
      const ya = fl[p.yaxis];
      if (!xa || !ya) continue;
      const w = Math.max(1, Math.round(xa._length));
      const h = Math.max(1, Math.round(ya._length));
      if (!p.canvas) {
        p.canvas = document.createElement("canvas");
        p.canvas.className = "points-layer";
        p.canvas.setAttribute("aria-hidden", "true");
      }
      const c = p.canvas;
      // under Plotly's first SVG (grid, trend lines, bands stay on top); Plotly may rebuild its layers
      const svg = host.querySelector(":scope > svg.main-svg");
      if (c.parentNode !== host || (svg && c.compareDocumentPosition(svg) & Node.DOCUMENT_POSITION_PRECEDING)) {
        host.insertBefore(c, svg ?? host.firstChild);
      }
      if (c.width !== w || c.height !== h) {
        c.width = w;
        c.height = h;
      }
      Object.assign(c.style, { left: `${xa._offset}px`, top: `${ya._offset}px`, width: `${w}px`, height: `${h}px` });
      this.paint(p, xa, ya, w, h);
    }
  }

  paint(p, xa, ya, w, h) {
    const g = p.canvas.getContext("2d");
    const img = g.createImageData(w, h);
    const buf = new Uint32Array(img.data.buffer);
    buf.fill(rgba([255, 255, 255]));
    const tx = xa.type === "log" ? Math.log10 : (v) => v;
    const ty = ya.type === "log" ? Math.log10 : (v) => v;
    const [x0, x1] = xa.range;
    const [y0, y1] = ya.range;
    const sx = w / (x1 - x0);
    const sy = h / (y1 - y0);
    const n = this.pop.n;
    const px = new Int32Array(n).fill(-1);
    const py = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const u = (tx(p.x[i]) - x0) * sx;
      const v = h - (ty(p.y[i]) - y0) * sy;
      if (u >= 0 && u < w && v >= 0 && v < h) {
        px[i] = u | 0;
        py[i] = v | 0;
      }
    }
    const keep = this.keep;
    const dot = (i, col) => {
      const cx = px[i];
      const cy = py[i];
      for (let dy = -1; dy <= 1; dy++) {
        const yy = cy + dy;
        if (yy < 0 || yy >= h) continue;
        const row = yy * w;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = cx + dx;
          if (xx >= 0 && xx < w) buf[row + xx] = col;
        }
      }
    };
    const ctx = rgba(CONTEXT);
    const sel = rgba(SEL);
    if (keep) for (let i = 0; i < n; i++) if (px[i] >= 0 && !keep[i]) dot(i, ctx);
    for (let i = 0; i < n; i++) if (px[i] >= 0 && (!keep || keep[i])) dot(i, sel);
    g.putImageData(img, 0, 0);
    p.index = { px, py, w, h, cols: Math.ceil(w / CELL), cells: null };
  }

  /** Bucket the drawn points by CELL-sized squares, on first hover after a paint. */
  cells(p) {
    const ix = p.index;
    if (ix.cells) return ix.cells;
    const cells = new Map();
    for (let i = 0; i < ix.px.length; i++) {
      if (ix.px[i] < 0) continue;
      const k = ((ix.py[i] / CELL) | 0) * ix.cols + ((ix.px[i] / CELL) | 0);
      const list = cells.get(k);
      if (list) list.push(i);
      else cells.set(k, [i]);
    }
    ix.cells = cells;
    return cells;
  }

  hover(e) {
    const hit = this.nearest(e);
    if (!hit) return this.hideTip();
    const { p, i, rect } = hit;
    if (!this.tip) {
      this.tip = document.createElement("div");
      this.tip.className = "points-tip";
      this.tip.setAttribute("role", "tooltip");
      document.body.append(this.tip);
    }
    const state = this.keep && !this.keep[i] ? " (filtered out)" : "";
    this.tip.textContent = `model ${this.pop.ids[i]}${state} · ${p.xname} ${this.format(p.xname, p.x[i])} · error ${this.format("error", p.y[i])}`;
    Object.assign(this.tip.style, { left: `${rect.left + p.index.px[i] + window.scrollX + 10}px`, top: `${rect.top + p.index.py[i] + window.scrollY - 28}px`, display: "block" });
  }

  hideTip() {
    if (this.tip) this.tip.style.display = "none";
  }

  nearest(e) {
    for (const p of this.panels) {
      if (!p.canvas || !p.index) continue;
      const rect = p.canvas.getBoundingClientRect();
      const u = e.clientX - rect.left;
      const v = e.clientY - rect.top;
      if (u < 0 || v < 0 || u >= rect.width || v >= rect.height) continue;
      const cells = this.cells(p);
      const cu = (u / CELL) | 0;
      const cv = (v / CELL) | 0;
      let best = -1;
      let bestD = HOVER_PX * HOVER_PX;
      for (let a = cv - 1; a <= cv + 1; a++) {
        for (let b = cu - 1; b <= cu + 1; b++) {
          for (const i of cells.get(a * p.index.cols + b) ?? []) {
            const d = (p.index.px[i] - u) ** 2 + (p.index.py[i] - v) ** 2;
            if (d < bestD || (d === bestD && this.keep?.[i])) {
              bestD = d;
              best = i;
            }
          }
        }
      }
      return best >= 0 ? { p, i: best, rect } : null;
    }
    return null;
  }

  /** A PNG of the whole figure: Plotly's image (axes, lines, bands) over these canvases. */
  async toPNG(Plotly) {
    const fl = this.gd._fullLayout;
    const url = await Plotly.toImage(this.gd, { format: "png", width: fl.width, height: fl.height, scale: 1 });
    const out = document.createElement("canvas");
    out.width = fl.width;
    out.height = fl.height;
    const g = out.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, out.width, out.height);
    for (const p of this.panels) if (p.canvas) g.drawImage(p.canvas, fl[p.xaxis]._offset, fl[p.yaxis]._offset);
    const img = new Image();
    img.src = url;
    await img.decode();
    g.drawImage(img, 0, 0);
    return out.toDataURL("image/png");
  }
}
