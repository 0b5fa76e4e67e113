// @ts-check
// Plotly glue: cards with a title and a one-line "how to read this", figure JSON from the server drawn as is
// (the Python figure builders are the single source of truth), PNG and SVG export from the toolbar.
import { getJSON, isReal } from "./api.js";
import { h } from "./dom.js";
import { plotTheme, THEME_EVENT } from "./theme.js";

/** @typedef {import("./api.js").Schemas} Schemas  the API's documented JSON shapes */

let cardSeq = 0;

let ready = null;

/**
 * plotly.js (4.8 MB) loads `async`, so pages fetch their data and draw tables while the browser is still
 * parsing it; everything that draws a plot awaits this first.
 */
export function plotlyReady() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  ready ??= new Promise((resolve, reject) => {
    const el = document.getElementById("plotly-js");
    if (!el) return reject(new Error("plotly.js is not on this page"));
    el.addEventListener("load", () => resolve(window.Plotly));
    el.addEventListener("error", () => reject(new Error("plotly.js did not load (/static/vendor/plotly.min.js)")));
  });
  return ready;
}

export function plotConfig(filename = "netspace") {
  const P = window.Plotly;
  const svg = {
    name: "Download plot as SVG",
    icon: P ? P.Icons.disk : undefined,
    click: (gd) => P.downloadImage(gd, { format: "svg", filename }),
  };
  return {
    responsive: true,
    displaylogo: false,
    toImageButtonOptions: { format: "png", filename, scale: 2 },
    modeBarButtonsToAdd: [svg],
  };
}

const BASE_LAYOUT = {
  autosize: true,
  margin: { l: 60, r: 20, t: 30, b: 50 },
  font: { family: "system-ui, -apple-system, 'Segoe UI', sans-serif", size: 12 },
  paper_bgcolor: "rgba(0,0,0,0)",
  legend: { orientation: "h", y: -0.2 },
};

/**
 * A horizontal legend goes under the whole figure (anchored to the bottom of its container, so Plotly grows the
 * bottom margin to fit it) rather than at a fixed fraction under the plot, where it covered the x-axis title
 * and, once long, shrank the plot into a scroll box. Narrow cards put every legend there.
 * @param {Record<string, any> | undefined} own  the figure's legend
 * @param {boolean} narrow
 */
function legendBelow(own, narrow) {
  const legend = { ...BASE_LAYOUT.legend, ...(own || {}) };
  if (!narrow && (legend.orientation !== "h" || (legend.y ?? 0) >= 0)) return legend;
  return { ...legend, orientation: "h", x: 0, xanchor: "left", yref: "container", y: 0, yanchor: "bottom" };
}

/** A figure card: <section> with heading, help line, status line and the plot <div>. */
export function plotCard(title, help, { wide = false, controls = null, height = 360 } = {}) {
  const id = `plot-${++cardSeq}`;
  const plot = h("div", { class: "plot", id, role: "img", "aria-label": title, style: { minHeight: `${height}px` } });
  const status = h("p", { class: "plot-status", "aria-live": "polite" });
  const helpText = h("span", { class: "help-text" }, help);
  const card = h(
    "section",
    { class: `card plot-card${wide ? " wide" : ""}`, "aria-labelledby": `${id}-title` },
    h("div", { class: "card-head" }, h("h3", { id: `${id}-title` }, title), controls),
    h("p", { class: "help" }, h("span", { class: "help-tag" }, "How to read: "), helpText),
    status,
    plot,
  );
  return { card, plot, status, helpText, height };
}

/** Draw figure JSON ({data, layout}); our layout defaults first, the figure's own layout wins. */
export async function drawFigure(div, fig, { height = 360, filename = "netspace", layout = {} } = {}) {
  const P = await plotlyReady();
  const own = fig.layout || {};
  const merged = {
    ...BASE_LAYOUT,
    height,
    ...own,
    // the card carries the title; keep the figure's legend settings but let it sit below narrow plots
    title: { text: "" },
    margin: { ...BASE_LAYOUT.margin, ...(own.margin || {}), t: 20 },
    legend: legendBelow(own.legend, div.clientWidth < 700),
    ...layout,
  };
  return P.react(div, fig.data || [], { ...merged, ...plotTheme(merged) }, plotConfig(filename));
}

