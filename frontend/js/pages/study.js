// @ts-check
// Study: the population of one study. One Filter (in the URL) drives the client-drawn scatter grid and table
// and the server-drawn statistics figures; live events reload the population while workers train.
import { getJSON, isReal, request } from "../api.js";
import { clear, debounce, fmtCount, fmtDate, fmtNum, h, saveBlob } from "../dom.js";
import { coalesce } from "../events.js";
import { COMPLEXITY, FILTERABLE_RESULTS, GLOBAL, STAGE, xChoices } from "../columns.js";
import { figureKinds } from "../figurekinds.js";
import { Filter, roundDown, roundUp } from "../filter.js";
import { FilterPanel } from "../filterpanel.js";
import { lineageCard } from "../lineage.js";
import { showModel } from "../modeldetail.js";
import { notesCard } from "../notes.js";
import { loadPopulation, statusCounts } from "../population.js";
import { plotCard, purge, ServerFigure } from "../plots.js";
import { ScatterGrid } from "../scatter.js";
import { ModelsTable } from "../table.js";
import { ParCoords } from "../parcoords.js";
import { currentTheme, THEME_EVENT } from "../theme.js";
import { replaceQuery, routeHash } from "../url.js";
import { progressBar } from "../widgets.js";
import { workerNotice } from "../workers.js";

/** @typedef {import("../api.js").Schemas} Schemas  the API's documented JSON shapes */

const PARCOORDS_HELP = "One line per model that passes the filter, coloured by error (purple: low, yellow: high). Drag along an axis to " +
  "keep a range of that column: the brush is the filter's range (the panel, table, scatter, figures and URL follow); " +
  "click an axis outside its brush to clear it. Pick the axes with “axes”.";
const DEFAULT_X = ["flops", "d", "w0", "wm", "g", "w_4", "b"];
const SCATTER_HELP = "Each dot is a trained model (grey: filtered out); drag a box, or pick the lasso in the toolbar, to filter " +
  "every view. Dark line and shading: binned median error and quartiles; amber band and dashed line: the bootstrap 95% range " +
  "and median of the value that holds the best models.";

/** Resolves after the browser has painted the current frame (what a redraw time should include). */
const nextPaint = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

function viewFrom(query) {
  const num = (k, d) => (Number.isFinite(Number(query.get(k))) && query.get(k) !== null ? Number(query.get(k)) : d);
  return {
    xs: (query.get("x") || "").split(",").filter(Boolean),
    pc: (query.get("pc") || "").split(",").filter(Boolean),
    sort: query.get("sort") || "error",
    dir: query.get("dir") === "desc" ? "desc" : "asc",
    page: Math.max(0, num("page", 0)),
    size: [25, 50, 100, 250].includes(num("size", 50)) ? num("size", 50) : 50,
    k: Math.min(50, Math.max(1, num("k", 5))),
  };
}

function viewTo(view, query) {
  query.set("x", view.xs.join(","));
  if (view.pc.length) query.set("pc", view.pc.join(","));
  else query.delete("pc");
  const defaults = { sort: "error", dir: "asc", page: 0, size: 50, k: 5 };
  for (const [k, d] of Object.entries(defaults)) {
    if (view[k] === d) query.delete(k);
    else query.set(k, String(view[k]));
  }
  return query;
}

