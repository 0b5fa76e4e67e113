// @ts-check
// One filter state for a study view: ranges on any column, an optional lasso polygon, a status, and whether
// the learning failures (diverged, did not learn) are left out (URL `failures=exclude`, API `exclude_failures`).
// It is applied client-side to the loaded population (fast redraws) and sent to the server as the same
// `<name>_min/_max` query the /models, /export and figure endpoints take, so every view shows one population.
import { LOG_SCALE } from "./columns.js";

const NAME = /^[a-z][a-z0-9_]*$/;
const STATUSES = ["done", "running", "queued", "failed", "cancelled", "none"];
/** backend/services/filters.py MAX_IDS: the most ids one request may name */
export const MAX_IDS = 10000;

/** Shortest text that parses back to the same number, so URLs stay readable and exact. */
function numText(v) {
  return v === null || v === undefined ? "" : String(v);
}

function numOrNull(s) {
  if (s === "" || s === undefined || s === null) return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}

function sig4(v, round) {
  if (v === 0 || !Number.isFinite(v)) return v;
  const scale = 10 ** (Math.floor(Math.log10(Math.abs(v))) - 3);
  return Number((round(v / scale) * scale).toPrecision(4));
}
/** 4 significant digits rounded down (a selection's lower edge: short URLs, every selected point kept) */
export const roundDown = (v) => sig4(v, Math.floor);
/** 4 significant digits rounded up (a selection's upper edge) */
export const roundUp = (v) => sig4(v, Math.ceil);

function round4(v) {
  return Number(v.toPrecision(4));
}

/** Ray casting; the polygon is a list of [x, y] points in data units (log axes handled by the caller). */
function inside(x, y, xs, ys) {
  let c = false;
  for (let i = 0, j = xs.length - 1; i < xs.length; j = i++) {
    if (ys[i] > y !== ys[j] > y && x < ((xs[j] - xs[i]) * (y - ys[i])) / (ys[j] - ys[i]) + xs[i]) c = !c;
  }
  return c;
}

export class Filter {
  constructor() {
    this.ranges = new Map(); // name -> [lo|null, hi|null]
    this.lasso = null; // {x, y, pts: [[x, y], ...]}
    this.status = ""; // "" = any
    this.noFailures = false; // true: leave out models that diverged or did not learn (kept by default)
  }

  static fromQuery(query) {
    const f = new Filter();
    for (const [key, value] of query.entries()) {
      if (!key.startsWith("f.")) continue;
      const name = key.slice(2);
      if (!NAME.test(name)) continue;
      const [lo, hi] = value.split("..");
      f.setRange(name, numOrNull(lo), numOrNull(hi));
    }
    const lasso = query.get("lasso");
    if (lasso) {
      const [x, y, ...pairs] = lasso.split(";");
      const pts = pairs.map((p) => p.split(",").map(Number)).filter((p) => p.length === 2 && p.every(Number.isFinite));
      if (NAME.test(x || "") && NAME.test(y || "") && pts.length >= 3) f.lasso = { x, y, pts };
    }
    const status = query.get("status") || "";
    f.status = STATUSES.includes(status) ? status : "";
    f.noFailures = query.get("failures") === "exclude";
    return f;
  }

  /** Write this filter into `query` (replacing any earlier filter keys, keeping view keys like x or sort). */
  toQuery(query) {
    for (const key of [...query.keys()]) {
      if (key.startsWith("f.") || key === "lasso" || key === "status" || key === "failures") query.delete(key);
    }
    for (const [name, [lo, hi]] of this.ranges) query.set(`f.${name}`, `${numText(lo)}..${numText(hi)}`);
    if (this.lasso) {
      const pts = this.lasso.pts.map(([x, y]) => `${round4(x)},${round4(y)}`);
      query.set("lasso", [this.lasso.x, this.lasso.y, ...pts].join(";"));
    }
    if (this.status) query.set("status", this.status);
    if (this.noFailures) query.set("failures", "exclude");
    return query;
  }

  setRange(name, lo, hi) {
    if (!NAME.test(name)) return;
    if (lo === null && hi === null) this.ranges.delete(name);
    else this.ranges.set(name, [lo, hi]);
  }

