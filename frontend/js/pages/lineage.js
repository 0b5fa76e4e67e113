// @ts-check
// Lineage: a study's refinement chain (root -> ... -> the study -> its only children), their EDFs overlaid
// (the server's lineage figure) and the table of steps: constraint, dimension, size, n, min, mean error and
// the KS test against the step before (its p-value only from the documented minimum n per side).
import { getJSON, isReal } from "../api.js";
import { clear, fmtCount, fmtError, fmtNum, h } from "../dom.js";
import { coalesce } from "../events.js";
import { studyLink } from "../lineage.js";
import { drawFigure, plotCard, purge } from "../plots.js";

/** @typedef {import("../api.js").Schemas} Schemas  the API's documented JSON shapes */

/** "1.2e18" for a space size: exact digits are in the tooltip. */
function fmtSize(s) {
  if (s.size_float === null || s.size_float === undefined) return "–";
  return s.size_float < 1e6 ? fmtCount(s.size_float) : s.size_float.toExponential(1).replace("e+", "e");
}

export function mount(root, route, ctx) {
  const studyId = route.id;
  const ctrl = new AbortController();
  const title = h("h1", {}, "Lineage");
  const intro = h("p", { class: "muted" });
  const fig = plotCard("Error EDFs along the chain", "each step's error EDF, from the root space to its refinements; "
    + "a curve further left and higher holds more good models. The table below gives each step's statistics.", { wide: true, height: 420 });
  fig.plot.id = "lineage-plot";
  const tableRoot = h("div", { class: "table-wrap", id: "lineage-table" });
  const treeRoot = h("ul", { class: "lineage-tree" });
  root.append(h("div", { class: "page-head" }, h("div", {}, title, intro)), fig.card,
    h("section", { class: "card" }, h("h2", {}, "Steps"), tableRoot),
    h("section", { class: "card" }, h("h2", {}, "The whole tree"), treeRoot));

  async function load() {
    try {
      /** @type {Schemas["Lineage"]} */
      const doc = await getJSON(`/api/studies/${studyId}/lineage`, null, { signal: ctrl.signal });
      const me = doc.nodes.find((n) => n.id === Number(studyId));
      title.textContent = `Lineage of ${me?.name ?? `study ${studyId}`}`;
      document.title = `${title.textContent} · netspace`;
      intro.textContent = `${doc.steps.length} step${doc.steps.length === 1 ? "" : "s"} from the root; `
        + `${doc.nodes.length} stud${doc.nodes.length === 1 ? "y" : "ies"} in the tree.`;
      const changes = new Map(doc.table.map((c) => [c.to, c]));
      clear(tableRoot, h("table", { class: "data" },
        h("thead", {}, h("tr", {}, ["step", "constraint", "dimension", "size", "n", "min", "mean", "KS vs previous", "p-value"]
          .map((c, i) => h("th", { class: i >= 2 ? "num" : null }, c)))),
        h("tbody", {}, doc.steps.map((s) => {
          const c = changes.get(s.name);
          const p = !c ? "" : c.p_value !== null ? fmtNum(c.p_value, 3) : "n/a";
          return h("tr", { dataset: { study: String(s.id) }, class: s.id === Number(studyId) ? "current" : null },
            h("td", {}, studyLink(s)), h("td", {}, s.constraint),
            h("td", { class: "num" }, s.dimension ?? "–"), h("td", { class: "num", title: s.size ?? "" }, fmtSize(s)),
            h("td", { class: "num" }, String(s.n)), h("td", { class: "num" }, fmtError(s.min)), h("td", { class: "num" }, fmtError(s.mean)),
            h("td", { class: "num" }, c && c.ks !== null ? fmtNum(c.ks, 3) : c ? "–" : ""),
            h("td", { class: "num", title: c?.ks_absent ?? "" }, p));
        }))),
      doc.table.some((c) => c.ks_absent) ? h("p", { class: "hint" }, ...doc.table.filter((c) => c.ks_absent)
        .map((c) => h("span", { class: "ks-absent" }, `${c.from} → ${c.to}: ${c.ks_absent}. `))) : null);
      clear(treeRoot, doc.nodes.map((n) => h("li", { style: { marginLeft: `${n.depth * 18}px` }, class: n.on_chain ? "on-chain" : null },
        studyLink(n), h("span", { class: "muted" }, ` — ${n.constraint} · ${n.n} finished`))));
      if (doc.figure) {
        // the figure's own step table is the HTML table below (links, wrapping): draw its EDFs over the whole card
        const data = (doc.figure.data ?? []).filter((t) => t.type !== "table");
        /** @type {Record<string, any>} */
        const own = doc.figure.layout ?? {};
        const layout = { ...own, height: 420, showlegend: true, yaxis: { ...(own.yaxis ?? {}), domain: [0, 1] } };
        await drawFigure(fig.plot, { data, layout }, { height: 420, filename: `netspace-lineage${studyId}` });
        const meta = /** @type {{help?: string, note?: string}} */ (doc.figure.layout?.meta ?? {});
        if (meta.help) fig.helpText.textContent = meta.help;
        fig.status.textContent = meta.note ?? "";
      }
      fig.plot.dataset.loaded = String(Number(fig.plot.dataset.loaded || 0) + 1);
    } catch (err) {
      if (isReal(err)) ctx.banner.error(err);
    }
  }
  const reload = coalesce(load, 200);
  const off = ctx.live.on((ev) => {
    if (ev.type === "reconnected" || ev.data?.study_id !== undefined) reload();
  });
  load();
  return {
    unmount() {
      ctrl.abort();
      off();
      reload.cancel();
      purge(fig.plot);
    },
  };
}
