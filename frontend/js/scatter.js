// Error vs parameter: one Plotly figure with a panel per chosen x, drawn from the in-browser population
// with WebGL (scattergl) for large populations. Each panel holds every model once; the filter is shown with Plotly's
// `selectedpoints` (kept models in colour, the rest as grey context), so a filter change is a restyle of
// the selection, not a rebuild of 100,000-point traces. A box or lasso drawn on any panel becomes part of
// the filter. The server adds each panel's statistics (binned trend, bootstrap range) as extra traces.
import { label, LOG_SCALE } from "./columns.js";
import { plotConfig, plotlyReady } from "./plots.js";

const GAP = 0.06;
/** SVG is quicker to draw for small populations; WebGL (scattergl) above this many models, as the server does */
const WEBGL_ABOVE = 2000;
const SEL_COLOR = "#2563eb";
const CONTEXT_COLOR = "#cbd5e1";

function gridShape(k, width) {
  const cols = Math.max(1, Math.min(k, Math.floor(width / 330) || 1));
  return { cols, rows: Math.ceil(k / cols) };
}

function axisKey(prefix, i) {
  return i === 0 ? prefix : `${prefix}${i + 1}`;
}

export class ScatterGrid {
  /** @param onSelect (sel) => void with sel = {x, y, range: [lo, hi], yrange: [lo, hi]} or {x, y, lasso: [[x, y]...]} */
  constructor(div, { onSelect, y = "error" } = {}) {
    this.div = div;
    this.y = y;
    this.onSelect = onSelect;
    this.xs = [];
    this.pointTraces = [];
    this.overlays = new Map(); // x -> server traces (trend, band)
    this.bound = false;
    // a redraw in the middle of a box/lasso drag would drop the user's selection: hold it until the mouse is up
    this.pointerDown = false;
    this.pending = null;
    this.onDown = () => {
      this.pointerDown = true;
    };
    this.onUp = () => {
      this.pointerDown = false;
      const p = this.pending;
      this.pending = null;
      if (p) this.draw(...p.args).then(() => p.resolvers.forEach((r) => r()));
    };
    div.addEventListener("pointerdown", this.onDown, true);
    window.addEventListener("pointerup", this.onUp, true);
  }

  destroy() {
    this.div.removeEventListener("pointerdown", this.onDown, true);
    window.removeEventListener("pointerup", this.onUp, true);
  }

  /** Rebuild the figure: every model of `pop` on a panel per x; then show `idx` (null = no filter) as selected. */
  async draw(pop, xs, idx) {
    if (this.pointerDown) {
      return new Promise((resolve) => {
        this.pending = { args: [pop, xs, idx], resolvers: [...(this.pending?.resolvers ?? []), resolve] };
      });
    }
    this.pop = pop;
    this.xs = xs;
    const ycol = pop.cols[this.y];
    const width = this.div.clientWidth || 900;
    const { cols, rows } = gridShape(xs.length, width);
    const layout = {
      autosize: true,
      height: Math.max(340, rows * 300),
      margin: { l: 56, r: 16, t: 24, b: 48 },
      font: { family: "system-ui, -apple-system, 'Segoe UI', sans-serif", size: 12 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "#fff",
      showlegend: false,
      dragmode: "select",
      hovermode: "closest",
      selections: [],
      uirevision: `${pop.studyId}:${xs.join(",")}`,
    };
    const data = [];
    const shapes = [];
    this.pointTraces = [];
    xs.forEach((name, i) => {
      const r = Math.floor(i / cols);
      const c = i % cols;
      const xref = axisKey("x", i);
      const yref = axisKey("y", i);
      layout[axisKey("xaxis", i)] = {
        domain: [c / cols + (c ? GAP / 2 : 0), (c + 1) / cols - (c < cols - 1 ? GAP / 2 : 0)],
        anchor: yref,
        type: LOG_SCALE.has(name) ? "log" : "linear",
        title: { text: label(name), standoff: 4 },
        automargin: true,
        zeroline: false,
      };
      layout[axisKey("yaxis", i)] = {
        domain: [1 - (r + 1) / rows + (r < rows - 1 ? GAP : 0), 1 - r / rows],
        anchor: xref,
        title: c === 0 ? { text: label(this.y) } : undefined,
        automargin: true,
        zeroline: false,
      };
      const col = pop.cols[name];
      if (!col) return;
      this.pointTraces.push(data.length);
      data.push({
        type: pop.n > WEBGL_ABOVE ? "scattergl" : "scatter",
        mode: "markers",
        name: "models",
        x: col,
        y: ycol,
        customdata: pop.ids,
        xaxis: xref,
        yaxis: yref,
        marker: { color: SEL_COLOR, size: 4, opacity: 0.8 },
        selected: { marker: { color: SEL_COLOR, opacity: 0.8 } },
        unselected: { marker: { color: CONTEXT_COLOR, opacity: 0.6 } },
        selectedpoints: idx,
        hovertemplate: `model %{customdata}<br>${name} %{x}<br>error %{y:.2f}<extra></extra>`,
        meta: { role: "points", x: name },
      });
      const over = this.overlays.get(name);
      for (const t of over?.traces ?? []) data.push({ ...t, xaxis: xref, yaxis: yref, showlegend: false });
      for (const sh of over?.shapes ?? []) {
        // the server draws the bootstrap range against the whole plot height ("paper"): pin it to this panel
        shapes.push({ ...sh, xref, yref: sh.yref === "paper" ? `${yref} domain` : yref, showlegend: false });
      }
    });
    layout.shapes = shapes;
    const P = await plotlyReady();
    await P.react(this.div, data, layout, plotConfig("netspace-scatter"));
    if (!this.bound) this.bind();
  }

  /** Show the filter: `idx` ascending row indices of the kept models, or null when nothing is filtered. */
  select(idx) {
    if (!this.pointTraces.length || !window.Plotly) return Promise.resolve();
    const sel = idx === null ? null : idx;
    return window.Plotly.restyle(this.div, { selectedpoints: this.pointTraces.map(() => sel) }, this.pointTraces);
  }

  /** Server statistics for panel `x` ({traces, shapes} without the raw points); drawn on the next draw(). */
  setOverlay(x, overlay) {
    this.overlays.set(x, overlay);
  }

  clearOverlays() {
    this.overlays.clear();
  }

  bind() {
    this.bound = true;
    this.div.on("plotly_selected", (ev) => {
      if (!ev) return;
      const sel = this.selectionFrom(ev);
      if (sel) this.onSelect?.(sel);
    });
  }

  selectionFrom(ev) {
    const source = ev.range ?? ev.lassoPoints;
    if (!source) return null;
    const xkey = Object.keys(source).find((k) => k.startsWith("x"));
    const ykey = Object.keys(source).find((k) => k.startsWith("y"));
    if (!xkey || !ykey) return null;
    const panel = xkey === "x" ? 0 : Number(xkey.slice(1)) - 1;
    const x = this.xs[panel];
    if (!x) return null;
    if (ev.range) {
      const [a, b] = source[xkey];
      const [c, d] = source[ykey];
      return { x, y: this.y, range: [Math.min(a, b), Math.max(a, b)], yrange: [Math.min(c, d), Math.max(c, d)] };
    }
    const xsP = source[xkey];
    const ysP = source[ykey];
    return { x, y: this.y, lasso: xsP.map((v, i) => [v, ysP[i]]) };
  }
}
