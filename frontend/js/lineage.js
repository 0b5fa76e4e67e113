// @ts-check
// A study's place in its refinement tree (GET /api/studies/{id}/lineage?figure=false): its parent, the
// constraint that made it, its children — the card on the study page; the lineage page draws the whole chain.
import { getJSON, isReal } from "./api.js";
import { clear, h } from "./dom.js";
import { routeHash } from "./url.js";

/** @typedef {import("./api.js").Schemas} Schemas  the API's documented JSON shapes */

/** @param {{id: number, name: string}} n */
export const studyLink = (n) => h("a", { href: routeHash("study", n.id) }, n.name);

/**
 * @param {number | string} studyId
 * @param {{error: (err: unknown) => void}} banner
 * @returns {{el: HTMLElement, reload: () => Promise<void>, destroy: () => void}}
 */
export function lineageCard(studyId, banner) {
  const ctrl = new AbortController();
  const body = h("div", { class: "lineage-facts" }, h("p", { class: "muted" }, "Loading…"));
  const el = h("section", { class: "card lineage-card", id: "lineage-card", "aria-labelledby": "lineage-card-title" },
    h("div", { class: "card-head" }, h("h2", { id: "lineage-card-title" }, "Lineage"),
      h("div", { class: "row" },
        h("a", { class: "btn btn-small", href: routeHash("refine", studyId, refineQuery()), id: "refine-link" }, "Refine…"),
        h("a", { class: "btn btn-small", href: routeHash("lineage", studyId) }, "Lineage page"))),
    body);

  /** The refine page gets the study page's filter (f.* ranges), for "narrow to the current filter". */
  function refineQuery() {
    const q = new URLSearchParams(window.location.hash.split("?")[1] ?? "");
    return new URLSearchParams([...q].filter(([k]) => k.startsWith("f.")));
  }

  async function reload() {
    try {
      /** @type {Schemas["Lineage"]} */
      const doc = await getJSON(`/api/studies/${studyId}/lineage`, { figure: false }, { signal: ctrl.signal });
      const byId = new Map(doc.nodes.map((n) => [n.id, n]));
      const me = byId.get(Number(studyId));
      if (!me) return;
      const parent = me.parent_id !== null ? byId.get(me.parent_id) : null;
      const kids = me.children.map((k) => byId.get(k)).filter(Boolean);
      clear(body, h("dl", { class: "facts" },
        h("dt", {}, "parent"), h("dd", { "data-testid": "lineage-parent" }, parent ? studyLink(parent) : "none (a root)"),
        h("dt", {}, parent ? "constraint" : "space"), h("dd", { "data-testid": "lineage-constraint" }, me.constraint),
        h("dt", {}, "children"), h("dd", { "data-testid": "lineage-children" },
          kids.length ? kids.flatMap((k, i) => [i ? ", " : "", studyLink(k), ` (${k.constraint})`]) : "none yet")));
    } catch (err) {
      if (isReal(err)) banner.error(err);
    }
  }
  reload();
  const link = /** @type {HTMLAnchorElement} */ (el.querySelector("#refine-link"));
  const keepFilter = () => { link.href = routeHash("refine", studyId, refineQuery()); };
  link.addEventListener("mouseenter", keepFilter);
  link.addEventListener("focus", keepFilter);
  link.addEventListener("click", keepFilter);
  return { el, reload, destroy: () => ctrl.abort() };
}
