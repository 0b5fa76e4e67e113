// @ts-check
// Parallel coordinates of the study's filtered population: error and the columns the user picks, one line per
// model. Each axis brush IS the filter's range on that column (the one Filter of url.js/filter.js): a brush
// calls onRange(name, lo, hi) like a typed range in the filter panel, and a typed range moves the brush.
//
// The lines are the models that pass every part of the filter except the ranges on the drawn axes (those are
// the brushes), so the coloured lines are exactly the filtered population and the greyed ones are what the
// brushes leave out. Log-scale columns (flops, params, acts) are drawn as log10 with ticks in their own units.
import { fmtValue, LOG_SCALE, xChoices } from "./columns.js";
import { clear, h } from "./dom.js";
import { Filter, roundDown, roundUp } from "./filter.js";
import { plotConfig, plotlyReady } from "./plots.js";
import { plotColors } from "./theme.js";

/** parcoords is WebGL: above this many lines it draws every k-th model (and says so) */
export const MAX_LINES = 20000;
const DEFAULT_AXES = ["flops", "params", "d", "w0", "wm", "g"];

/** @param {number} v */
const log10 = (v) => (v > 0 ? Math.log10(v) : NaN);

/**
 * Tick values and labels of a log10 axis between lo and hi (log units): 1-2-5 steps in the column's format.
 * @param {string} name @param {number} lo @param {number} hi
 */
function logTicks(name, lo, hi) {
  const vals = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const t = Math.log10(m) + e;
      if (t >= lo - 1e-9 && t <= hi + 1e-9) vals.push(t);
    }
  }
  if (vals.length < 2) vals.splice(0, vals.length, lo, hi);
  return { tickvals: vals, ticktext: vals.map((t) => fmtValue(name, 10 ** t)) };
}

export class ParCoords {
  /**
   * @param {HTMLElement} div  where the plot goes
   * @param {{onRange: (name: string, lo: number | null, hi: number | null) => void, onAxes: (names: string[]) => void,
   *   status: HTMLElement}} handlers  onRange: a brush moved (null, null: cleared); onAxes: the picked columns
   */
  constructor(div, { onRange, onAxes, status }) {
    this.div = div;
    this.div.dataset.ownTheme = "1"; // redrawn in the new theme's colours by draw(), not re-coloured by plots.js
    this.onRange = onRange;
    this.onAxes = onAxes;
    this.status = status;
    this.names = /** @type {string[]} */ ([]);
    this.bound = false;
    this.last = null;
    this.key = null;
    this.picker = h("details", { class: "x-picker pc-picker" }, h("summary", {}, "axes"));
  }

  /** The axes: "error" first, then the picked columns present in the population (default: a few of them). */
  axes(pop, picked) {
    const options = xChoices(pop.names);
    const chosen = picked.filter((x) => options.includes(x));
    return ["error", ...(chosen.length ? chosen : DEFAULT_AXES.filter((x) => options.includes(x)).slice(0, 4))];
  }

