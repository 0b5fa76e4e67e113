// @ts-check
// Import: upload a trained population (an NDS file, a pycls sweep, or our own export) as a new study through
// POST /api/studies/import. The upload shows a progress bar (XMLHttpRequest reports bytes sent; a large file
// then converts on the server), a refused file shows each bad record beside the file input, and a finished
// import opens the new study — or, when bad records were skipped, first lists them.
import { ApiError, getJSON, getToken, isReal, parseErrorBody } from "../api.js";
import { clear, fmtCount, fmtError, h } from "../dom.js";
import { field, select, textInput } from "../forms.js";
import { routeHash } from "../url.js";
import { clearFieldErrors, showFieldErrors } from "../widgets.js";

/** @typedef {import("../api.js").Schemas} Schemas  the API's documented JSON shapes */

/**
 * POST a multipart form, reporting upload progress; resolves to the JSON answer, rejects with ApiError.
 * @param {string} url
 * @param {FormData} data
 * @param {(sent: number, total: number) => void} onProgress
 * @param {() => void} onSent  the whole file is on the server (it converts from here)
 * @returns {{promise: Promise<any>, abort: () => void}}
 */
function upload(url, data, onProgress, onSent) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    const token = getToken();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
    xhr.upload.onload = () => onSent();
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = xhr.responseText;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
      const fields = parseErrorBody(body);
      const msg = fields.length ? fields.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message)).join("; ") : `HTTP ${xhr.status}`;
      const err = new ApiError(xhr.status, msg, fields);
      // a refused record: the server names it and its key (backend/api/routes/importing.py)
      const item = Array.isArray(body?.detail) ? body.detail.find((d) => d?.record !== undefined) : null;
      Object.assign(err, { record: item?.record ?? null, recordField: item?.record_field ?? null });
      reject(err);
    };
    xhr.onerror = () => reject(new ApiError(0, "cannot reach the server; is `netspace serve` running?"));
    xhr.onabort = () => reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
    xhr.send(data);
  });
  return { promise, abort: () => xhr.abort() };
}

const mib = (b) => `${(b / 1048576).toFixed(b < 10485760 ? 1 : 0)} MiB`;

