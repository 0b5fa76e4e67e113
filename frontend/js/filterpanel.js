// @ts-check
// The filter panel: a min/max pair for every parameter and complexity metric the population has, a status
// choice, and a live count. Inputs accept 360M / 0.4G forms; a bad value is flagged next to its field.
import { h, parseCount } from "./dom.js";
import { filterGroups, fmtValue, label } from "./columns.js";
import { failureCounts } from "./population.js";

const STATUSES = ["", "done", "running", "queued", "failed", "cancelled"];

function colRange(col) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/** @type {[number, string][]} */
const SI_SHORT = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];

/**
 * What an input shows for the filter's value `v`: the user's own text while it still means `v` ("500M" stays
 * "500M"), else the shortest SI form that parses back to exactly `v` (5e8 -> "500M"), else the plain number.
 * @param {string} current  the input's text
 * @param {number | null} v
 */
export function rangeText(current, v) {
  if (v === null || v === undefined) return "";
  try {
    if (current.trim() !== "" && parseCount(current) === v) return current;
  } catch {
    // not a number: replaced below
  }
  for (const [unit, suffix] of SI_SHORT) {
    if (Math.abs(v) < unit) continue;
    const short = `${+(v / unit).toPrecision(6)}${suffix}`;
    if (parseCount(short) === v) return short;
  }
  return String(v);
}

export class FilterPanel {
  /**
   * @param {HTMLElement} root
   * @param {{onChange?: (name: string, lo?: any, hi?: any) => void, onReset?: () => void}} [handlers]
   *   onChange(name, lo, hi) for ranges, ("status", value) for the status select, ("failures", exclude) for the
   *   learning-failures checkbox
   */
  constructor(root, { onChange, onReset } = {}) {
    this.root = root;
    this.onChange = onChange;
    this.onReset = onReset;
    this.inputs = new Map(); // name -> {lo, hi, err}
    this.count = h("p", { class: "filter-count", "aria-live": "polite" });
    this.desc = h("p", { class: "filter-desc muted" });
    this.names = "";
  }

  /** Reset: inputs holding a rejected range are cleared too. */
  reset() {
    for (const parts of this.inputs.values()) parts.invalid = false;
    this.onReset?.();
  }

  /** (Re)build inputs when the set of columns changes; otherwise only refresh values and placeholders. */
  build(pop) {
    const names = [...pop.names].sort().join(",");
    if (names !== this.names) {
      this.names = names;
      this.inputs.clear();
      this.status = h("select", { id: "filter-status", onchange: (e) => this.onChange?.("status", e.target.value) },
        STATUSES.map((s) => h("option", { value: s }, s || "any status")));
      this.noFailures = h("input", { type: "checkbox", id: "filter-failures",
        onchange: (e) => this.onChange?.("failures", e.target.checked) });
      this.failureText = h("span", {}, "Leave out learning failures");
      const groups = filterGroups(pop.names).map((g) =>
        h("details", { class: "filter-group", open: g.open },
          h("summary", {}, g.title),
          g.names.map((name) => this.rangeRow(name))));
      this.root.replaceChildren(
        h("div", { class: "filter-head" },
          h("h2", {}, "Filter"),
          h("button", { type: "button", class: "btn btn-small", id: "filter-reset", onclick: () => this.reset() }, "Reset")),
        this.count,
        this.desc,
        h("div", { class: "field" }, h("label", { for: "filter-status" }, "Status"), this.status),
        h("div", { class: "field" }, h("label", { class: "check", for: "filter-failures",
          title: "models that diverged (non-finite loss) or did not learn (final error near chance, or loss above " +
            "its start); a space's EDF includes them by default, as in the paper" }, this.noFailures, " ", this.failureText)),
        ...groups);
    }
    const { diverged, didNotLearn } = failureCounts(pop);
    this.failureText.textContent = `Leave out learning failures (${diverged} diverged, ${didNotLearn} did not learn)`;
    for (const [name, parts] of this.inputs) {
      const r = pop.cols[name] ? pop.ranges?.[name] ?? colRange(pop.cols[name]) : null;
      parts.lo.placeholder = r ? fmtValue(name, r[0]) : "–";
      parts.hi.placeholder = r ? fmtValue(name, r[1]) : "–";
    }
  }

