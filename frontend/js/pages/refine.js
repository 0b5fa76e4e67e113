// @ts-check
// Refine: derive a child design space from a study (POST /api/studies/{id}/refine). Choose one step (share or
// make monotone a per-stage parameter, fix a value, narrow to a range, to the bootstrap best range or to the
// study page's filter, switch to the RegNet law), preview it — the child's dimension and size, which of the
// parent's trained models already lie in it, their error EDF against the parent's (an in-sample estimate) —
// and only then create the child and queue its samples. 422s land beside the control they name.
import { ApiError, getJSON, isReal, postJSON } from "../api.js";
import { clear, fmtCount, fmtError, fmtNum, h } from "../dom.js";
import { Filter } from "../filter.js";
import { field, numberInput, readCount, readInt, select, textInput } from "../forms.js";
import { drawFigure, plotCard, purge } from "../plots.js";
import { routeHash } from "../url.js";
import { clearFieldErrors, setFieldError, showFieldErrors } from "../widgets.js";

/** @typedef {import("../api.js").Schemas} Schemas  the API's documented JSON shapes */

/** The kinds of step, the family's refine_steps they need, and what the menu says. */
const KINDS = [
  ["share", "share", "Share a per-stage parameter (b_i = b)"],
  ["monotone", "monotone", "Make a per-stage parameter non-decreasing (w_(i+1) ≥ w_i)"],
  ["fix", "fix", "Fix a parameter to one value"],
  ["narrow", "narrow", "Narrow a parameter to a range"],
  ["bestrange", "narrow", "Narrow to the bootstrap best range"],
  ["filter", "narrow", "Narrow to the study page's filter"],
  ["to_regnet", "to_regnet", "Switch to the RegNet law (quantized linear widths)"],
];

const fmtSize = (v) => (v === null || v === undefined ? "–" : v < 1e6 ? fmtCount(v) : v.toExponential(2).replace("e+", "e"));

