// @ts-check
// The models table: the filtered population, sortable on any column, paginated — all in the browser,
// so it always shows exactly the rows the plots show.
import { h, statusPill } from "./dom.js";
import { COMPLEXITY, fmtValue, GLOBAL, STAGES } from "./columns.js";

/** @typedef {import("./api.js").Schemas} Schemas  the API's documented JSON shapes */

const PAGE_SIZES = [25, 50, 100, 250];

/** Columns worth a table column for this population (RegNet: the law; AnyNet: per-stage d and w). */
export function tableColumns(pop) {
  if (pop.tableColumns) return pop.tableColumns;
  const has = (c) => pop.names.has(c) && pop.cols[c].some((v) => !Number.isNaN(v));
  const stage = ["d", "w"].flatMap((p) => STAGES.map((i) => `${p}_${i}`));
  const params = has("w0") ? GLOBAL : ["d", ...stage, "g", "b"];
  pop.tableColumns = ["error", ...COMPLEXITY, ...params, "infer_ms", "train_seconds"].filter(has);
  return pop.tableColumns;
}

/**
 * The rows 0..n-1 ordered by `col` (missing values last in both directions; ties by row, i.e. by id): an LSD
 * radix sort on the values' IEEE bits, 16 bits a pass, passes whose digit never varies skipped. A comparison
 * sort of 10^6 rows through a JS comparator took ~0.8 s of a 10^6-model study's first open; this is linear.
 */
export function orderBy(col, desc) {
  const n = col.length;
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  let rows = new Uint32Array(n);
  const missing = [];
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = col[i];
    if (v !== v) { missing.push(i); continue; }
    f[0] = v === 0 ? 0 : v; // -0 sorts with +0, as the comparison did
    // order-preserving bits: flip every bit of a negative number, only the sign of a positive one
    let h = u[1];
    let l = u[0];
    if (h & 0x80000000) { h = ~h >>> 0; l = ~l >>> 0; } else h = (h | 0x80000000) >>> 0;
    if (desc) { h = ~h >>> 0; l = ~l >>> 0; }
    hi[i] = h;
    lo[i] = l;
    rows[m++] = i;
  }
  let tmp = new Uint32Array(n);
  const count = new Uint32Array(65536);
  /** @type {[Uint32Array, number][]} */
  const passes = [[lo, 0], [lo, 16], [hi, 0], [hi, 16]];
  for (const [keys, shift] of passes) {
    count.fill(0);
    for (let j = 0; j < m; j++) count[(keys[rows[j]] >>> shift) & 0xffff]++;
    let single = false;
    for (let d = 0; d < 65536; d++) if (count[d] === m) { single = true; break; }
    if (single) continue;
    let sum = 0;
    for (let d = 0; d < 65536; d++) { const c = count[d]; count[d] = sum; sum += c; }
    for (let j = 0; j < m; j++) tmp[count[(keys[rows[j]] >>> shift) & 0xffff]++] = rows[j];
    [rows, tmp] = [tmp, rows];
  }
  const out = new Uint32Array(n);
  for (let j = 0; j < m; j++) out[j] = rows[j];
  for (let k = 0; k < missing.length; k++) out[m + k] = missing[k];
  return out;
}

/** Every row of `pop` sorted by `key` (missing values last in both directions; ties by id), cached per pop. */
export function sortedOrder(pop, key, dir) {
  pop.orders ??= new Map();
  const ck = `${key}|${dir}`;
  if (pop.orders.has(ck)) return pop.orders.get(ck);
  const col = key === "status" ? pop.status : key === "id" ? null : pop.cols[key];
  let out;
  if (col) out = orderBy(col, dir === "desc");
  else {
    out = new Uint32Array(pop.n);
    for (let i = 0; i < pop.n; i++) out[i] = key === "id" && dir === "desc" ? pop.n - 1 - i : i;
  }
  pop.orders.set(ck, out);
  return out;
}

/** The rows of `idx` in the order of sortedOrder(): one linear pass, no sort per filter change. */
export function sortRows(pop, idx, key, dir) {
  const order = sortedOrder(pop, key, dir);
  if (idx.length === pop.n) return order;
  const keep = new Uint8Array(pop.n);
  for (let j = 0; j < idx.length; j++) keep[idx[j]] = 1;
  const out = new Uint32Array(idx.length);
  for (let k = 0, j = 0; k < order.length; k++) if (keep[order[k]]) out[j++] = order[k];
  return out;
}