  buildPicker(pop, names) {
    const on = new Set(names);
    const boxes = xChoices(pop.names).map((x) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: x, checked: on.has(x), onchange: () => {
        const xs = [...this.picker.querySelectorAll("input:checked")].map((i) => /** @type {HTMLInputElement} */ (i).value);
        if (xs.length) this.onAxes(xs);
      } }), ` ${x}`));
    clear(this.picker, h("summary", { title: "choose the columns drawn as axes (error is always drawn)" }, `axes (${names.length})`),
      h("div", { class: "x-options", role: "group", "aria-label": "axes of the parallel coordinates" }, boxes));
  }

  /**
   * Draw (or redraw) for the population and the filter.
   * @param {any} pop  the loaded population (population.js)
   * @param {Filter} filter
   * @param {string[]} picked  the columns the user picked (URL `pc`), error aside
   * @param {string} key  what the drawing depends on (population and filter version, axes, theme): a draw with
   *   the key of the last one is skipped
   */
  async draw(pop, filter, picked, key) {
    if (key === this.key) return;
    this.key = key;
    const names = this.axes(pop, picked);
    if (names.join(",") !== this.names.join(",")) this.buildPicker(pop, names.slice(1));
    this.names = names;
    // every part of the filter except the drawn axes' ranges: those are the brushes
    const rest = new Filter();
    Object.assign(rest, { lasso: filter.lasso, status: filter.status, noFailures: filter.noFailures });
    for (const [name, r] of filter.ranges) if (!names.includes(name)) rest.ranges.set(name, r);
    const base = rest.apply(pop);
    const rows = [];
    let missing = 0;
    for (const i of base) {
      if (names.every((n) => pop.cols[n] && Number.isFinite(pop.cols[n][i]))) rows.push(i);
      else missing += 1;
    }
    const step = Math.max(1, Math.ceil(rows.length / MAX_LINES));
    const drawn = step > 1 ? rows.filter((_, k) => k % step === 0) : rows;
    const theme = plotColors();
    const dims = names.map((name) => {
      const col = pop.cols[name];
      const log = LOG_SCALE.has(name);
      const values = drawn.map((i) => (log ? log10(col[i]) : col[i]));
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of values) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      /** @type {Record<string, any>} */
      const dim = { label: name, values, multiselect: false };
      if (log && lo <= hi) Object.assign(dim, logTicks(name, lo, hi));
      const r = filter.ranges.get(name);
      if (r) {
        const a = r[0] === null ? (lo <= hi ? lo : -Infinity) : log ? log10(r[0]) : r[0];
        const b = r[1] === null ? (lo <= hi ? hi : Infinity) : log ? log10(r[1]) : r[1];
        if (Number.isFinite(a) && Number.isFinite(b)) dim.constraintrange = [a, b];
      }
      return dim;
    });
    const err = pop.cols.error;
    const trace = {
      type: "parcoords",
      dimensions: dims,
      line: { color: drawn.map((i) => err[i]), colorscale: "Viridis", showscale: true,
        colorbar: { title: { text: "error", side: "right" }, thickness: 12, tickfont: { color: theme.font } } },
      // no text halo: Plotly draws one in white by default, a blur on the dark theme
      labelfont: { color: theme.font, size: 12, shadow: "none" },
      tickfont: { color: theme.font, size: 10, shadow: "none" },
      rangefont: { color: theme.muted, size: 10, shadow: "none" },
      unselected: { line: { color: theme.context, opacity: 0.25 } },
    };
    const layout = { height: 380, margin: { l: 60, r: 70, t: 40, b: 24 }, paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)", font: { family: "system-ui, -apple-system, 'Segoe UI', sans-serif", size: 12, color: theme.font } };
    const P = await plotlyReady();
    await P.react(this.div, [trace], layout, plotConfig("netspace-parcoords"));
    this.last = { pop, names };
    this.div.dataset.lines = String(drawn.length);
    this.div.dataset.brushes = dims.filter((d) => d.constraintrange).map((d) => `${d.label}=${d.constraintrange.map((v) => +v.toPrecision(6)).join("..")}`).join(";");
    const parts = [`${drawn.length.toLocaleString()} lines`];
    if (step > 1) parts.push(`every ${step}th of ${rows.length.toLocaleString()} models (WebGL draws at most ${MAX_LINES.toLocaleString()})`);
    if (missing) parts.push(`${missing.toLocaleString()} models without a value on every axis (unfinished) left out`);
    this.status.textContent = `${parts.join("; ")}.`;
    if (!this.bound) {
      this.bound = true;
      /** @type {any} */ (this.div).on("plotly_restyle", (ev) => this.restyled(ev));
    }
  }

  /** A brush ended: `{"dimensions[k].constraintrange": [[lo, hi]] | null}` -> the filter's range on that column. */
  restyled(ev) {
    const change = Array.isArray(ev) ? ev[0] : null;
    if (!change || !this.last) return;
    for (const [key, value] of Object.entries(change)) {
      const m = /^dimensions\[(\d+)\]\.constraintrange$/.exec(key);
      if (!m) continue;
      const name = this.last.names[Number(m[1])];
      if (!name) continue;
      let r = Array.isArray(value) ? value[0] : value;
      if (Array.isArray(r) && Array.isArray(r[0])) r = r[0]; // [[lo, hi]] from a multiselect-style payload
      if (!Array.isArray(r) || r.length !== 2) {
        this.onRange(name, null, null);
        continue;
      }
      const log = LOG_SCALE.has(name);
      const [a, b] = log ? [10 ** r[0], 10 ** r[1]] : r;
      // 4 significant digits, rounded outwards (as a box on the scatter): short URLs, every brushed line kept
      this.onRange(name, roundDown(Math.min(a, b)), roundUp(Math.max(a, b)));
    }
  }

  destroy() {
    if (window.Plotly) window.Plotly.purge(this.div);
  }
}