/**
 * A theme change re-colours every figure on the page that was drawn by `drawFigure` (backgrounds, text, axes);
 * figures that draw themselves in the theme's colours (the scatter grid, parallel coordinates) carry
 * `data-own-theme` and are redrawn by their owners.
 */
window.addEventListener(THEME_EVENT, () => {
  const P = window.Plotly;
  if (!P) return;
  for (const gd of /** @type {NodeListOf<any>} */ (document.querySelectorAll(".js-plotly-plot"))) {
    if (gd.dataset.ownTheme || !gd.layout) continue;
    P.relayout(gd, plotTheme(gd.layout, { flat: true }));
  }
});

export function purge(div) {
  if (window.Plotly && div) window.Plotly.purge(div);
}

/** The message of a figure that has no data, only an annotation saying why (backend/figures/common.py empty()). */
export function emptyNote(fig) {
  const notes = fig.layout?.annotations ?? [];
  return (fig.data ?? []).length === 0 && notes.length ? notes.map((a) => a.text).join(" ") : null;
}

/** A card whose figure comes from a server endpoint; newer loads abort older ones, errors show in the card. */
export class ServerFigure {
  constructor(cardParts, { filename = "netspace" } = {}) {
    this.parts = cardParts;
    this.help = cardParts.helpText.textContent; // the registry's help, shown again when a load fails
    this.filename = filename;
    this.ctrl = null;
    this.loaded = 0; // drawn figures, for tests and benchmarks (data-loaded: count, or "error")
    this.done = 0; // finished loads, drawn or failed (data-done)
  }

  async load(url, query) {
    if (this.ctrl) this.ctrl.abort();
    const ctrl = new AbortController();
    this.ctrl = ctrl;
    const { status, plot, height } = this.parts;
    status.textContent = "Loading…";
    status.classList.remove("error");
    try {
      /** @type {Schemas["PlotlyFigure"]} */
      const fig = await getJSON(url, query, { signal: ctrl.signal });
      if (ctrl.signal.aborted) return;
      const note = emptyNote(fig);
      if (note !== null) {
        // the builder says why there is nothing to draw ("no finished models yet", an empty bin): say it as text
        purge(plot);
        plot.style.minHeight = "0";
        status.textContent = note;
        this.loaded += 1;
        plot.dataset.loaded = String(this.loaded);
        plot.dataset.done = String(++this.done);
        return;
      }
      plot.style.minHeight = `${height}px`;
      await drawFigure(plot, fig, { height, filename: this.filename });
      // the figure builder's own "how to read this" (Python is the source of truth) replaces ours
      const meta = /** @type {{help?: string, note?: string}} */ (fig.layout?.meta ?? {});
      if (meta.help) this.parts.helpText.textContent = meta.help;
      status.textContent = meta.note ?? "";
      this.loaded += 1;
      plot.dataset.loaded = String(this.loaded);
      plot.dataset.done = String(++this.done);
    } catch (err) {
      if (!isReal(err) || ctrl.signal.aborted) return;
      this.fail(err);
    }
  }

  /** Show why this figure cannot be drawn right now (e.g. a filter the server cannot take). */
  fail(err) {
    if (this.ctrl) this.ctrl.abort();
    purge(this.parts.plot);
    // a figure drawn earlier may have set its own help (e.g. "normalised by params"): it no longer applies
    this.parts.helpText.textContent = this.help;
    this.parts.status.textContent = `Could not draw this figure: ${err.message}`;
    this.parts.status.classList.add("error");
    this.parts.plot.dataset.loaded = "error";
    this.parts.plot.dataset.done = String(++this.done);
  }

  destroy() {
    if (this.ctrl) this.ctrl.abort();
    purge(this.parts.plot);
  }
}