function filenameFrom(res, fallback) {
  const cd = res.headers.get("Content-Disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="?([^";]+)"?/i.exec(cd);
  return plain ? plain[1] : fallback;
}

export function mount(root, route, ctx) {
  // the columns a box on the scatter can narrow (the column table is loaded before this page mounts)
  const FILTERABLE = new Set([...COMPLEXITY, ...FILTERABLE_RESULTS, ...GLOBAL, ...STAGE]);
  const studyId = route.id;
  let query = new URLSearchParams(route.query);
  let filter = Filter.fromQuery(query);
  let view = viewFrom(query);
  let pop = null;
  let idx = null;
  let version = 0;
  let alive = true;
  const ctrl = new AbortController();
  const perf = (window.__netspace ??= { timings: [] });
  // tests and benchmarks force a full redraw at a chosen moment (e.g. in the middle of a box drag)
  perf.redraw = () => drawClient();

  // ---- layout
  const title = h("h1", {}, `Study ${studyId}`);
  const meta = h("p", { class: "study-meta muted" });
  /** what the study's data recorded of its training (epochs, lr, wd: one value or a range), once loaded */
  const recorded = h("span", { class: "study-recorded" });
  /** "Queue more samples" where netspace can sample this study's space, else why not (showStudy) */
  const queueMore = h("span", { class: "queue-more" });
  const progress = h("div", { class: "study-progress" });
  const notice = h("div", { class: "notice-slot" });
  const exportStatus = h("span", { class: "export-status", "aria-live": "polite" });
  // one button per export format of the registry (GET /api/formats): a new format module shows up by itself
  const exportButtons = h("span", { class: "export-buttons" });
  const exportBar = h("div", { class: "export-bar", role: "group", "aria-label": "Download the filtered models" },
    h("span", { class: "export-label" }, "Download filtered:"), exportButtons, exportStatus);
  const filterRoot = h("aside", { class: "filters card", "aria-label": "Filter" });
  const panel = new FilterPanel(filterRoot, { onChange: onPanelChange, onReset: resetFilter });

  const xPicker = h("details", { class: "x-picker" }, h("summary", {}, "x axes"));
  const scatterCard = plotCard("Error vs parameters", SCATTER_HELP, { wide: true, controls: xPicker, height: 340 });
  scatterCard.plot.id = "scatter-plot";
  const scatter = new ScatterGrid(scatterCard.plot, { onSelect });

  const kSelect = (kind) => h("select", { "aria-label": `best and worst k (${kind})`, class: "k-select", onchange: (e) => setView({ k: Number(e.target.value) }) },
    [1, 3, 5, 10, 20].map((k) => h("option", { value: String(k), selected: k === view.k }, `k = ${k}`)));
  // statistics figures drawn by the server's builders (GET /api/studies/{id}/figures/{kind}): one card per figure
  // kind the registry puts on this page, in its order; the scatter kind's place holds the client-drawn grid
  const figures = [];
  const cards = figureKinds("study").map((kind) => {
    if (kind.kind === "scatter") return scatterCard.card;
    const f = { kind: kind.kind, k: kind.options.includes("k"), askAbove: kind.ask_above, asked: false };
    const parts = plotCard(kind.label, kind.help, { controls: f.k ? kSelect(f.kind) : null, wide: kind.wide, height: kind.height });
    parts.plot.id = `fig-${f.kind}`;
    figures.push({ ...f, parts, fig: new ServerFigure(parts, { filename: `netspace-study${studyId}-${f.kind}` }), stale: false });
    return parts.card;
  });
  if (!cards.includes(scatterCard.card)) cards.push(scatterCard.card);
  // parallel coordinates, after the scatter grid: its axis brushes are the filter's ranges (parcoords.js)
  const pcCard = plotCard("Parallel coordinates", PARCOORDS_HELP, { wide: true, height: 380 });
  pcCard.plot.id = "parcoords";
  const parcoords = new ParCoords(pcCard.plot, { onRange: (name, lo, hi) => onPanelChange(name, lo, hi),
    onAxes: (pc) => {
      setView({ pc });
      drawParcoords();
    }, status: pcCard.status });
  pcCard.card.querySelector(".card-head").append(parcoords.picker);
  cards.splice(cards.indexOf(scatterCard.card) + 1, 0, pcCard.card);
  const tableRoot = h("div", { class: "models-table", id: "models" });
  const table = new ModelsTable(tableRoot, { onView: setView, onOpen: (id) => showModel(id, ctx.banner) });

  // refinement lineage (parent, constraint, children) and the study's Markdown notes (lineage.js, notes.js)
  const lineageBox = lineageCard(studyId, ctx.banner);
  const notesBox = notesCard("studies", studyId, ctx.banner);
  root.append(
    h("div", { class: "page-head" },
      h("div", {}, title, meta),
      h("div", { class: "row" },
        queueMore,
        h("a", { class: "btn", href: routeHash("compare", null, new URLSearchParams({ study: studyId })) }, "Compare with…"))),
    progress,
    notice,
    h("div", { class: "study-extras" }, lineageBox.el, notesBox.el),
    h("div", { class: "study-layout" },
      filterRoot,
      h("div", { class: "study-main" },
        exportBar,
        h("div", { class: "plots" }, ...cards),
        h("section", { class: "card", "aria-labelledby": "models-title" },
          h("div", { class: "card-head" }, h("h2", { id: "models-title" }, "Models")),
          h("p", { class: "help" }, h("span", { class: "help-tag" }, "How to read: "),
            "every model that passes the filter; click a column to sort, an id for the model's config and curves. Error is the best test top-1 error over epochs (%)."),
          tableRoot))));

  // ---- state changes
  function writeURL() {
    query = viewTo(view, filter.toQuery(new URLSearchParams(query)));
    replaceQuery(query);
  }

  function setView(patch) {
    view = { ...view, ...patch };
    writeURL();
    if (pop) drawTable();
    if ("k" in patch) {
      for (const s of root.querySelectorAll("select.k-select")) s.value = String(view.k);
      loadFigures();
    }
  }

  function onPanelChange(name, lo, hi) {
    if (name === "status") filter.status = lo;
    else if (name === "failures") filter.noFailures = Boolean(lo);
    else filter.setRange(name, lo, hi);
    filterChanged();
  }

  function resetFilter() {
    filter.clear();
    filterChanged();
  }

  function onSelect(sel) {
    if (sel.range && !FILTERABLE.has(sel.x)) {
      // the server cannot filter on this column: keep the box as a rectangle lasso (sent as ids)
      const [a, b] = sel.range;
      const [c, d] = sel.yrange;
      sel = { x: sel.x, y: sel.y, lasso: [[a, c], [b, c], [b, d], [a, d]] };
    }
    if (sel.range) {
      // 4 significant digits, rounded outwards: short URLs, and every point inside the box stays selected
      filter.setRange(sel.x, roundDown(sel.range[0]), roundUp(sel.range[1]));
      filter.setRange(sel.y, roundDown(sel.yrange[0]), roundUp(sel.yrange[1]));
    } else {
      filter.lasso = { x: sel.x, y: sel.y, pts: sel.lasso };
    }
    filterChanged();
  }

  function filterChanged() {
    const t0 = performance.now();
    view.page = 0;
    writeURL();
    if (!pop) return;
    applyFilter();
    drawTable();
    drawParcoords();
    scatter.select(selection()).then(nextPaint).then(() => {
      const ms = performance.now() - t0;
      perf.timings.push({ what: "filter-redraw", ms, n: pop.n, matched: idx.length, at: t0 });
      perf.lastRedrawMs = ms;
      root.dataset.rendered = String(version);
    });
    loadFiguresSoon();
  }

  function applyFilter() {
    idx = filter.apply(pop);
    version += 1;
    panel.show(filter, idx.length, pop.n, filter.describe((v) => fmtCount(v)));
  }

  /** What the scatter highlights: the kept rows, or null (everything in colour) when nothing is filtered. */
  function selection() {
    return filter.isActive() ? idx : null;
  }

  function chosenXs() {
    const options = xChoices(pop.names);
    const xs = view.xs.filter((x) => options.includes(x));
    if (xs.length) return xs;
    return DEFAULT_X.filter((x) => options.includes(x)).slice(0, pop.n > 20000 ? 2 : 4);
  }

  function buildXPicker() {
    const options = xChoices(pop.names);
    const chosen = new Set(chosenXs());
    const boxes = options.map((x) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: x, checked: chosen.has(x), onchange: () => {
        const xs = [...xPicker.querySelectorAll("input:checked")].map((i) => i.value);
        if (!xs.length) return;
        setView({ xs });
        drawClient();
        loadScatterStats();
      } }), ` ${x}`));
    clear(xPicker, h("summary", { title: "choose the parameters on the x axes" }, `x axes (${chosen.size})`),
      h("div", { class: "x-options", role: "group", "aria-label": "x axes of the scatter grid" }, boxes));
  }

  /** Full redraw of the client-side views (new population, new x axes or new server overlays). */
  async function drawClient() {
    const xs = chosenXs();
    if (xs.join(",") !== view.xs.join(",")) {
      view.xs = xs;
      writeURL();
    }
    const t0 = performance.now();
    drawTable();
    drawParcoords();
    const t1 = performance.now();
    await scatter.draw(pop, xs, selection());
    await nextPaint();
    perf.last = { tableMs: t1 - t0, scatterMs: performance.now() - t1 };
    perf.timings.push({ what: "full-redraw", ms: performance.now() - t0, n: pop.n, at: t0 });
    root.dataset.rendered = String(version);
  }

  function drawTable() {
    table.render(pop, idx, view, version);
  }

  // parcoords is WebGL, which costs seconds per draw in a software renderer (headless Chromium, no GPU): it is
  // drawn only while on screen, and only when the population, the filter, its axes or the theme changed
  function drawParcoords() {
    if (!pop) return;
    const r = pcCard.card.getBoundingClientRect(); // the layout as it is now, not as the observer last saw it
    if (r.bottom < 0 || r.top > window.innerHeight) return;
    parcoords.draw(pop, filter, view.pc, `${version}|${view.pc.join(",")}|${currentTheme()}`)
      .catch((err) => ctx.banner.error(err));
  }

  // a theme change: the client-drawn figures are redrawn in the new colours (plots.js re-colours the others)
  const onTheme = () => {
    if (pop) drawClient();
  };
  window.addEventListener(THEME_EVENT, onTheme);

  // ---- server figures (the filter goes with the query)
  /** The filter as API query parameters; throws (with a message for the user) if it cannot be sent. */
  function figureQuery(extra = {}) {
    const ids = filter.lasso && pop && idx ? Array.from(idx, (i) => pop.ids[i]) : null;
    return { ...filter.serverQuery(ids), ...extra };
  }

  /**
   * Mark every server figure stale and reload the ones on screen (the EDF first, alone: the server answers it
   * fastest when slower figures are not competing); the others load when scrolled into view, so a filter change
   * on a large study costs the server only what the user is looking at.
   */
  function loadFigures() {
    for (const f of figures) f.stale = true;
    scatterStale = true;
    const edf = figures[0];
    const first = onScreen.has(edf) ? loadOne(edf) : Promise.resolve();
    first.finally(() => {
      for (const f of figures.slice(1)) if (onScreen.has(f)) loadOne(f);
      if (onScreen.has("scatter")) loadScatterStats();
    });
  }

  function loadOne(f) {
    f.stale = false;
    let base;
    try {
      base = figureQuery(f.k ? { k: view.k } : {});
    } catch (err) {
      f.fig.fail(err);
      return Promise.resolve();
    }
    const finished = pop ? countFinished() : 0;
    if (f.askAbove && finished > f.askAbove && !f.asked) return Promise.resolve(offer(f, finished));
    return f.fig.load(`/api/studies/${studyId}/figures/${f.kind}`, base);
  }

  const onScreen = new Set();
  let scatterStale = false;
  const seen = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const f = figures.find((x) => x.parts.card === e.target) ?? "scatter";
      if (!e.isIntersecting) {
        onScreen.delete(f);
        continue;
      }
      onScreen.add(f);
      if (!pop) continue;
      if (f === "scatter" && scatterStale) loadScatterStats();
      else if (f !== "scatter" && f.stale) loadOne(f);
    }
  }, { rootMargin: "300px 0px" });
  for (const f of figures) seen.observe(f.parts.card);
  seen.observe(scatterCard.card);
  const pcSeen = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) drawParcoords();
  });
  pcSeen.observe(pcCard.card);
  const loadFiguresSoon = debounce(loadFigures, 250);

  function countFinished() {
    let n = 0;
    const e = pop.cols.error;
    for (let i = 0; i < pop.n; i++) if (e[i] === e[i]) n++;
    return n;
  }

  /** A figure too costly to draw unasked (e_fit fits the width law per model): say so, draw on request. */
  function offer(f, finished) {
    f.fig.ctrl?.abort();
    purge(f.parts.plot);
    const btn = h("button", { type: "button", class: "btn btn-small", onclick: () => {
      f.asked = true;
      loadOne(f);
    } }, `Fit the width law for ${finished.toLocaleString()} models`);
    clear(f.parts.status, `Not drawn yet: e_fit fits the quantized linear law to every model (tenths of a second `
      + "each on a CPU, cached once fitted). ", btn);
    f.parts.plot.dataset.loaded = "asked";
    f.parts.plot.dataset.done = String(++f.fig.done);
  }

  let statsCtrl = null;
  async function loadScatterStats() {
    if (!pop) return;
    scatterStale = false;
    statsCtrl?.abort();
    statsCtrl = new AbortController();
    const signal = statsCtrl.signal;
    const xs = chosenXs();
    try {
      const base = figureQuery();
      const figs = await Promise.all(xs.map((x) =>
        getJSON(`/api/studies/${studyId}/figures/scatter`, { ...base, param: x }, { signal })));
      if (signal.aborted) return;
      scatter.clearOverlays();
      xs.forEach((x, i) => {
        const meta = /** @type {{note?: string, absent?: string[], absent_brief?: string[]}} */ (figs[i].layout?.meta ?? {});
        scatter.setOverlay(x, {
          traces: (figs[i].data || []).filter((t) => t.mode !== "markers"),
          shapes: figs[i].layout?.shapes ?? [],
          notes: [meta.note, ...(meta.absent_brief ?? [])].filter(Boolean),
          why: (meta.absent ?? []).join("<br>"),
        });
      });
      scatterCard.status.textContent = "";
      scatterCard.status.classList.remove("error");
      await drawClient();
    } catch (err) {
      if (!isReal(err) || signal.aborted) return;
      scatterCard.status.textContent = `Trend and bootstrap range unavailable: ${err.message}`;
      scatterCard.status.classList.add("error");
    }
  }

  async function loadFormats() {
    try {
      /** @type {Schemas["Formats"]} */
      const out = await getJSON("/api/formats");
      clear(exportButtons, out.exports.map((f) => h("button", {
        type: "button", class: "btn btn-small", title: f.help, dataset: { format: f.name },
        onclick: (e) => download(f, e.currentTarget),
      }, f.label)));
    } catch (err) {
      ctx.banner.error(err);
    }
  }

  /** @param {Schemas["ExportFormatInfo"]} format @param {HTMLButtonElement} btn */
  async function download(format, btn) {
    const fmt = format.name;
    btn.disabled = true;
    exportStatus.textContent = `Preparing ${fmt}…`;
    try {
      const res = await request(`/api/studies/${studyId}/export`, { query: figureQuery({ format: fmt }) });
      const blob = await res.blob();
      saveBlob(blob, filenameFrom(res, `study-${studyId}.${format.extension}`));
      const written = res.headers.get("X-Netspace-Exported");
      const left = Number(res.headers.get("X-Netspace-Left-Out") || 0);
      exportStatus.textContent = `Downloaded ${fmt} (${(blob.size / 1024).toFixed(1)} kB)` +
        (written !== null ? `: ${written} models` : "") +
        (left ? `; ${left} left out — ${res.headers.get("X-Netspace-Left-Out-Reasons") ?? ""}` : "") + ".";
    } catch (err) {
      exportStatus.textContent = `Nothing downloaded: ${err.message}`; // next to the buttons (e.g. 0 models)
      ctx.banner.show(`Export failed: ${err.message}`);
    } finally {
      btn.disabled = false;
    }
  }

  // ---- loading
  function showStudy(s) {
    title.textContent = s.name;
    document.title = `${s.name} · netspace`;
    notesBox.setFallback(s.notes ?? null); // the notes given at creation, until a note is written
    const ds = s.dataset?.name ?? s.dataset ?? "–";
    const r = s.recipe ?? {};
    const bound = (k, lo, hi) => (lo === null ? `${k} ≤ ${fmtCount(hi)}` : hi === null ? `${k} ≥ ${fmtCount(lo)}` : `${k} ${fmtCount(lo)}–${fmtCount(hi)}`);
    const regime = Object.entries(s.regime ?? {}).map(([k, [lo, hi]]) => bound(k, lo, hi)).join(", ");
    const training = [r.epochs != null ? `${r.epochs} epochs` : null, r.batch_size != null ? `batch ${r.batch_size}` : null,
      r.lr != null ? `lr ${r.lr}` : null, r.wd != null ? `wd ${r.wd}` : null].filter(Boolean).join(", ");
    meta.textContent = [
      `space ${s.space_name ?? s.space?.name ?? "?"}`,
      `dataset ${ds}${s.im_size ? ` @ ${s.im_size}²` : ""}`,
      s.source === "imported" ? null : training || null,
      regime ? `regime ${regime}` : null,
      `created ${fmtDate(s.created_at)}`,
    ].filter(Boolean).join(" · ");
    meta.append(recorded);
    // the server's one rule (sampleable, why_not): an imported NDS population linked to its native space samples
    // more from that space; any other import cannot, and says why next to the control
    const queueLink = h("a", { class: "btn", href: routeHash("queue", null, new URLSearchParams({ study: studyId })) }, "Queue more samples");
    clear(queueMore, s.sampleable
      ? [queueLink, s.native_space ? h("span", { class: "muted queue-more-why" }, `samples the native space ${s.native_space}`) : null].filter(Boolean)
      : [h("button", { type: "button", class: "btn", disabled: true, "aria-describedby": "queue-more-why" }, "Queue more samples"),
        h("span", { id: "queue-more-why", class: "muted queue-more-why" }, s.why_not ?? "netspace cannot sample this study's space.")]);
  }

  /** The training settings the data recorded (imported: lr, wd, epochs columns), a range where they vary. */
  function showRecorded() {
    if (!pop) return;
    const parts = [];
    for (const [name, text] of [["epochs", "epochs"], ["lr", "lr"], ["wd", "wd"], ["batch_size", "batch"]]) {
      const col = pop.cols[name];
      if (!col) continue;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < col.length; i++) if (col[i] === col[i]) { lo = Math.min(lo, col[i]); hi = Math.max(hi, col[i]); }
      if (lo <= hi) parts.push(lo === hi ? `${text} ${fmtNum(lo)}` : `${text} ${fmtNum(lo)}–${fmtNum(hi)}`);
    }
    recorded.textContent = parts.length ? ` · recorded: ${parts.join(", ")}` : "";
  }

  async function loadStudy() {
    try {
      /** @type {Schemas["Study"]} */
      const s = await getJSON(`/api/studies/${studyId}`, null, { signal: ctrl.signal });
      showStudy(s);
      clear(notice, await workerNotice(s.counts?.jobs?.queued ?? 0, ctrl.signal));
    } catch (err) {
      if (isReal(err) && alive) ctx.banner.error(err);
    }
  }

  async function loadPop({ first = false, figures = true } = {}) {
    const t0 = performance.now();
    try {
      pop = await loadPopulation(studyId, ctrl.signal);
    } catch (err) {
      if (isReal(err) && alive) ctx.banner.show(`Could not load the models of this study: ${err.message}`);
      return;
    }
    if (!alive) return;
    const tLoaded = performance.now();
    clear(progress, progressBar(statusCounts(pop)));
    showRecorded();
    panel.build(pop);
    buildXPicker();
    applyFilter();
    await drawClient();
    perf.timings.push({ what: first ? "open" : "reload", ms: performance.now() - t0, n: pop.n, loadedMs: tLoaded - t0, sinceNavigation: performance.now() });
    root.dataset.popVersion = String(Number(root.dataset.popVersion || 0) + 1);
    if (figures) loadFigures();
  }

  // after a change: the population, the study's counts and the server figures are fetched side by side
  // (a lasso filter needs the new population's ids first, so then the figures follow the population)
  const reload = coalesce(() => Promise.all([loadPop({ figures: Boolean(filter.lasso) }), loadStudy(),
    filter.lasso ? null : loadFigures()]), 100);
  const off = ctx.live.on((ev) => {
    const sid = ev.data?.study_id;
    if (ev.type === "reconnected" || sid === undefined || sid === null || String(sid) === String(studyId)) reload();
  });
  loadStudy();
  loadFormats();
  loadPop({ first: true });

  return {
    update(q) {
      query = new URLSearchParams(q);
      filter = Filter.fromQuery(query);
      view = viewFrom(query);
      if (!pop) return;
      applyFilter();
      drawClient();
      loadFigures();
    },
    unmount() {
      alive = false;
      ctrl.abort();
      statsCtrl?.abort();
      off();
      lineageBox.destroy();
      notesBox.destroy();
      reload.cancel();
      loadFiguresSoon.cancel();
      for (const f of figures) f.fig.destroy();
      seen.disconnect();
      pcSeen.disconnect();
      window.removeEventListener(THEME_EVENT, onTheme);
      parcoords.destroy();
      scatter.destroy();
      purge(scatterCard.plot);
    },
  };
}
