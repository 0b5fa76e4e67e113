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

function text(v) {
  return v === null || v === undefined ? "" : String(v);
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
          h("button", { type: "button", class: "btn btn-small", id: "filter-reset", onclick: () => this.onReset?.() }, "Reset")),
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
      const r = pop.cols[name] ? colRange(pop.cols[name]) : null;
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
      return this.flag(parts, e.message);
    }
    if (lo !== null && hi !== null && lo > hi) return this.flag(parts, "min must be ≤ max");
    this.flag(parts, null);
    // Enter and the change event that follows it commit the same values once
    const key = `${lo}..${hi}`;
    if (parts.committed === key) return;
    parts.committed = key;
    this.onChange?.(name, lo, hi);
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
      parts.committed = `${lo}..${hi}`;
      if (document.activeElement !== parts.lo) parts.lo.value = text(lo);
      if (document.activeElement !== parts.hi) parts.hi.value = text(hi);
      this.flag(parts, null);
    }
    if (this.status) this.status.value = filter.status;
    if (this.noFailures) this.noFailures.checked = filter.noFailures;
    this.count.textContent = `${matched.toLocaleString()} of ${total.toLocaleString()} models match`;
    this.desc.textContent = filter.isActive() ? fmtDesc : "No filter: showing every model.";
  }
}
