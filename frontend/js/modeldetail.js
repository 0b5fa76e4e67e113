// @ts-check
// One model in full (GET /api/models/{id}): its numbers, its canonical config and its per-epoch curves,
// in a modal dialog opened from the models table.
import { getJSON } from "./api.js";
import { attemptText } from "./attempts.js";
import { fmtCount, fmtError, fmtNum, h, statusPill } from "./dom.js";
import { notesCard } from "./notes.js";
import { drawFigure, purge } from "./plots.js";

/** @typedef {import("./api.js").Schemas} Schemas  the API's documented JSON shapes */

function curveFigure(m) {
  const live = (m.progress ?? []).map((p) => p.test_error);
  const test = m.test_error ?? (live.length ? live : null);
  const traces = [];
  if (test) traces.push({ type: "scatter", mode: "lines+markers", name: "test error", y: test, x: test.map((_, i) => i + 1) });
  if (m.train_error) traces.push({ type: "scatter", mode: "lines+markers", name: "train error", y: m.train_error, x: m.train_error.map((_, i) => i + 1) });
  if (!traces.length) return null;
  // one tick per epoch only while they fit; beyond 12 epochs Plotly picks round steps (5, 10, ...)
  const epochs = Math.max(...traces.map((t) => t.x.length));
  const ticks = epochs <= 12 ? { dtick: 1 } : { nticks: 12 };
  return { data: traces, layout: { xaxis: { title: { text: "epoch" }, tickformat: "d", ...ticks }, yaxis: { title: { text: "top-1 error (%)" } }, margin: { l: 50, r: 10, t: 10, b: 40 } } };
}

/**
 * @param {number} id
 * @param {{error: (err: unknown) => void}} banner
 */
export async function showModel(id, banner) {
  /** @type {Schemas["ModelDetail"]} */
  let m;
  try {
    m = await getJSON(`/api/models/${id}`);
  } catch (err) {
    banner.error(err);
    return;
  }
  const facts = [
    ["status", statusPill(m.status)],
    ["learning", m.diverged ? "diverged (non-finite loss)" : m.did_not_learn ? "did not learn (error near chance, or loss rose)"
      : m.did_not_learn === false ? "learned" : "–"],
    ["initial loss", m.initial_loss !== null && m.initial_loss !== undefined ? fmtNum(m.initial_loss) : "–"],
    ["error (best epoch)", `${fmtError(m.error)} %`], ["error (final epoch)", `${fmtError(m.error_final)} %`],
    ["flops", fmtCount(m.flops)], ["params", fmtCount(m.params)], ["activations", fmtCount(m.acts)],
    ["train time", m.train_seconds ? `${fmtNum(m.train_seconds)} s` : "–"], ["inference", m.infer_ms ? `${fmtNum(m.infer_ms)} ms` : "–"],
    ["device", m.device ?? "–"], ["attempt", attemptText(m)],
    ["worker", m.worker_id ?? "–"],
  ];
  const plot = h("div", { class: "plot", style: { minHeight: "220px" } });
  const notes = notesCard("models", m.id, banner, { heading: "Notes on this model" });
  const dlg = h("dialog", { class: "dialog dialog-wide", "aria-labelledby": "model-title" },
    h("div", { class: "card-head" }, h("h2", { id: "model-title" }, `Model ${m.id}${m.name ? ` (${m.name})` : ""}`),
      h("form", { method: "dialog" }, h("button", { class: "btn btn-small", autofocus: true }, "Close"))),
    h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    m.last_error ? h("p", { class: "field-error" }, `last error: ${m.last_error}`) : null,
    h("h3", {}, "Training curve"), plot, notes.el,
    h("h3", {}, "Config (canonical AnyNet)"), h("pre", { class: "code config" }, JSON.stringify(m.config, null, 2)));
  dlg.addEventListener("close", () => {
    purge(plot);
    notes.destroy();
    dlg.remove();
  });
  document.body.append(dlg);
  dlg.showModal();
  const fig = curveFigure(m);
  if (fig) await drawFigure(plot, fig, { height: 220, filename: `netspace-model${m.id}` });
  else plot.replaceWith(h("p", { class: "muted" }, "No epochs recorded yet."));
}