export function mount(root, route, ctx) {
  const studyId = route.id;
  const carried = Filter.fromQuery(route.query);
  const ctrl = new AbortController();
  /** @type {Schemas["Study"] | null} */
  let study = null;
  /** @type {any} */
  let family = null;
  let previewed = null; // JSON of the body the shown preview answers; create only that
  let busy = false;

  const title = h("h1", {}, `Refine study ${studyId}`);
  const back = h("a", { href: routeHash("study", studyId) }, "back to the study");
  const kind = select([], { id: "refine-kind", dataset: { field: "step" } });
  const param = select([], { id: "refine-param" });
  const paramField = field("Parameter", param);
  const value = numberInput({ id: "refine-value", placeholder: "value" });
  const valueField = field("Value", value, { name: "step.fix" });
  const lo = numberInput({ id: "refine-low", placeholder: "low", "aria-label": "range low" });
  const hi = numberInput({ id: "refine-high", placeholder: "high", "aria-label": "range high" });
  const rangeField = h("fieldset", { class: "field range-pair", dataset: { field: "step.narrow" } },
    h("legend", {}, "Range"), lo, h("span", { "aria-hidden": "true" }, "–"), hi);
  const bestNote = h("p", { class: "hint", dataset: { field: "bestrange" } });
  const bestField = h("div", { class: "field" }, bestNote);
  const filterNote = h("p", { class: "hint" });
  const filterField = h("div", { class: "field", dataset: { field: "filter" } }, filterNote);
  const efit = numberInput({ id: "refine-efit", value: "0.05" });
  const efitField = field("e_fit tolerance", efit, { name: "efit_max",
    hint: "a parent model counts as inside when the law reproduces its widths this well (mean |log ratio|)" });
  const base = select([], { id: "refine-base" });
  const baseField = field("Space to refine", base, { name: "base",
    hint: "an imported population has no space of its own: pick the built-in space its models come from" });
  const name = textInput({ id: "refine-name", required: true, maxlength: 100 });
  const nameField = field("Child study name", name, { name: "step.name" });
  const n = numberInput({ id: "refine-n", value: "32" });
  const nField = field("Samples to queue", n, { name: "n", hint: "models of the child sampled and queued when it is created" });
  const previewBtn = h("button", { type: "submit", class: "btn btn-primary", id: "refine-preview" }, "Preview");
  const createBtn = h("button", { type: "button", class: "btn", id: "refine-create", disabled: true, onclick: create }, "Create and queue");
  const formStatus = h("span", { class: "muted", "aria-live": "polite" });
  const form = h("form", { class: "card refine-form", novalidate: true, onsubmit: preview, oninput: stale, onchange: stale },
    h("h2", {}, "Step"), field("Kind of step", kind), paramField, valueField, rangeField, bestField, filterField, efitField,
    baseField, nameField, nField, h("div", { class: "row" }, previewBtn, createBtn, formStatus));
  const facts = h("div", { class: "preview-facts", id: "refine-facts" }, h("p", { class: "muted" }, "Nothing previewed yet: choose a step and press Preview. Nothing is queued before Create."));
  const fig = plotCard("Error EDF: parent vs the models it keeps", "the parent's trained models and those of them that lie "
    + "in the child; an in-sample estimate of the child's EDF (they were drawn from the parent, not the child).", { height: 340 });
  fig.plot.id = "refine-plot";
  const previewCard = h("section", { class: "card refine-preview", id: "refine-preview-card", "aria-live": "polite" }, h("h2", {}, "Preview"), facts);
  root.append(h("div", { class: "page-head" }, h("div", {}, title, h("p", { class: "muted" }, "Derive a child design space, see what it keeps, then queue it — ", back))),
    h("div", { class: "refine-layout" }, form, h("div", {}, previewCard, fig.card)));

  function showFor() {
    const k = kind.value;
    paramField.hidden = !["share", "monotone", "fix", "narrow", "bestrange"].includes(k);
    valueField.hidden = k !== "fix";
    rangeField.hidden = k !== "narrow";
    bestField.hidden = k !== "bestrange";
    filterField.hidden = k !== "filter";
    efitField.hidden = k !== "to_regnet";
    const params = Object.entries(study?.space?.params ?? {});
    const stage = new Set(family?.stage_params ?? []);
    const choices = params.filter(([p, spec]) => (k === "share" ? stage.has(p) && !spec.shared
      : k === "monotone" ? stage.has(p) && !spec.monotone : k === "fix" ? spec.law !== "fixed" : true)).map(([p]) => p);
    const keep = param.value;
    clear(param, choices.map((p) => h("option", { value: p, selected: p === keep }, p)));
    // (for a range, errors belong beside the range: the select is named so that no API field lands on it)
    param.dataset.field = { share: "step.share", monotone: "step.monotone", fix: "step.fix", narrow: "narrow-param", bestrange: "bestrange" }[k] ?? "step";
    bestNote.textContent = `the range of ${param.value || "the parameter"} that holds the parent's best models, by the bootstrap over its finished models (${study?.counts?.results ?? "?"} now)`;
    const desc = carried.describe((v) => fmtCount(v));
    filterNote.textContent = carried.ranges.size ? `the filter you came with: ${desc} (ranges over space parameters narrow them; others are listed as ignored)`
      : "no filter came with this page: set ranges on the study page, then press Refine… there";
    if (!name.dataset.touched) name.value = suggestName();
  }

  function suggestName() {
    const k = kind.value;
    const p = param.value;
    const tag = { share: `shared-${p}`, monotone: `monotone-${p}`, fix: `${p}-fixed`, narrow: `${p}-narrowed`, bestrange: `${p}-best`, filter: "filtered", to_regnet: "regnet-law" }[k] ?? k;
    return `${study?.name ?? `study${studyId}`}-${tag}`.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 100);
  }

  function stale(e) {
    if (e?.target === n) return; // how many to queue does not change the preview
    if (e?.target === name) name.dataset.touched = "1";
    if (e?.target === kind || e?.target === param) showFor();
    if (previewed !== null) {
      createBtn.disabled = true;
      formStatus.textContent = "changed since the preview: preview again";
    }
  }

  /** The request body from the form, or null with the errors shown beside their controls. */
  function body() {
    clearFieldErrors(form);
    /** @type {import("../api.js").FieldMessage[]} */
    const errors = [];
    const k = kind.value;
    const p = param.value;
    /** @type {Record<string, any>} */
    const step = { name: name.value.trim() };
    /** @type {Record<string, any>} */
    const out = { step };
    if (!step.name) errors.push({ field: "step.name", message: "give the child study a name" });
    if (!paramField.hidden && !p) errors.push({ field: param.dataset.field, message: "no parameter of this space can take this step" });
    if (k === "share") step.share = [p];
    else if (k === "monotone") step.monotone = [p];
    else if (k === "fix") {
      const v = readCount(value, "step.fix", errors);
      if (v === undefined && !errors.length) errors.push({ field: "step.fix", message: "give the value to fix" });
      else if (v !== undefined) step.fix = { [p]: v };
    } else if (k === "narrow") {
      const a = readCount(lo, "step.narrow", errors);
      const b = readCount(hi, "step.narrow", errors);
      if (a === undefined || b === undefined) {
        if (!errors.length) errors.push({ field: "step.narrow", message: "give both ends of the range" });
      } else if (a > b) errors.push({ field: "step.narrow", message: `low must be ≤ high (got ${lo.value} > ${hi.value})` });
      else step.narrow = { [p]: [a, b] };
    } else if (k === "bestrange") out.bestrange = [p];
    else if (k === "filter") {
      if (!carried.ranges.size) errors.push({ field: "filter", message: "no filter ranges came with this page" });
      else out.filter = carried.serverQuery();
    } else if (k === "to_regnet") {
      step.to_regnet = true;
      const e = readCount(efit, "efit_max", errors);
      if (e !== undefined) out.efit_max = e;
    }
    if (!baseField.hidden) out.base = base.value;
    if (errors.length) {
      showFieldErrors(form, errors);
      return null;
    }
    return out;
  }

  function fail(err) {
    if (!isReal(err)) return;
    if (err instanceof ApiError && err.status === 409) err = new ApiError(409, err.message, [{ field: "step.name", message: err.message }]);
    const rest = err instanceof ApiError ? showFieldErrors(form, err.fields.length ? err.fields : [{ field: "", message: err.message }]) : [];
    if (!(err instanceof ApiError)) ctx.banner.error(err);
    else if (rest.length) ctx.banner.show(rest.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message)).join("; "));
  }

  /** @param {Event} e */
  async function preview(e) {
    e.preventDefault();
    if (busy) return;
    const b = body();
    if (!b) return;
    busy = true;
    previewBtn.disabled = true;
    formStatus.textContent = "Previewing…";
    try {
      /** @type {Schemas["RefineResult"]} */
      const out = await postJSON(`/api/studies/${studyId}/refine`, { ...b, preview: true }, null, { signal: ctrl.signal });
      previewed = JSON.stringify(b);
      await showPreview(out.preview);
      createBtn.disabled = false;
      formStatus.textContent = "Preview ready; nothing queued yet.";
    } catch (err) {
      formStatus.textContent = "";
      fail(err);
    } finally {
      busy = false;
      previewBtn.disabled = false;
    }
  }

  async function create() {
    if (busy || previewed === null) return;
    const b = body();
    if (!b || JSON.stringify(b) !== previewed) {
      createBtn.disabled = true;
      formStatus.textContent = "changed since the preview: preview again";
      return;
    }
    /** @type {import("../api.js").FieldMessage[]} */
    const errors = [];
    const count = readInt(n, "n", errors);
    if (count !== undefined && count < 1) errors.push({ field: "n", message: "must be ≥ 1 (leave it empty to queue nothing yet)" });
    if (errors.length) return showFieldErrors(form, errors);
    busy = true;
    createBtn.disabled = true;
    formStatus.textContent = "Creating…";
    try {
      /** @type {Schemas["RefineResult"]} */
      const out = await postJSON(`/api/studies/${studyId}/refine`, { ...b, preview: false, n: count }, null, { signal: ctrl.signal });
      ctx.go("study", out.study.id);
    } catch (err) {
      formStatus.textContent = "";
      createBtn.disabled = false;
      fail(err);
    } finally {
      busy = false;
    }
  }

  /** @param {Schemas["RefinePreview"]} p */
  async function showPreview(p) {
    const s = p.in_sample;
    const ps = s.parent_stats;
    const cs = s.child_stats;
    const stats = (x) => (x ? `n=${x.n}, min ${fmtError(x.min)}, mean ${fmtError(x.mean)}` : "no finished model");
    const ks = s.ks === null ? (s.ks_absent ?? "KS omitted: a side without finished models")
      : s.p_value !== null ? `KS ${fmtNum(s.ks, 3)}, p = ${fmtNum(s.p_value, 3)}`
        : `KS ${fmtNum(s.ks, 3)}; ${s.ks_absent}`;
    /** @type {Array<[string, any]>} */
    const narrowedEntries = Object.entries(p.narrowed ?? {});
    const narrowed = narrowedEntries.map(([k, v]) => `${k}: ${fmtNum(v.low)}–${fmtNum(v.high)} (${(v.sources ?? []).join(", ")})${v.unchanged ? " — holds every value already, no constraint" : ""}`);
    clear(facts, h("dl", { class: "facts" },
      h("dt", {}, "child"), h("dd", { "data-testid": "child-constraint" }, `${p.child.name}: ${p.child.constraint}`),
      h("dt", {}, "dimension"), h("dd", { "data-testid": "child-dimension" }, `${p.child.size.dimension} (parent ${p.parent.size.dimension})`),
      h("dt", {}, "size"), h("dd", { "data-testid": "child-size", title: p.child.size.exact }, `${fmtSize(p.child.size.exact_float)} (parent ${fmtSize(p.parent.size.exact_float)})`),
      h("dt", {}, "parent models kept"), h("dd", { "data-testid": "kept" },
        `${s.inside_finished} of ${s.finished} finished${s.fraction !== null ? ` (${(100 * s.fraction).toFixed(1)}%)` : ""}; ${s.inside} of ${s.models} in all`
        + (s.method === "e_fit" ? ` (widths fit the law: e_fit ≤ ${s.efit_max})` : "")),
      h("dt", {}, "parent"), h("dd", {}, stats(ps)),
      h("dt", {}, "kept"), h("dd", {}, stats(cs)),
      h("dt", {}, "KS"), h("dd", { "data-testid": "ks" }, ks),
      narrowed.length ? [h("dt", {}, "narrowed"), h("dd", {}, narrowed.join("; "))] : null,
      p.filter_ignored?.length ? [h("dt", {}, "filter ignored"), h("dd", {}, p.filter_ignored.join(", "))] : null),
    h("p", { class: "hint" }, `The kept models' EDF is an ${p.label}: a preview, not the child's own population.`));
    if (!p.child.name_available) setFieldError(nameField.querySelector("input"), `a study named ${p.child.name} exists: choose another name`);
    await drawFigure(fig.plot, p.figure, { height: 340, filename: `netspace-refine${studyId}` });
    const meta = /** @type {{note?: string}} */ (p.figure.layout?.meta ?? {});
    fig.status.textContent = meta.note ?? "";
    fig.plot.dataset.loaded = String(Number(fig.plot.dataset.loaded || 0) + 1);
  }

  /** The kinds of step the space's family allows (GET /api/families refine_steps). */
  function fillKinds() {
    const allowed = new Set(family?.refine_steps ?? ["narrow", "fix"]);
    const keep = kind.value;
    clear(kind, KINDS.filter(([, need]) => allowed.has(need)).map(([v, , label]) => h("option", { value: v, selected: v === keep }, label)));
    if (!keep && carried.ranges.size) kind.value = "filter";
    showFor();
  }

  async function load() {
    try {
      const [s, fams, spaces] = await Promise.all([
        getJSON(`/api/studies/${studyId}`, null, { signal: ctrl.signal }),
        getJSON("/api/families", null, { signal: ctrl.signal }),
        getJSON("/api/spaces", null, { signal: ctrl.signal })]);
      study = s;
      title.textContent = `Refine ${s.name}`;
      document.title = `Refine ${s.name} · netspace`;
      const own = s.space?.params ? fams.find((f) => f.name === s.space.family) : null;
      baseField.hidden = Boolean(own);
      family = own;
      if (!own) {
        // an imported population: its models are refined against the built-in space the user picks
        clear(base, spaces.map((sp) => h("option", { value: sp.name }, sp.name)));
        base.onchange = async () => {
          const spec = await getJSON(`/api/spaces/${encodeURIComponent(base.value)}`, null, { signal: ctrl.signal });
          family = fams.find((f) => f.name === spec.family) ?? null;
          study = { ...s, space: spec };
          fillKinds();
        };
        await base.onchange(new Event("change"));
      }
      fillKinds();
    } catch (err) {
      if (isReal(err)) ctx.banner.error(err);
    }
  }
  load();
  return {
    unmount() {
      ctrl.abort();
      purge(fig.plot);
    },
  };
}
