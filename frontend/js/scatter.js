// @ts-check
// Error vs parameter: one Plotly figure with a panel per chosen x, drawn from the in-browser population
// with WebGL (scattergl) for large populations. Each panel holds every model once; the filter is shown with Plotly's
// `selectedpoints` (kept models in colour, the rest as grey context), so a filter change is a restyle of
// the selection, not a rebuild of 100,000-point traces. A box or lasso drawn on any panel becomes part of
// the filter. The server adds each panel's statistics (binned trend, bootstrap range) as extra traces.
import { CanvasPoints } from "./canvaspoints.js";
import { fmtValue, label, LOG_SCALE } from "./columns.js";
import { saveBlob } from "./dom.js";
import { plotConfig, plotlyReady } from "./plots.js";
import { plotColors } from "./theme.js";

const GAP = 0.06;
/** SVG is quicker to draw for small populations; WebGL (scattergl) above this many models, as the server does */
const WEBGL_ABOVE = 2000;
/** above this many models the points are painted on canvases under the axes (see canvaspoints.js) */
export const CANVAS_ABOVE = 5000;
const PROBE = 300; // invisible sample per panel, so Plotly's box/lasso selection has points to select

/** [lo, hi] of the finite values, padded, in axis units (log10 for log axes); `known`: the server's [min, max]
 * of the column (pop.ranges), used unless a log axis needs the positive values only. */
