// @ts-check
// What the dashboard knows about population columns: groups for the filter panel, axis scales, labels, formats.
// All of it is the server's column table (backend/designspace/columns.yaml, GET /api/columns), read once before
// the first page that shows populations (app.js); the exports below are live bindings that `setColumns` fills.
// Columns an imported population brings along (extras: lr, wd, width, op counts, ...) are described by the
// population's own header (`extra_columns`, the same shape), which `addExtraColumns` adds here.
import { getJSON } from "./api.js";
import { fmtCount, fmtError, fmtNum } from "./dom.js";

/** @typedef {import("./api.js").Schemas} Schemas  the API's documented JSON shapes */

/** complexity columns (flops, params, acts) */
export let COMPLEXITY = /** @type {string[]} */ ([]);
/** measured or derived result columns (error, error_final, train_seconds, infer_ms, e_fit) */
export let RESULTS = /** @type {string[]} */ ([]);
/** result columns the server can filter on (<name>_min/_max) */
export let FILTERABLE_RESULTS = /** @type {string[]} */ ([]);
/** global sampled parameters (d, w0, wa, wm, g, b) */
export let GLOBAL = /** @type {string[]} */ ([]);
/** the stages with flat columns (1..S) */
export let STAGES = /** @type {number[]} */ ([]);
/** per-stage sampled columns (d_1..d_S, w_1.., g_1.., b_1..) */
export let STAGE = /** @type {string[]} */ ([]);
/** imported (extra) columns of the populations loaded so far, in their display order */
export let EXTRA = /** @type {string[]} */ ([]);
/** columns drawn on log axes */
export let LOG_SCALE = /** @type {Set<string>} */ (new Set());
/** @type {Map<string, Schemas["Column"]>} */
let byName = new Map();

/**
 * Take the column table (GET /api/columns, in display order).
 * @param {Schemas["Column"][]} columns
 */
export function setColumns(columns) {
  byName = new Map(columns.map((c) => [c.name, c]));
  const names = (/** @type {(c: Schemas["Column"]) => boolean} */ test) => columns.filter(test).map((c) => c.name);
  COMPLEXITY = names((c) => c.source === "complexity");
  RESULTS = names((c) => c.source === "result" || c.source === "derived");
  FILTERABLE_RESULTS = names((c) => (c.source === "result" || c.source === "derived") && c.filter);
  GLOBAL = names((c) => c.source === "sampled" && (c.stage ?? null) === null);
  STAGE = names((c) => c.source === "sampled" && (c.stage ?? null) !== null);
  STAGES = [...new Set(columns.map((c) => c.stage).filter((s) => typeof s === "number"))].sort((a, b) => a - b);
  LOG_SCALE = new Set(names((c) => c.log));
}

/**
 * Take the descriptions of a population's imported columns (its header's `extra_columns`).
 * @param {Schemas["Column"][]} columns
 */
export function addExtraColumns(columns) {
  for (const c of columns) {
    byName.set(c.name, c);
    if (!EXTRA.includes(c.name)) EXTRA = [...EXTRA, c.name];
    if (c.log) LOG_SCALE = new Set([...LOG_SCALE, c.name]);
  }
}

let loaded = false;
/** Whether the table was asked for already (successfully or not). */
export const columnsLoaded = () => loaded;

/** Fetch the column table once; on failure the pages show only what they get (the error goes to the banner). */
export async function loadColumns() {
  if (loaded) return;
  loaded = true;
  /** @type {Schemas["Column"][]} */
  const out = await getJSON("/api/columns");
  setColumns(out);
}

/**
 * The column's label with its unit ("flops (multiply-adds)"); an unlisted (extra) column's name.
 * @param {string} name
 * @returns {string}
 */
export function label(name) {
  const c = byName.get(name);
  if (!c) return name;
  return c.unit ? `${c.label} (${c.unit})` : c.label;
}

/**
 * @param {string} name
 * @param {number} v
 * @returns {string}
 */
export function fmtValue(name, v) {
  const format = byName.get(name)?.format;
  if (format === "count") return fmtCount(v);
  if (format === "error") return fmtError(v);
  return fmtNum(v);
}

/**
 * Columns a user can put on a scatter's x axis, in display order, limited to those present.
 * @param {Set<string>} present  the columns the population has
 * @returns {string[]}
 */
export function xChoices(present) {
  return [...COMPLEXITY, ...GLOBAL, ...STAGE, ...EXTRA, ...RESULTS.filter((r) => r !== "error")]
    .filter((c) => present.has(c));
}

/**
 * Filterable columns grouped for the filter panel (only groups with a present column), in the table's groups.
 * @param {Set<string>} present
 * @returns {Array<{title: string, names: string[], open?: boolean}>}
 */
export function filterGroups(present) {
  const pick = (names) => names.filter((c) => present.has(c));
  /** @type {Map<string, string[]>} */
  const groups = new Map();
  for (const name of [...COMPLEXITY, ...FILTERABLE_RESULTS, ...GLOBAL, ...STAGE, ...EXTRA]) {
    const title = byName.get(name)?.group ?? "Other";
    groups.set(title, [...(groups.get(title) ?? []), name]);
  }
  return [...groups].map(([title, names]) => ({ title, names: pick(names), open: !STAGE.includes(names[0]) }))
    .filter((g) => g.names.length);
}
