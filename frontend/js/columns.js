// @ts-check
// What the dashboard knows about population columns: groups for the filter panel, axis scales, formats.
// Mirrors backend/designspace/params.py (PARAM_NAMES, LOG_SCALE) — the server sends whichever columns exist.
import { fmtCount, fmtError, fmtNum } from "./dom.js";

export const COMPLEXITY = ["flops", "params", "acts"];
export const RESULTS = ["error", "error_final", "train_seconds", "infer_ms", "e_fit"];
/** columns the server can filter on (backend/services/filters.py RANGE_COLUMNS) */
export const FILTERABLE_RESULTS = ["error", "infer_ms", "train_seconds"];
export const GLOBAL = ["d", "w0", "wa", "wm", "g", "b"];
export const STAGES = [1, 2, 3, 4, 5];
export const STAGE = ["d", "w", "g", "b"].flatMap((p) => STAGES.map((i) => `${p}_${i}`));
export const LOG_SCALE = new Set(["w0", "wa", "wm", "g", "flops", "params", "acts", ...STAGES.map((i) => `w_${i}`)]);

const LABELS = {
  flops: "flops (multiply-adds)",
  params: "params",
  acts: "activations",
  error: "top-1 error (%)",
  error_final: "final-epoch error (%)",
  train_seconds: "train time (s)",
  infer_ms: "inference (ms / 64 images)",
  e_fit: "e_fit (width-law fit)",
  d: "depth d",
  w0: "initial width w0",
  wa: "slope wa",
  wm: "multiplier wm",
  g: "group width g",
  b: "bottleneck ratio b",
};

/**
 * @param {string} name
 * @returns {string}
 */
export function label(name) {
  if (LABELS[name]) return LABELS[name];
  const m = /^([dwgb])_(\d)$/.exec(name);
  if (m) return { d: "depth", w: "width", g: "group width", b: "bottleneck" }[m[1]] + ` stage ${m[2]}`;
  return name;
}

/**
 * @param {string} name
 * @param {number} v
 * @returns {string}
 */
export function fmtValue(name, v) {
  if (COMPLEXITY.includes(name)) return fmtCount(v);
  if (name === "error" || name === "error_final") return fmtError(v);
  return fmtNum(v);
}

/**
 * Columns a user can put on a scatter's x axis, in display order, limited to those present.
 * @param {Set<string>} present  the columns the population has
 * @returns {string[]}
 */
export function xChoices(present) {
  return [...COMPLEXITY, ...GLOBAL, ...STAGE, ...RESULTS.filter((r) => r !== "error")].filter((c) => present.has(c));
}

/**
 * Filterable columns grouped for the filter panel (only groups with a present column).
 * @param {Set<string>} present
 * @returns {Array<{title: string, names: string[], open?: boolean}>}
 */
export function filterGroups(present) {
  const pick = (names) => names.filter((c) => present.has(c));
  return [
    { title: "Complexity", names: pick(COMPLEXITY), open: true },
    { title: "Result", names: pick(FILTERABLE_RESULTS), open: true },
    { title: "Parameters", names: pick(GLOBAL), open: true },
    { title: "Per stage", names: pick(STAGE), open: false },
  ].filter((g) => g.names.length);
}
