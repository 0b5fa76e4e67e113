// @ts-check
// Queue: create a study (built-in or custom space with inline validation, dataset, regime, recipe) and queue
// its first samples; or add n samples to an existing study. API 422s are shown next to the field they name.
import { ApiError, getJSON, postJSON } from "../api.js";
import { clear, debounce, fmtCount, h } from "../dom.js";
import { field, numberInput, rangePair, readCount, readInt, select, textInput } from "../forms.js";
import { routeHash } from "../url.js";
import { clearFieldErrors, showFieldErrors } from "../widgets.js";

/** @typedef {import("../api.js").Schemas} Schemas  the API's documented JSON shapes */

// [key, title, regime, image size, recipe preset (GET /api/recipes) or null for the paper's defaults]
/** @type {[string, string, Record<string, (number | null)[]>, number | null, string | null][]} */
const PRESETS = [
  ["tiny", "Tiny (CPU minutes: ≤ 5M flops, 32², cpu-proxy recipe)", { flops: [null, 5e6] }, 32, "cpu-proxy"],
  ["small", "Small (≤ 50M flops, 32²)", { flops: [null, 50e6] }, 32, null],
  ["400mf", "Paper 360–400MF (224², GPU scale)", { flops: [360e6, 400e6] }, 224, null],
  ["none", "No constraint", {}, null, null],
];
const RECIPE = [
  ["epochs", "Epochs", "10", "paper's low-cost regime: 10"],
  ["batch_size", "Batch size", "128", null],
  ["lr", "Base learning rate", "0.05", "at batch 128, scaled linearly"],
  ["momentum", "Momentum", "0.9", null],
  ["wd", "Weight decay", "5e-5", null],
  ["warmup_epochs", "Warm-up epochs", "0", null],
  ["label_smoothing", "Label smoothing", "0", null],
  ["seed", "Training seed", "0", "per-job seeds derive from it"],
];
/** image sizes from this one up are flagged: a CPU worker takes hours per model (the paper's regime is GPU-scale) */
const COSTLY_IM_SIZE = 128;
const INT_RECIPE = new Set(["epochs", "batch_size", "warmup_epochs", "seed"]);

/**
 * n, seed and priority. One rule for n everywhere (the API's too): a whole number of at least 1; only the new
 * study's n may be left empty, for a study with no samples yet.
 * @param {string} prefix @param {boolean} optional
 */
function samplesFields(prefix, optional) {
  const n = numberInput({ value: "24", required: !optional, name: `${prefix}-n` });
  const seed = numberInput({ value: "0", name: `${prefix}-seed` });
  const priority = numberInput({ value: "0", name: `${prefix}-priority` });
  return {
    n, seed, priority,
    el: h("div", { class: "grid3" },
      field("Samples n", n, { name: "n", hint: optional ? "models to sample and train (≥ 1; empty: none yet)" : "models to sample and train (≥ 1)" }),
      field("Sampling seed", seed, { name: "seed", hint: "same seed, same models" }),
      field("Priority", priority, { name: "priority", hint: "higher runs first" })),
  };
}

function readSamples(s, errors) {
  const n = readInt(s.n, "n", errors);
  if (n === undefined && s.n.required) errors.push({ field: "n", message: "required: how many models to sample (≥ 1)" });
  else if (n !== undefined && n < 1) errors.push({ field: "n", message: `must be at least 1 (got ${n})${s.n.required ? "" : "; leave it empty to create the study without samples"}` });
  const out = { n, seed: readInt(s.seed, "seed", errors), priority: readInt(s.priority, "priority", errors) };
  if (n === undefined) delete out.n;
  return out;
}

/** "queued 4 new models and their jobs, 0 already in the study, sampler acceptance 12%". */
function queuedText(out) {
  if (!out) return "no samples queued";
  const parts = [`queued ${out.queued} new model${out.queued === 1 ? "" : "s"} with their jobs`];
  if (out.duplicates) parts.push(`${out.duplicates} already in the study`);
  if (typeof out.acceptance_rate === "number") parts.push(`sampler acceptance ${(100 * out.acceptance_rate).toPrecision(3)}%`);
  return parts.join(", ");
}