export function mount(root, route, ctx) {
  const ctrl = new AbortController();
  let pending = null;
  const file = h("input", { type: "file", id: "import-file", dataset: { field: "file" } });
  const name = textInput({ id: "import-name", maxlength: 200, dataset: { field: "study" } });
  const format = select([["auto", "detect from the file"]], { id: "import-format", dataset: { field: "format" } });
  const skip = h("input", { type: "checkbox", id: "import-skip" });
  const formatHelp = h("ul", { class: "hint format-help" });
  const bar = h("progress", { id: "import-progress", max: 1, value: 0, hidden: true });
  const barText = h("span", { class: "progress-text", "aria-live": "polite", id: "import-progress-text" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "import-submit" }, "Import");
  const cancel = h("button", { type: "button", class: "btn", hidden: true, onclick: () => pending?.abort() }, "Cancel");
  const result = h("div", { id: "import-result", "aria-live": "polite" });
  const form = h("form", { class: "card import-form", novalidate: true, onsubmit: go },
    h("h2", {}, "Upload a population"),
    field("File", file, { hint: "an NDS .json (e.g. ResNeXt-A.json), a pycls sweep.json, or a netspace export (.jsonl, .csv, .json, .parquet)" }),
    field("New study name", name, { hint: "defaults to the file's name" }),
    field("Format", format),
    h("div", { class: "field" }, h("label", { class: "check", for: "import-skip" }, skip, " skip bad records (counted and listed) instead of refusing the file")),
    h("div", { class: "row" }, submit, cancel, bar, barText),
    formatHelp);
  root.append(h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Import a population"),
    h("p", { class: "muted" }, "Every run of the file becomes one model of a new study (source: imported); nothing is trained."))),
  form, result);

  file.addEventListener("change", () => {
    const f = file.files?.[0];
    if (f && !name.dataset.touched) name.value = f.name.replace(/\.[A-Za-z]+$/, "").slice(0, 200);
  });
  name.addEventListener("input", () => { name.dataset.touched = "1"; });

  async function loadFormats() {
    try {
      /** @type {Schemas["Formats"]} */
      const out = await getJSON("/api/formats", null, { signal: ctrl.signal });
      clear(format, h("option", { value: "auto" }, "detect from the file"), out.imports.map((f) => h("option", { value: f.name }, f.label)));
      file.accept = [...new Set([".json", ...out.imports.flatMap((f) => f.suffixes)])].join(","); // the registry's suffixes
      clear(formatHelp, out.imports.map((f) => h("li", {}, h("strong", {}, f.label), `${f.suffixes.length ? ` (${f.suffixes.join(", ")})` : ""}: ${f.help}`)));
    } catch (err) {
      if (isReal(err)) ctx.banner.error(err);
    }
  }

  /** @param {Event} e */
  async function go(e) {
    e.preventDefault();
    clearFieldErrors(form);
    clear(result);
    const f = file.files?.[0];
    /** @type {import("../api.js").FieldMessage[]} */
    const errors = [];
    if (!f) errors.push({ field: "file", message: "choose a file to import" });
    if (!name.value.trim()) errors.push({ field: "study", message: "give the new study a name" });
    if (errors.length) return showFieldErrors(form, errors);
    const data = new FormData();
    data.append("file", f);
    data.append("study", name.value.trim());
    data.append("format", format.value);
    data.append("skip_bad", skip.checked ? "true" : "false");
    submit.disabled = true;
    cancel.hidden = false;
    bar.hidden = false;
    bar.value = 0;
    barText.textContent = `Uploading 0 of ${mib(f.size)}…`;
    const t0 = performance.now();
    pending = upload("/api/studies/import", data, (sent, total) => {
      bar.max = total || f.size;
      bar.value = sent;
      barText.textContent = `Uploading ${mib(sent)} of ${mib(total || f.size)}…`;
    }, () => {
      bar.removeAttribute("value"); // indeterminate: the server reads and converts the records now
      barText.textContent = `Uploaded ${mib(f.size)}; importing the records on the server…`;
    });
    try {
      /** @type {Schemas["ImportSummary"]} */
      const out = await pending.promise;
      bar.max = 1;
      bar.value = 1;
      barText.textContent = `Done in ${((performance.now() - t0) / 1000).toFixed(1)} s.`;
      showSummary(out);
      if (!out.skipped) ctx.go("study", out.study_id);
    } catch (err) {
      bar.hidden = true;
      barText.textContent = "";
      if (!isReal(err)) return;
      if (err instanceof ApiError && err.status === 422) {
        const rest = showFieldErrors(form, err.fields);
        const info = /** @type {any} */ (err);
        const rec = info.record;
        if (rec) {
          result.append(h("section", { class: "card import-errors", id: "import-errors" },
            h("h2", {}, "The file was refused"),
            h("p", {}, `Record ${rec}${info.recordField ? `, field ${info.recordField}` : ""}: ${err.fields.map((x) => x.message).join("; ")}`),
            h("p", { class: "hint" }, "Nothing was imported. Fix the record, or tick “skip bad records” to import the others and get the list of those skipped.")));
        }
        if (rest.length) ctx.banner.show(rest.map((x) => (x.field ? `${x.field}: ${x.message}` : x.message)).join("; "));
      } else if (err instanceof ApiError && err.status === 409) {
        showFieldErrors(form, [{ field: "study", message: err.message }]);
      } else if (err instanceof ApiError && err.status === 413) {
        showFieldErrors(form, [{ field: "file", message: err.message }]);
      } else ctx.banner.error(err);
    } finally {
      submit.disabled = false;
      cancel.hidden = true;
      pending = null;
    }
  }

  /** @param {Schemas["ImportSummary"]} s */
  function showSummary(s) {
    clear(result, h("section", { class: "card import-summary", id: "import-summary" },
      h("h2", {}, `Imported ${s.name}`),
      h("dl", { class: "facts" },
        h("dt", {}, "format"), h("dd", {}, s.format),
        h("dt", {}, "models"), h("dd", {}, fmtCount(s.imported)),
        h("dt", {}, "skipped records"), h("dd", {}, String(s.skipped)),
        h("dt", {}, "diverged"), h("dd", {}, String(s.diverged)),
        h("dt", {}, "error"), h("dd", {}, `min ${fmtError(s.min_error)}, mean ${fmtError(s.mean_error)}`)),
      s.skipped_records.length ? [h("h3", {}, `Skipped records (${s.skipped}${s.skipped > s.skipped_records.length ? `, the first ${s.skipped_records.length} listed` : ""})`),
        h("ul", { class: "record-errors" }, s.skipped_records.map((r) => h("li", {}, r)))] : null,
      h("p", {}, h("a", { class: "btn btn-primary", href: routeHash("study", s.study_id), id: "import-open" }, `Open ${s.name}`))));
  }

  loadFormats();
  return {
    unmount() {
      ctrl.abort();
      pending?.abort();
    },
  };
}
