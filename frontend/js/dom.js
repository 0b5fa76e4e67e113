// @ts-check
// Small DOM and formatting helpers shared by every page (no framework: the pages are simple enough).

/**
 * Create an element: h("button", {class: "x", onclick: f}, "text", child).
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...any} children  nodes, strings, numbers, null/false (skipped) or arrays of them
 * @returns {any}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * @param {Element} el
 * @param {...any} children
 * @returns {Element}
 */
export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** @type {Array<[number, string]>} */
const SI = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];

/**
 * 360000000 -> "360M": the paper's way of writing flops/params/acts.
 * @param {number | null | undefined} v
 * @returns {string}
 */
export function fmtCount(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  for (const [s, suf] of SI) if (a >= s) return `${+(v / s).toPrecision(3)}${suf}`;
  return `${+Number(v).toPrecision(3)}`;
}

/**
 * Error rates are stored as percent (top-1 error, 0..100).
 * @param {number | null | undefined} v
 * @returns {string}
 */
export function fmtError(v) {
  return v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(2);
}

/**
 * @param {number | null | undefined} v
 * @param {number} [digits]
 * @returns {string}
 */
export function fmtNum(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (Number.isInteger(v)) return String(v);
  return String(+Number(v).toPrecision(digits));
}

/**
 * @param {string | null | undefined} s  ISO 8601 (the API's timestamps)
 * @returns {string}
 */
export function fmtDate(s) {
  if (!s) return "–";
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString();
}

/**
 * @param {number} seconds
 * @returns {string}
 */
export function fmtAge(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const UNITS = { "": 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9, b: 1e9, B: 1e9 };

/**
 * Parse "360M", "0.4G", "360e6", "2.5k" (same forms as the CLI); "" -> null; throws on junk.
 * @param {string} text
 * @returns {number | null}
 */
export function parseCount(text) {
  const s = String(text ?? "").trim().replaceAll("_", "").replaceAll(",", "");
  if (s === "") return null;
  const last = s.slice(-1);
  const suffix = last in UNITS && !/\d/.test(last) ? last : "";
  const body = suffix ? s.slice(0, -1) : s;
  const v = Number(body) * UNITS[suffix];
  if (body.trim() === "" || !Number.isFinite(v)) throw new Error(`not a number: "${text}" (use forms like 360e6, 360M, 0.4G)`);
  return v;
}

/**
 * A status pill; the text carries the meaning, the colour only repeats it.
 * @param {string} status
 * @returns {HTMLElement}
 */
export function statusPill(status) {
  return h("span", { class: `pill pill-${status}` }, status);
}

/**
 * Debounce: run fn once, `ms` after the last call.
 * @template {(...args: any[]) => void} F
 * @param {F} fn
 * @param {number} ms
 * @returns {((...args: Parameters<F>) => void) & {cancel: () => void}}  `.cancel()` drops a pending run
 */
export function debounce(fn, ms) {
  let t = null;
  const wrapped = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(t);
  return wrapped;
}

/**
 * Offer a blob as a download with a filename.
 * @param {Blob} blob
 * @param {string} filename
 */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