  clear() {
    this.ranges.clear();
    this.lasso = null;
    this.status = "";
    this.noFailures = false;
  }

  isActive() {
    return this.ranges.size > 0 || this.lasso !== null || this.status !== "" || this.noFailures;
  }

  /**
   * The same filter as API query parameters (`flops_min`, `d_max`, `status`, ...). A lasso has no SQL form,
   * so it travels as the ids it keeps (`matchedIds`, comma-joined); the server caps that list at MAX_IDS.
   */
  serverQuery(matchedIds = null) {
    const q = {};
    for (const [name, [lo, hi]] of this.ranges) {
      if (lo !== null) q[`${name}_min`] = lo;
      if (hi !== null) q[`${name}_max`] = hi;
    }
    if (this.status) q.status = this.status;
    if (this.noFailures) q.exclude_failures = true;
    if (this.lasso) {
      if (!matchedIds) throw new Error("a lasso selection needs the matched ids");
      if (matchedIds.length > MAX_IDS) {
        throw new Error(`the lasso keeps ${matchedIds.length} models; the server takes at most ${MAX_IDS} ids — ` +
          "draw a smaller lasso or use a box / range filter");
      }
      q.ids = matchedIds.length ? Array.from(matchedIds).join(",") : "-1";
    }
    return q;
  }

  /** One line for humans: "flops 100M–400M · error ≤ 20 · lasso on flops/error". */
  /** @param {(v: number) => string} [fmt] */
  describe(fmt = (v) => String(v)) {
    const parts = [];
    for (const [name, [lo, hi]] of this.ranges) {
      if (lo !== null && hi !== null) parts.push(`${name} ${fmt(lo)}–${fmt(hi)}`);
      else if (lo !== null) parts.push(`${name} ≥ ${fmt(lo)}`);
      else parts.push(`${name} ≤ ${fmt(hi)}`);
    }
    if (this.lasso) parts.push(`lasso on ${this.lasso.x}/${this.lasso.y}`);
    if (this.status) parts.push(`status ${this.status}`);
    if (this.noFailures) parts.push("without learning failures");
    return parts.join(" · ");
  }

  /** Indices (ascending) of the population rows that pass; missing values (NaN) fail any range on them. */
  apply(pop) {
    const n = pop.n;
    const keep = new Uint8Array(n).fill(1);
    for (const [name, [lo, hi]] of this.ranges) {
      const col = pop.cols[name];
      if (!col) {
        keep.fill(0); // a range on a column this study does not have matches nothing, like SQL on NULL
        break;
      }
      const a = lo === null ? -Infinity : lo;
      const b = hi === null ? Infinity : hi;
      for (let i = 0; i < n; i++) {
        const v = col[i];
        if (!(v >= a && v <= b)) keep[i] = 0;
      }
    }
    if (this.status) {
      const code = pop.statusNames.indexOf(this.status);
      for (let i = 0; i < n; i++) if (pop.status[i] !== code) keep[i] = 0;
    }
    if (this.noFailures) for (let i = 0; i < n; i++) if (pop.failure[i]) keep[i] = 0;
    if (this.lasso) this.applyLasso(pop, keep);
    let count = 0;
    for (let i = 0; i < n; i++) count += keep[i];
    const idx = new Uint32Array(count);
    for (let i = 0, j = 0; i < n; i++) if (keep[i]) idx[j++] = i;
    return idx;
  }

  applyLasso(pop, keep) {
    const { x, y, pts } = this.lasso;
    const cx = pop.cols[x];
    const cy = pop.cols[y];
    if (!cx || !cy) {
      keep.fill(0);
      return;
    }
    // a lasso drawn on a log axis is a straight-edged polygon in log space: test there
    const tx = LOG_SCALE.has(x) ? Math.log10 : (v) => v;
    const ty = LOG_SCALE.has(y) ? Math.log10 : (v) => v;
    const xs = pts.map((p) => tx(p[0]));
    const ys = pts.map((p) => ty(p[1]));
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    for (let i = 0; i < pop.n; i++) {
      if (!keep[i]) continue;
      const px = tx(cx[i]);
      const py = ty(cy[i]);
      if (!(px >= x0 && px <= x1 && py >= y0 && py <= y1) || !inside(px, py, xs, ys)) keep[i] = 0;
    }
  }
}
