// @ts-check
// Hash routes ("#/study/3?f.flops=1e8..4e8&x=flops") — the whole view lives in the URL, so links are shareable
// and the server only has to serve one page at "/".

export const PAGES = ["studies", "study", "compare", "queue", "jobs", "refine", "lineage", "import"];

/**
 * "#/study/3?x=flops" -> {page: "study", id: "3", query: URLSearchParams("x=flops")}
 * @param {string} [hash]
 * @returns {{page: string, id: string | null, query: URLSearchParams}}
 */
export function parseRoute(hash = window.location.hash) {
  const raw = hash.replace(/^#\/?/, "");
  const qpos = raw.indexOf("?");
  const path = (qpos >= 0 ? raw.slice(0, qpos) : raw).split("/").filter(Boolean);
  const query = new URLSearchParams(qpos >= 0 ? raw.slice(qpos + 1) : "");
  let page = PAGES.includes(path[0]) ? path[0] : path.length ? "notfound" : "studies";
  // "#/studies/3" is study 3 (the REST-like form people type, as the API's /api/studies/3), not the list
  if (page === "studies" && path[1] !== undefined) page = "study";
  return { page, id: path[1] ?? null, query };
}

/**
 * @param {string} page
 * @param {string | number | null} [id]
 * @param {URLSearchParams | null} [query]
 * @returns {string}
 */
export function routeHash(page, id = null, query = null) {
  const q = query ? query.toString() : "";
  return `#/${page}${id !== null && id !== undefined ? `/${encodeURIComponent(id)}` : ""}${q ? `?${q}` : ""}`;
}

/**
 * Rewrite the query part of the current route without a page reload or a history entry per keystroke.
 * @param {URLSearchParams} query
 */
export function replaceQuery(query) {
  const { page, id } = parseRoute();
  const next = routeHash(page, id, query);
  if (next !== window.location.hash) window.history.replaceState(null, "", next);
}