export function mount(root, route, ctx) {
  const log = h("ol", { class: "queued-log", id: "queued-log", "aria-live": "polite" });
  let spaces = [];

  // ---------- new study form
  const name = textInput({ required: true, placeholder: "e.g. regnetx-digits-1ep", maxlength: "200" });
  const spaceMode = h("div", { class: "row", role: "radiogroup", "aria-label": "design space source" });
  const builtin = select([], { "aria-describedby": "space-desc" });
  const spaceDesc = h("p", { class: "hint", id: "space-desc" });
  const specText = h("textarea", { rows: 14, spellcheck: false, class: "code", placeholder: "name: MySpace\nfamily: regnet\nparams:\n  d: {law: uniform, low: 1, high: 16, q: 1}\n  ..." });
  const specCheck = h("div", { class: "spec-check", id: "spec-check", "aria-live": "polite" });
  const builtinBox = h("div", {}, field("Built-in space", builtin, { name: "space" }), spaceDesc,
    h("button", { type: "button", class: "btn btn-small", onclick: () => editCopy() }, "Edit a copy as a custom spec"));
  const customBox = h("div", { hidden: true }, field("Custom spec (YAML or JSON)", specText, { name: "space", hint: "the same format as the built-ins; checked as you type" }), specCheck);
  for (const [value, text] of [["builtin", "Built-in"], ["custom", "Custom spec"]]) {
    spaceMode.append(h("label", { class: "check" },
      h("input", { type: "radio", name: "space-mode", value, checked: value === "builtin", onchange: () => setMode(value) }), ` ${text}`));
  }

  // the datasets come from the registry (GET /api/datasets): a new dataset module shows up here by itself
  /** @type {Schemas["DatasetInfo"][]} */
  let datasets = [];
  const dsName = select([["digits", "digits (scikit-learn, bundled)"]], { "aria-describedby": "dataset-desc" });
  const dsDesc = h("p", { class: "hint", id: "dataset-desc" });
  const dsPath = textInput({ placeholder: "" });
  const dsPathField = field("Dataset path", dsPath, { name: "dataset.path", hint: "on the workers' file system" });
  dsPathField.hidden = true;
  const datasetOf = () => datasets.find((d) => d.name === dsName.value);
  const showDataset = () => {
    const ds = datasetOf();
    dsPathField.hidden = !ds?.needs_path;
    dsPath.placeholder = ds?.path_hint ?? "";
    dsDesc.textContent = ds ? `${ds.help}; default ${ds.im_size} px` : "";
  };
  dsName.addEventListener("change", showDataset);
  const imSize = numberInput({ placeholder: "dataset default" });

  const regime = Object.fromEntries(["flops", "params", "acts"].map((m) => [m, rangePair(m, `regime.${m}`)]));
  const presetSel = select(PRESETS.map(([k, t]) => [k, t]), { "aria-label": "regime preset" });
  presetSel.addEventListener("change", () => applyPreset(presetSel.value));

  const recipeInputs = Object.fromEntries(RECIPE.map(([k, , ph]) => [k, numberInput({ placeholder: ph })]));
  // what the chosen preset set, and what it costs: the preset, the recipe fields and this text always agree
  const presetNote = h("p", { class: "hint", id: "preset-note", "aria-live": "polite" });
  const costNote = h("p", { class: "warn-note", id: "cost-note", role: "status", hidden: true });
  const recipeSummary = h("summary", { id: "recipe-summary" }, "Training recipe");
  /** the recipe a preset filled in (null: the paper's defaults), to tell an edited recipe from it */
  let presetRecipe = null;
  let presetRecipeName = null;
  const nesterov = h("input", { type: "checkbox", checked: true });
  // pycls's BN.ZERO_INIT_FINAL_GAMMA: each residual block starts as the identity (the cpu-proxy preset sets it)
  const zeroInit = h("input", { type: "checkbox", checked: false, name: "recipe.zero_init_final_gamma" });
  const studySamples = samplesFields("new", true);
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create study and queue samples");

  const form = h("form", { id: "new-study", class: "card form", novalidate: true, onsubmit: (e) => { e.preventDefault(); createStudy(); } },
    h("h2", {}, "New study"),
    field("Study name", name, { name: "name" }),
    h("fieldset", { class: "field" }, h("legend", {}, "Design space"), spaceMode, builtinBox, customBox),
    h("fieldset", { class: "field" }, h("legend", {}, "Dataset"),
      h("div", { class: "grid3" }, field("Dataset", dsName, { name: "dataset.name" }), dsPathField,
        field("Image size", imSize, { name: "im_size", hint: "input resolution; also used for flops" })), dsDesc, costNote),
    h("fieldset", { class: "field", dataset: { field: "regime" } }, h("legend", {}, "Complexity regime"),
      field("Preset", presetSel), presetNote,
      h("div", { class: "grid3" }, regime.flops.fs, regime.params.fs, regime.acts.fs),
      h("p", { class: "hint" }, "Numbers accept 360e6, 360M or 0.4G; leave a side empty for no bound.")),
    h("details", { class: "field" }, recipeSummary,
      h("div", { class: "grid3", dataset: { field: "recipe" } },
        RECIPE.map(([k, text, , hint]) => field(text, recipeInputs[k], { name: `recipe.${k}`, hint })),
        h("div", { class: "field" }, h("label", { class: "check" }, nesterov, " Nesterov momentum")),
        h("div", { class: "field" }, h("label", { class: "check" }, zeroInit, " Zero-init each residual block's last BN")))),
    h("fieldset", { class: "field" }, h("legend", {}, "First samples"), studySamples.el),
    h("div", { class: "row" }, submit));

  // ---------- add samples form
  const studySel = select([], { required: true });
  const moreSamples = samplesFields("more", false);
  const moreSubmit = h("button", { type: "submit", class: "btn btn-primary" }, "Queue samples");
  const moreForm = h("form", { id: "add-samples", class: "card form", novalidate: true, onsubmit: (e) => { e.preventDefault(); addSamples(); } },
    h("h2", {}, "Add samples to a study"),
    field("Study", studySel, { name: "study" }),
    moreSamples.el,
    h("div", { class: "row" }, moreSubmit));

  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Queue")),
    h("div", { class: "queue-layout" },
      form,
      h("div", { class: "queue-side" }, moreForm,
        h("section", { class: "card", "aria-labelledby": "queued-title" }, h("h2", { id: "queued-title" }, "Queued from this page"), log))));

  // ---------- behaviour
  function setMode(mode) {
    builtinBox.hidden = mode !== "builtin";
    customBox.hidden = mode !== "custom";
    for (const r of spaceMode.querySelectorAll("input")) r.checked = r.value === mode;
    if (mode === "custom") checkSpec();
  }

  async function editCopy() {
    try {
      /** @type {Schemas["SpaceSpec"]} */
      const out = await getJSON(`/api/spaces/${encodeURIComponent(builtin.value)}`);
      specText.value = JSON.stringify({ ...out, name: `${out.name}_custom` }, null, 2);
      setMode("custom");
      specText.focus();
    } catch (err) {
      ctx.banner.error(err);
    }
  }

  /** @type {Promise<Schemas["RecipePresets"]> | null} */
  let recipePresets = null;

  /** A preset sets the regime, the image size and the recipe: the Tiny one the calibrated CPU proxy
   * (backend.study_spec.RECIPE_PRESETS, served by GET /api/recipes), the others the paper's defaults. */
  async function applyPreset(key) {
    const [, , reg, size, recipeName] = PRESETS.find((p) => p[0] === key);
    for (const m of ["flops", "params", "acts"]) {
      const [lo, hi] = reg[m] ?? [null, null];
      regime[m].lo.value = lo === null ? "" : fmtCount(lo);
      regime[m].hi.value = hi === null ? "" : fmtCount(hi);
    }
    if (size) imSize.value = String(size);
    for (const input of Object.values(recipeInputs)) input.value = "";
    nesterov.checked = true;
    zeroInit.checked = false;
    presetRecipe = null;
    presetRecipeName = recipeName;
    showPreset(key);
    if (!recipeName) return;
    try {
      recipePresets ??= getJSON("/api/recipes");
      const recipe = (await recipePresets).presets[recipeName];
      if (presetSel.value !== key) return; // another preset was chosen meanwhile
      for (const [k, input] of Object.entries(recipeInputs)) {
        const v = recipe?.[k];
        if (v !== undefined && v !== null) input.value = String(v);
      }
      nesterov.checked = recipe?.nesterov ?? true;
      zeroInit.checked = recipe?.zero_init_final_gamma ?? false;
      presetRecipe = recipe;
      showPreset(key);
    } catch (err) {
      recipePresets = null;
      ctx.banner.error(err);
    }
  }

  /** The preset's words, the recipe summary and the CPU-cost warning, from what the form holds now. */
  function showPreset(key = presetSel.value) {
    const [, title, reg] = PRESETS.find((p) => p[0] === key);
    const bounds = Object.entries(reg).map(([m, [lo, hi]]) => (lo === null ? `${m} ≤ ${fmtCount(hi)}` : `${m} ${fmtCount(lo)}–${fmtCount(hi)}`));
    const value = (k) => recipeInputs[k].value || recipeInputs[k].placeholder;
    const brief = `${value("epochs")} epochs, batch ${value("batch_size")}, lr ${value("lr")}`;
    const edited = presetRecipe
      ? RECIPE.some(([k]) => recipeInputs[k].value !== String(presetRecipe[k] ?? "")) ||
        zeroInit.checked !== (presetRecipe.zero_init_final_gamma ?? false)
      : Object.values(recipeInputs).some((i) => i.value !== "") || zeroInit.checked;
    const recipeName = presetRecipeName ? `the ${presetRecipeName} preset` : "the paper's low-cost defaults";
    recipeSummary.textContent = edited ? `Training recipe: edited (${brief})` : `Training recipe: ${recipeName} (${brief})`;
    presetNote.textContent = `${title.split(" (")[0]} sets ${bounds.length ? bounds.join(", ") : "no complexity bound"}` +
      `${imSize.value ? `, ${imSize.value}² images` : ""} and ${recipeName}: ${brief}` +
      (presetRecipeName === "cpu-proxy" ? " — calibrated on digits to train in tens of seconds to a few minutes per model on one CPU core." : ".");
    const size = Number(imSize.value) || datasetOf()?.im_size || 0;
    costNote.hidden = size < COSTLY_IM_SIZE;
    costNote.textContent = costNote.hidden ? "" : `CPU cost: ${size}² images take about ${Math.round((size / 32) ** 2)}× the ` +
      `compute of 32² ones per model, and ${bounds.length ? bounds.join(", ") : "unbounded"} models are large: on a CPU worker ` +
      "that is hours per model. This is the paper's GPU-scale regime; for CPU workers pick the Tiny preset or a 32² image size.";
  }
  imSize.addEventListener("input", () => showPreset());
  dsName.addEventListener("change", () => showPreset());
  for (const input of Object.values(recipeInputs)) input.addEventListener("input", () => showPreset());
  zeroInit.addEventListener("change", () => showPreset());

  let parsedSpec = null;
  const checkSpec = debounce(async () => {
    const text = specText.value;
    parsedSpec = null;
    if (!text.trim()) {
      clear(specCheck, h("p", { class: "hint" }, "Write a spec, or start from a built-in with “Edit a copy”."));
      return;
    }
    try {
      /** @type {Schemas["SpaceCheck"]} */
      const out = await postJSON("/api/spaces/validate", { text });
      if (text !== specText.value) return;
      if (!out.valid) {
        clear(specCheck, h("ul", { class: "field-error spec-errors" },
          out.errors.map((f) => h("li", {}, f.field === "space" ? f.msg : `${f.field.replace(/^space\./, "")}: ${f.msg}`))));
        return;
      }
      parsedSpec = out.spec;
      clear(specCheck, h("p", { class: "ok" }, `✓ valid ${out.spec.family} space “${out.spec.name}”, ` +
        `dimension ${out.dimension}, ${out.size.toPrecision(3)} configurations`));
    } catch (err) {
      if (text === specText.value) clear(specCheck, h("p", { class: "field-error" }, `Could not check the spec: ${err.message}`));
    }
  }, 350);
  specText.addEventListener("input", checkSpec);

  function readStudy(errors) {
    const body = { name: name.value.trim() };
    if (!body.name) errors.push({ field: "name", message: "required" });
    if (customBox.hidden) body.space = builtin.value;
    else if (parsedSpec) body.space = parsedSpec;
    else {
      try {
        body.space = JSON.parse(specText.value);
      } catch {
        errors.push({ field: "space", message: "the custom spec is not valid yet (see the check below it)" });
      }
    }
    body.dataset = { name: dsName.value };
    if (datasetOf()?.needs_path) body.dataset.path = dsPath.value.trim();
    const size = readInt(imSize, "im_size", errors);
    if (size !== undefined) body.im_size = size;
    body.regime = {};
    for (const m of ["flops", "params", "acts"]) {
      const lo = readCount(regime[m].lo, `regime.${m}`, errors);
      const hi = readCount(regime[m].hi, `regime.${m}`, errors);
      if (lo !== undefined && hi !== undefined && lo > hi) {
        errors.push({ field: `regime.${m}`, message: `low must be ≤ high (got ${fmtCount(lo)} > ${fmtCount(hi)})` });
      }
      if (lo !== undefined || hi !== undefined) body.regime[m] = [lo ?? null, hi ?? null];
    }
    body.recipe = { nesterov: nesterov.checked, zero_init_final_gamma: zeroInit.checked };
    for (const [k] of RECIPE) {
      const v = (INT_RECIPE.has(k) ? readInt : readCount)(recipeInputs[k], `recipe.${k}`, errors);
      if (v !== undefined) body.recipe[k] = v;
    }
    return body;
  }

  function logQueued(study, out) {
    log.prepend(h("li", {},
      h("a", { href: routeHash("study", study.id) }, study.name), ": ", queuedText(out), " — ",
      h("a", { href: routeHash("jobs", null, new URLSearchParams({ study: study.id })) }, "watch the jobs")));
  }

  async function createStudy() {
    const errors = [];
    const body = { ...readStudy(errors), ...readSamples(studySamples, errors) };
    clearFieldErrors(form);
    if (errors.length) {
      showFieldErrors(form, errors);
      return;
    }
    submit.disabled = true;
    try {
      // one request: the study and its first samples are written in one transaction, or not at all
      /** @type {Schemas["Study"]} */
      const study = await postJSON("/api/studies", body);
      logQueued(study, study.samples);
      ctx.banner.show(`Created “${study.name}”: ${queuedText(study.samples)}.`, { kind: "info" });
      loadStudies();
    } catch (err) {
      fail(form, err);
    } finally {
      submit.disabled = false;
    }
  }

  async function addSamples() {
    const errors = [];
    const samples = readSamples(moreSamples, errors);
    clearFieldErrors(moreForm);
    if (!studySel.value) errors.push({ field: "study", message: "pick a study" });
    if (errors.length) {
      showFieldErrors(moreForm, errors);
      return;
    }
    moreSubmit.disabled = true;
    try {
      /** @type {Schemas["SamplesQueued"]} */
      const out = await postJSON(`/api/studies/${studySel.value}/samples`, samples);
      logQueued({ id: studySel.value, name: studySel.selectedOptions[0]?.textContent ?? studySel.value }, out);
    } catch (err) {
      fail(moreForm, err);
    } finally {
      moreSubmit.disabled = false;
    }
  }

  /** Field errors beside their inputs; anything not tied to a field goes to the banner. */
  function fail(f, err) {
    const fields = err instanceof ApiError ? err.fields.filter((x) => x.field) : [];
    const rest = fields.length ? showFieldErrors(f, fields) : [];
    if (!fields.length || rest.length) ctx.banner.show(rest.length ? rest.map((x) => `${x.field}: ${x.message}`).join("; ") : err.message);
  }

  async function loadSpaces() {
    try {
      /** @type {Schemas["SpaceSummary"][]} */
      const out = await getJSON("/api/spaces");
      spaces = out;
      clear(builtin, spaces.map((s) => h("option", { value: s.name }, s.name)));
      const show = () => {
        const s = spaces.find((x) => x.name === builtin.value);
        spaceDesc.textContent = s?.description ?? s?.spec?.description ?? "";
      };
      builtin.onchange = show;
      show();
    } catch (err) {
      ctx.banner.error(err);
    }
  }

  async function loadDatasets() {
    try {
      /** @type {Schemas["DatasetInfo"][]} */
      const out = await getJSON("/api/datasets");
      datasets = out;
      const want = dsName.value;
      clear(dsName, datasets.map((d) => h("option", { value: d.name, selected: d.name === want }, d.label)));
      showDataset();
    } catch (err) {
      ctx.banner.error(err);
    }
  }

  async function loadStudies() {
    try {
      /** @type {Schemas["Study"][]} */
      const out = await getJSON("/api/studies");
      const list = out;
      const want = studySel.value || route.query.get("study") || "";
      clear(studySel, h("option", { value: "" }, list.length ? "choose a study" : "no studies yet"),
        // the server says whether a study can take more samples (an imported one: from its native space)
        list.map((s) => h("option", { value: String(s.id), selected: String(s.id) === want && s.sampleable,
          disabled: !s.sampleable, title: s.why_not ?? (s.native_space ? `samples ${s.native_space}` : null) },
        s.native_space ? `${s.name} (${s.native_space})` : s.name)));
    } catch (err) {
      ctx.banner.error(err);
    }
  }

  presetSel.value = "tiny";
  applyPreset("tiny");
  loadSpaces();
  loadDatasets();
  loadStudies().then(() => {
    if (route.query.get("study")) moreForm.querySelector("input")?.focus();
  });
  return {
    update(q) {
      if (q.get("study")) studySel.value = q.get("study");
    },
    unmount() {
      checkSpec.cancel();
    },
  };
}