function extent(col, log, known) {
  let lo = Infinity;
  let hi = -Infinity;
  if (known && !(log && known[0] <= 0)) [lo, hi] = known; // the server's range: no scan of 10^6 values
  else for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (!(v === v) || (log && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(lo <= hi)) return undefined;
  const [a, b] = log ? [Math.log10(lo), Math.log10(hi)] : [lo, hi];
  const pad = (b - a || Math.abs(a) || 1) * 0.04;
  return [a - pad, b + pad];
}

function strideSample(n, k) {
  const step = Math.max(1, Math.floor(n / k));
  const out = [];
  for (let i = 0; i < n; i += step) out.push(i);
  return out;
}
const SEL_COLOR = "#2563eb";
// after a box/lasso drag, the longest a held redraw waits for Plotly's plotly_selected: it comes ~100 ms after the
// mouseup on an idle machine, took over 400 ms on a loaded one and over 3 s in a loaded test run (a redraw before
// it throws the box away). It only bounds a drag that Plotly never reports, so it can be generous.
const SELECT_SETTLE_MS = 10000;
const BEST = "#d97706";

function gridShape(k, width) {
  const cols = Math.max(1, Math.min(k, Math.floor(width / 330) || 1));
  return { cols, rows: Math.ceil(k / cols) };
}

function axisKey(prefix, i) {
  return i === 0 ? prefix : `${prefix}${i + 1}`;
}

export class ScatterGrid {
  /**
   * @param {PlotlyHTMLElement} div
   * @param {{onSelect?: (sel: object | null) => void, y?: string}} [options]
   *   onSelect(sel) with sel = {x, y, range: [lo, hi], yrange: [lo, hi]} or {x, y, lasso: [[x, y]...]}
   */
  constructor(div, { onSelect, y = "error" } = {}) {
    this.div = div;
    this.y = y;
    this.onSelect = onSelect;
    this.xs = [];
    this.pointTraces = [];
    this.overlays = new Map(); // x -> server traces (trend, band)
    this.bound = false;
    // a redraw in the middle of a box/lasso drag would drop the user's selection: hold it until the mouse is up
    // and Plotly has reported the selection (it does so asynchronously, up to ~100 ms after the mouseup)
    this.pointerDown = false;
    this.pending = null;
    this.keep = null; // the latest selection shown (draw or select): what a held redraw shows
    this.releaseTimer = null;
    this.downAt = null;
    this.onDown = (e) => {
      this.pointerDown = true;
      this.downAt = [e.clientX, e.clientY];
      clearTimeout(this.releaseTimer);
      this.releaseTimer = null;
    };
    this.onUp = (e) => {
      if (!this.pointerDown) return; // a click elsewhere on the page
      this.pointerDown = false;
      // only a box/lasso drag makes a selection to wait for; after a click or a zoom drag, redraw at once
      const moved = Math.hypot(e.clientX - this.downAt[0], e.clientY - this.downAt[1]) > 2;
      const selecting = moved && ["select", "lasso"].includes(this.div.layout?.dragmode);
      clearTimeout(this.releaseTimer);
      this.releaseTimer = setTimeout(() => this.release(), selecting ? SELECT_SETTLE_MS : 0);
    };
    div.addEventListener("pointerdown", this.onDown, true);
    window.addEventListener("pointerup", this.onUp, true);
  }

  destroy() {
    clearTimeout(this.releaseTimer);
    this.div.removeEventListener("pointerdown", this.onDown, true);
    window.removeEventListener("pointerup", this.onUp, true);
    this.points?.destroy();
  }

  /** Rebuild the figure: every model of `pop` on a panel per x; then show `idx` (null = no filter) as selected. */
  async draw(pop, xs, idx) {
    this.keep = idx;
    if (this.pointerDown || this.releaseTimer) return this.holdUntilUp(pop, xs, idx);
    this.pop = pop;
    this.xs = xs;
    const ycol = pop.cols[this.y];
    const width = this.div.clientWidth || 900;
    const { cols, rows } = gridShape(xs.length, width);
    const theme = plotColors(); // the page's light or dark theme (a theme change redraws the grid)
    const layout = {
      autosize: true,
      height: Math.max(340, rows * 300),
      margin: { l: 56, r: 16, t: 24, b: 48 },
      font: { family: "system-ui, -apple-system, 'Segoe UI', sans-serif", size: 12, color: theme.font },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: theme.plot,
      showlegend: false,
      dragmode: "select",
      hovermode: "closest",
      selections: [],
      uirevision: `${pop.studyId}:${xs.join(",")}`,
    };
    const data = [];
    const shapes = [];
    const notes = [];
    const panels = [];
    const canvas = pop.n > CANVAS_ABOVE;
    this.pointTraces = [];
    if (canvas) layout.plot_bgcolor = "rgba(0,0,0,0)";
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
        gridcolor: theme.grid,
        linecolor: theme.line,
      };
      layout[axisKey("yaxis", i)] = {
        domain: [1 - (r + 1) / rows + (r < rows - 1 ? GAP : 0), 1 - r / rows],
        anchor: xref,
        title: c === 0 ? { text: label(this.y) } : undefined,
        automargin: true,
        zeroline: false,
        gridcolor: theme.grid,
        linecolor: theme.line,
      };
      const col = pop.cols[name];
      if (!col) return;
      if (canvas) {
        layout[axisKey("xaxis", i)].range = extent(col, LOG_SCALE.has(name), pop.ranges?.[name]);
        layout[axisKey("yaxis", i)].range = extent(ycol, false, pop.ranges?.[this.y]);
        panels.push({ x: col, y: ycol, xaxis: axisKey("xaxis", i), yaxis: axisKey("yaxis", i), xname: name });
        const sample = strideSample(pop.n, PROBE);
        data.push({
          type: "scatter", mode: "markers", x: sample.map((r) => col[r]), y: sample.map((r) => ycol[r]),
          xaxis: xref, yaxis: yref, marker: { size: 6, opacity: 0 }, hoverinfo: "skip", meta: { role: "probe", x: name },
        });
      } else {
        this.pointTraces.push(data.length);
      }
      if (!canvas) data.push({
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
        unselected: { marker: { color: theme.context, opacity: 0.6 } },
        selectedpoints: idx,
        hovertemplate: `model %{customdata}<br>${name} %{x}<br>error %{y:.2f}<extra></extra>`,
        meta: { role: "points", x: name },
      });
      const over = this.overlays.get(name);
      // the server's statistics in colours that stand out on a dense blue cloud: dark trend, amber best range
      for (const t of over?.traces ?? []) {
        const band = t.fill && t.fill !== "none";
        data.push({ ...t, xaxis: xref, yaxis: yref, showlegend: false,
          ...(band ? { fillcolor: theme.trendBand } : { line: { ...(t.line || {}), color: theme.trend }, marker: { ...(t.marker || {}), color: theme.trend } }) });
      }
      // the panel's n and why a statistic is absent (too few models), as the server states them
      if (over?.notes?.length) {
        notes.push({ text: over.notes.join("<br>"), xref: `${xref} domain`, yref: `${yref} domain`, x: 0, y: 1,
          xanchor: "left", yanchor: "top", align: "left", showarrow: false, font: { size: 10, color: theme.muted },
          bgcolor: theme.noteBg, name: `notes-${name}`, hovertext: over.why || undefined,
          captureevents: Boolean(over.why) });
      }
      for (const sh of over?.shapes ?? []) {
        // the server draws the bootstrap range against the whole plot height ("paper"): pin it to this panel
        const line = sh.type === "line";
        shapes.push({ ...sh, xref, yref: sh.yref === "paper" ? `${yref} domain` : yref, showlegend: false,
          ...(line ? { line: { ...(sh.line || {}), color: BEST } } : { fillcolor: "rgba(245,158,11,0.16)" }) });
      }
    });
    layout.shapes = shapes;
    layout.annotations = notes;
    const P = await plotlyReady();
    // a drag may have started while plotly.js loaded: redrawing now would drop the user's box
    if (this.pointerDown || this.releaseTimer) return this.holdUntilUp(pop, xs, idx);
    const config = plotConfig("netspace-scatter");
    if (canvas) {
      // Plotly's own image export cannot see the canvases: a PNG button that composes both instead
      config.modeBarButtonsToRemove = ["toImage"];
      config.modeBarButtonsToAdd = [{
        name: "Download plot as PNG",
        icon: P.Icons.camera,
        click: async () => saveBlob(await (await fetch(await this.points.toPNG(P))).blob(), "netspace-scatter.png"),
      }];
    }
    const key = `${pop.studyId}|${pop.n}|${xs.join(",")}`;
    if (this.points && (!canvas || this.pointsKey !== key || this.points.pop !== pop)) {
      this.points.destroy();
      this.points = null;
    }
    await P.react(this.div, data, layout, config);
    if (canvas && !this.points) {
      this.points = new CanvasPoints(this.div, pop, panels, { format: fmtValue });
      this.pointsKey = key;
    }
    if (!this.bound) this.bind();
    if (this.points) this.points.setKeep(idx);
  }

  /** Draw once the mouse is up and the selection reported (the latest arguments; every caller's promise resolves). */
  holdUntilUp(pop, xs, idx) {
    return new Promise((resolve) => {
      this.pending = { args: [pop, xs, idx], resolvers: [...(this.pending?.resolvers ?? []), resolve] };
    });
  }

  /** Run the held redraw, with the selection as it is now (a box just drawn has changed it meanwhile). */
  release() {
    clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    if (this.pointerDown) return;
    const p = this.pending;
    this.pending = null;
    if (p) this.draw(p.args[0], p.args[1], this.keep).then(() => p.resolvers.forEach((r) => r()));
  }

  /** Show the filter: `idx` ascending row indices of the kept models, or null when nothing is filtered. */
  select(idx) {
    this.keep = idx;
    if (this.points) {
      this.points.setKeep(idx);
      return Promise.resolve();
    }
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
    // zoom, pan, autoscale and resize move the axes: repaint the canvases to match
    this.div.on("plotly_relayout", () => this.points?.render());
    this.div.on("plotly_afterplot", () => this.points?.render());
    this.div.on("plotly_selected", (ev) => {
      const sel = ev ? this.selectionFrom(ev) : null;
      if (sel) this.onSelect?.(sel);
      this.release();
    });
    this.div.on("plotly_deselect", () => this.release());
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
