// @ts-check
// Compare: two or more studies overlaid — EDFs (plain and complexity-normalised), the statistics table with
// KS tests, parameter trends and random-search efficiency, all drawn by the server's figure builders.
import { getJSON } from "../api.js";
import { clear, fmtError, h } from "../dom.js";
import { coalesce } from "../events.js";
import { COMPLEXITY, GLOBAL, label } from "../columns.js";
import { figureKinds } from "../figurekinds.js";
import { Filter } from "../filter.js";
import { plotCard, ServerFigure } from "../plots.js";
import { replaceQuery, routeHash } from "../url.js";

/** @typedef {import("../api.js").Schemas} Schemas  the API's documented JSON shapes */

/** bin counts offered for the normalised EDF (the server takes 1..100; 10 is its default) */
const NORM_BINS = [2, 3, 4, 5, 6, 8, 10, 15, 20];

export function mount(root, route, ctx) {
  let query = new URLSearchParams(route.query);
  const picker = h("fieldset", { class: "study-picker card" }, h("legend", {}, "Studies to compare (pick two or more)"));
  const statsRoot = h("div", { id: "compare-stats" });
  const dropped = h("p", { class: "warn-note", id: "compare-dropped", role: "status", hidden: true });
  /** @type {Schemas["Study"][]} */
  let studies = [];

  const xSel = h("select", { "aria-label": "parameter on the x axis", onchange: (e) => setParam("x", e.target.value) },
    [...COMPLEXITY, ...GLOBAL].map((x) => h("option", { value: x }, label(x))));
  const bySel = h("select", { "aria-label": "normalise by", onchange: (e) => setParam("by", e.target.value) },
    COMPLEXITY.map((x) => h("option", { value: x }, `by ${x}`)));
  // the normalised EDF needs every complexity bin to hold a model: when it cannot be drawn, its message asks
  // for fewer bins or log-spaced bins — both are here
  const binsSel = h("select", { "aria-label": "complexity bins", id: "norm-bins", onchange: (e) => setParam("bins", e.target.value) },
    [h("option", { value: "", title: "10 equal bins, else 10 log-spaced, else 5 log-spaced: the first that works" }, "auto bins"),
      ...NORM_BINS.map((b) => h("option", { value: String(b) }, `${b} bins`))]);
  const logBox = h("input", { type: "checkbox", id: "norm-log", onchange: (e) => setParam("log", e.target.checked ? "1" : "") });
  const normControls = h("span", { class: "row" }, bySel, binsSel, h("label", { class: "check", for: "norm-log" }, logBox, " log-spaced"));
  // one card per figure kind the registry puts on this page (GET /api/figures), in its order; a kind's options
  // choose its control: `param` the x column, `by` the complexity to normalise by
  const figs = figureKinds("compare").map((kind) => {
    const f = { kind: kind.kind, x: kind.options.includes("param"), by: kind.options.includes("by") };
    const parts = plotCard(kind.label, kind.help, { controls: f.x ? xSel : f.by ? normControls : null });
    parts.plot.id = `cmp-${f.kind}`;
    return { ...f, parts, fig: new ServerFigure(parts, { filename: `netspace-compare-${f.kind}` }) };
  });
  const body = h("div", { class: "plots" },
    h("section", { class: "card wide", "aria-labelledby": "stats-title" },
      h("div", { class: "card-head" }, h("h3", { id: "stats-title" }, "Statistics")),
      h("p", { class: "help" }, h("span", { class: "help-tag" }, "How to read: "),
        "n, min, mean and median error per study, and the two-sample Kolmogorov–Smirnov statistic and p-value for each pair (small p: the error distributions differ)."),
      dropped,
      statsRoot),
    figs.map((f) => f.parts.card));
  const hint = h("p", { class: "muted" });
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Compare studies")), picker, hint, body);

  const chosen = () => query.getAll("study");

  function setParam(k, v) {
    if (v) query.set(k, v);
    else query.delete(k);
    replaceQuery(query);
    loadFigures();
  }

  function toggle(id, on) {
    const ids = new Set(chosen());
    if (on) ids.add(id);
    else ids.delete(id);
    query.delete("study");
    for (const x of ids) query.append("study", x);
    replaceQuery(query);
    loadFigures();
  }

  async function loadPicker() {
    try {
      /** @type {Schemas["Study"][]} */
      const data = await getJSON("/api/studies");
      const list = data;
      studies = list;
      if (lastMeta) renderStats(lastMeta); // the statistics may have come first: name the studies they leave out
      const ids = new Set(chosen());
      clear(picker, h("legend", {}, "Studies to compare (pick two or more)"),
        list.length
          ? h("div", { class: "picker-options" }, list.map((s) => h("label", { class: "check" },
            h("input", { type: "checkbox", value: String(s.id), checked: ids.has(String(s.id)), onchange: (e) => toggle(String(s.id), e.target.checked) }),
            ` ${s.name} `, h("span", { class: "muted" }, `(${s.space_name ?? ""}, best ${fmtError(s.counts?.best_error)})`))))
          : h("p", {}, "No studies yet. ", h("a", { href: routeHash("queue") }, "Create one"), "."));
    } catch (err) {
      ctx.banner.error(err);
    }
  }

  function figureQuery(extra = {}) {
    const f = Filter.fromQuery(query);
    f.lasso = null; // a lasso belongs to one study's models
    return { study: chosen(), ...f.serverQuery(), ...extra };
  }

  let statsCtrl = null;
  async function loadStats() {
    statsCtrl?.abort();
    statsCtrl = new AbortController();
    const signal = statsCtrl.signal;
    try {
      /** @type {Schemas["PlotlyFigure"]} */
      const fig = await getJSON("/api/figures/stats", figureQuery(), { signal });
      renderStats(fig.layout?.meta ?? {});
    } catch (err) {
      if (!signal.aborted) clear(statsRoot, h("p", { class: "plot-status error" }, `Could not compute the statistics: ${err.message}`));
    }
  }

  /** The stats figure's meta ({stats: {label: {n, min, mean, median}}, pairs: [{a, b, ks, p_value, absent?}]}) as
   * HTML tables; a pair with too few models per side has no p-value, and says why (absent). */
  let lastMeta = null;
  function renderStats(meta) {
    lastMeta = meta;
    const stats = Object.entries(meta.stats ?? {});
    // a chosen study without finished models has no EDF, row or legend entry: say so rather than drop it
    const absent = chosen().map((id) => studies.find((s) => String(s.id) === id)).filter((s) => s && !(s.name in (meta.stats ?? {})));
    dropped.hidden = !absent.length;
    dropped.textContent = absent.length
      ? `Left out (no finished models yet, so no EDF, statistics or legend entry): ${absent.map((s) =>
        `“${s.name}” (${s.counts?.models ?? 0} models, ${s.counts?.jobs?.done ?? 0} done)`).join(", ")}.`
      : "";
    const pairs = meta.pairs ?? [];
    if (!stats.length) {
      clear(statsRoot, h("p", { class: "muted" }, "No finished models in these studies yet."));
      return;
    }
    const summary = h("table", { class: "data", id: "stats-table" },
      h("caption", { class: "sr-only" }, "Error statistics per study"),
      h("thead", {}, h("tr", {}, ["Study", "n", "min (%)", "mean (%)", "median (%)"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, stats.map(([name, r]) => h("tr", {}, h("th", { scope: "row" }, name),
        h("td", { class: "num" }, String(r.n)), h("td", { class: "num" }, fmtError(r.min)),
        h("td", { class: "num" }, fmtError(r.mean)), h("td", { class: "num" }, fmtError(r.median))))));
    const ks = pairs.length
      ? h("table", { class: "data", id: "ks-table" },
        h("caption", { class: "sr-only" }, "Kolmogorov–Smirnov tests between pairs"),
        h("thead", {}, h("tr", {}, ["Pair", "KS statistic", "p-value"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, pairs.map((p) => h("tr", {}, h("th", { scope: "row" }, `${p.a} vs ${p.b}`),
          h("td", { class: "num" }, Number(p.ks).toFixed(3)),
          p.p_value === null || p.p_value === undefined
            ? h("td", { class: "muted", title: p.absent ?? "" }, p.absent ?? "n/a")
            : h("td", { class: "num" }, Number(p.p_value).toPrecision(3))))))
      : null;
    clear(statsRoot, h("div", { class: "table-wrap" }, summary), ks && h("div", { class: "table-wrap" }, ks));
  }

  /** by, and bins / log only when chosen: without them the server tries 10 equal, 10 log-spaced, then 5 bins */
  function normQuery() {
    return { by: bySel.value, ...(binsSel.value ? { bins: binsSel.value } : {}), ...(logBox.checked ? { log: true } : {}) };
  }

  function loadFigures() {
    const ids = chosen();
    xSel.value = query.get("x") || "flops";
    bySel.value = query.get("by") || "flops";
    binsSel.value = NORM_BINS.includes(Number(query.get("bins"))) ? String(query.get("bins")) : "";
    logBox.checked = query.get("log") === "1";
    body.hidden = ids.length < 2;
    hint.textContent = ids.length < 2 ? "Pick at least two studies above to overlay them." : "";
    if (ids.length < 2) return;
    loadStats();
    for (const f of figs) {
      const extra = f.x ? { param: xSel.value } : f.by ? normQuery() : {};
      f.fig.load(`/api/figures/${f.kind}`, figureQuery(extra));
    }
  }

  const soon = coalesce(async () => {
    await loadPicker();
    loadFigures();
  }, 500);
  const off = ctx.live.on((ev) => {
    const sid = ev.data?.study_id;
    if (ev.type === "reconnected" || ev.type.startsWith("study") || (sid !== undefined && chosen().includes(String(sid)))) soon();
  });
  loadPicker();
  loadFigures();
  return {
    update(q) {
      query = new URLSearchParams(q);
      loadPicker();
      loadFigures();
    },
    unmount() {
      off();
      statsCtrl?.abort();
      soon.cancel();
      for (const f of figs) f.fig.destroy();
    },
  };
}