  rangeRow(name) {
    const id = `f-${name}`;
    const err = h("p", { class: "field-error", id: `${id}-err`, hidden: true });
    const commit = () => this.commit(name);
    const mk = (side) => h("input", {
      id: `${id}-${side}`,
      type: "text",
      inputmode: "decimal",
      autocomplete: "off",
      class: "range-input",
      "aria-label": `${label(name)} ${side === "lo" ? "minimum" : "maximum"}`,
      onchange: commit,
      onkeydown: (e) => e.key === "Enter" && commit(),
    });
    const lo = mk("lo");
    const hi = mk("hi");
    this.inputs.set(name, { lo, hi, err });
    return h("div", { class: "range-row", dataset: { name } },
      h("span", { class: "range-label", id: `${id}-label`, title: label(name) }, name),
      lo, h("span", { class: "range-dash", "aria-hidden": "true" }, "–"), hi, err);
  }

  commit(name) {
    const parts = this.inputs.get(name);
    let lo;
    let hi;
    try {
      lo = parseCount(parts.lo.value);
      hi = parseCount(parts.hi.value);
    } catch (e) {
      return this.reject(name, parts, e.message);
    }
    // every column in the panel counts or measures something (blocks, channels, flops, seconds, % error)
    const negative = [lo, hi].find((v) => v !== null && v < 0);
    if (negative !== undefined) return this.reject(name, parts, `${label(name)} is never negative (got ${negative}); use a value ≥ 0`);
    if (lo !== null && hi !== null && lo > hi) {
      return this.reject(name, parts, `min must be ≤ max (got ${fmtValue(name, lo)} > ${fmtValue(name, hi)})`);
    }
    parts.invalid = false;
    this.flag(parts, null);
    // Enter and the change event that follows it commit the same values once
    const key = `${lo}..${hi}`;
    if (parts.committed === key) return;
    parts.committed = key;
    this.onChange?.(name, lo, hi);
  }

  /**
   * A range that cannot be applied: say why beside it, and take the column's earlier range out of the filter
   * (applying half of what was typed, e.g. the min of an inverted range, would show models the user did not ask
   * for). The inputs keep the text until it is corrected.
   */
  reject(name, parts, message) {
    this.flag(parts, `${message} — not applied.`);
    parts.invalid = true;
    if (parts.committed !== "null..null") {
      parts.committed = "null..null";
      this.onChange?.(name, null, null);
    }
  }

  flag(parts, message) {
    parts.err.hidden = !message;
    parts.err.textContent = message ?? "";
    for (const el of [parts.lo, parts.hi]) {
      if (message) {
        el.setAttribute("aria-invalid", "true");
        el.setAttribute("aria-describedby", parts.err.id);
      } else {
        el.removeAttribute("aria-invalid");
        el.removeAttribute("aria-describedby");
      }
    }
  }

  /** Show the filter's values in the inputs (after a URL change, a brushed selection or a reset). */
  show(filter, matched, total, fmtDesc) {
    for (const [name, parts] of this.inputs) {
      const [lo, hi] = filter.ranges.get(name) ?? [null, null];
      if (parts.invalid && lo === null && hi === null) continue; // a rejected range: its text and reason stay
      parts.invalid = false;
      parts.committed = `${lo}..${hi}`;
      if (document.activeElement !== parts.lo) parts.lo.value = rangeText(parts.lo.value, lo);
      if (document.activeElement !== parts.hi) parts.hi.value = rangeText(parts.hi.value, hi);
      this.flag(parts, null);
    }
    if (this.status) this.status.value = filter.status;
    if (this.noFailures) this.noFailures.checked = filter.noFailures;
    this.count.textContent = `${matched.toLocaleString()} of ${total.toLocaleString()} models match`;
    this.desc.textContent = filter.isActive() ? fmtDesc : "No filter: showing every model.";
  }
}