/** A learning failure beside the status (backend.analysis.failures), or nothing. */
export function failureMark(code) {
  if (code === 1) return h("span", { class: "pill pill-failed failure", title: "the training loss became non-finite" }, "diverged");
  if (code === 2) {
    return h("span", { class: "pill pill-failed failure",
      title: "final error within 10 % of chance, or final training loss above its first batch's" }, "did not learn");
  }
  return null;
}

export class ModelsTable {
  /**
   * @param {HTMLElement} root
   * @param {{onView?: (view: object) => void, onOpen?: (modelId: number) => void}} [handlers]
   *   onView({sort, dir, page, size}): the page stores view state in the URL; onOpen(modelId): one model in full
   */
  constructor(root, { onView, onOpen } = {}) {
    this.root = root;
    this.onView = onView;
    this.onOpen = onOpen;
    this.cache = { key: null, rows: null };
  }

  render(pop, idx, view, version) {
    const { sort = "error", dir = "asc", size = 50 } = view;
    const columns = tableColumns(pop);
    const key = `${version}|${sort}|${dir}`;
    if (this.cache.key !== key) this.cache = { key, rows: sortRows(pop, idx, sort, dir) };
    const rows = this.cache.rows;
    const pages = Math.max(1, Math.ceil(rows.length / size));
    const page = Math.min(Math.max(0, view.page || 0), pages - 1);
    const start = page * size;
    const slice = rows.subarray(start, Math.min(rows.length, start + size));

    const head = (name, text) => {
      const active = sort === name;
      const nextDir = active && dir === "asc" ? "desc" : "asc";
      return h("th", { scope: "col", "aria-sort": active ? (dir === "asc" ? "ascending" : "descending") : "none" },
        h("button", { type: "button", class: "sort", title: `sort by ${text}`, onclick: () => this.onView?.({ sort: name, dir: nextDir, page: 0 }) },
          text, h("span", { "aria-hidden": "true", class: "sort-mark" }, active ? (dir === "asc" ? " ▲" : " ▼") : "")));
    };
    const body = h("tbody", {});
    for (const i of slice) {
      body.append(h("tr", {},
        h("td", { class: "num" }, h("button", { type: "button", class: "link", "aria-label": `details of model ${pop.ids[i]}`,
          onclick: () => this.onOpen?.(pop.ids[i]) }, String(pop.ids[i]))),
        h("td", {}, statusPill(pop.statusNames[pop.status[i]] ?? "?"), failureMark(pop.failure?.[i] ?? 0)),
        ...columns.map((c) => h("td", { class: "num" }, fmtValue(c, pop.cols[c][i])))));
    }
    const table = h("table", { class: "data models", id: "models-table", "data-rows": String(rows.length) },
      h("caption", { class: "sr-only" }, "Models matching the filter"),
      h("thead", {}, h("tr", {}, head("id", "id"), head("status", "status"), ...columns.map((c) => head(c, c === "error" ? "error (%)" : c)))),
      body);
    const sizeSel = h("select", { "aria-label": "rows per page", onchange: (e) => this.onView?.({ size: Number(e.target.value), page: 0 }) },
      PAGE_SIZES.map((s) => h("option", { value: String(s), selected: s === size }, `${s} rows`)));
    const pager = h("div", { class: "pager" },
      h("button", { type: "button", class: "btn btn-small", disabled: page === 0, onclick: () => this.onView?.({ page: page - 1 }) }, "‹ Previous"),
      h("span", { class: "pager-text", "aria-live": "polite" },
        rows.length ? `rows ${start + 1}–${start + slice.length} of ${rows.length} · page ${page + 1}/${pages}` : "no models match the filter"),
      h("button", { type: "button", class: "btn btn-small", disabled: page >= pages - 1, onclick: () => this.onView?.({ page: page + 1 }) }, "Next ›"),
      sizeSel);
    this.root.replaceChildren(h("div", { class: "table-wrap" }, table), pager);
  }
}
