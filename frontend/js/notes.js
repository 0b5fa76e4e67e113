// @ts-check
// The notes card of a study or a model (GET/PUT /api/{studies|models}/{id}/notes): the current Markdown note
// rendered safely (markdown.js), an editor, and the history of revisions with who saved each and when.
import { ApiError, getJSON, isReal, request } from "./api.js";
import { clear, fmtDate, h } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { clearFieldErrors, showFieldErrors } from "./widgets.js";

/** @typedef {import("./api.js").Schemas} Schemas  the API's documented JSON shapes */

/**
 * @param {"studies" | "models"} kind
 * @param {number | string} id
 * @param {{error: (err: unknown) => void}} banner
 * @param {{heading?: string, fallback?: string | null}} [options]  fallback: text shown while no note exists
 *   (a study's creation notes)
 * @returns {{el: HTMLElement, reload: () => Promise<void>, setFallback: (text: string | null) => void, destroy: () => void}}
 */
export function notesCard(kind, id, banner, { heading = "Notes", fallback = null } = {}) {
  const url = `/api/${kind}/${id}/notes`;
  const ctrl = new AbortController();
  const body = h("div", { class: "note-body markdown", "data-testid": "note-body" });
  const byline = h("p", { class: "note-byline muted" });
  const history = h("details", { class: "note-history" });
  const textarea = h("textarea", { class: "note-input", rows: 8, "aria-label": `${heading} (Markdown)`, dataset: { field: "text" },
    placeholder: "Markdown: # heading, **bold**, *italic*, `code`, - lists, [links](https://…)" });
  const status = h("span", { class: "muted", "aria-live": "polite" });
  const editor = h("form", { class: "note-editor", hidden: true, onsubmit: save },
    h("div", { class: "field" }, textarea),
    h("div", { class: "row" },
      h("button", { type: "submit", class: "btn btn-primary btn-small" }, "Save note"),
      h("button", { type: "button", class: "btn btn-small", onclick: () => show(false) }, "Cancel"), status));
  const editBtn = h("button", { type: "button", class: "btn btn-small", onclick: () => show(true) }, "Edit");
  const el = h("section", { class: "card notes-card", "aria-label": heading },
    h("div", { class: "card-head" }, h("h2", {}, heading), editBtn), body, byline, editor, history);
  /** @type {Schemas["Notes"] | null} */
  let doc = null;

  function show(editing) {
    editor.hidden = !editing;
    editBtn.hidden = editing;
    body.hidden = editing;
    if (editing) {
      textarea.value = doc?.current?.text ?? fallback ?? "";
      clearFieldErrors(editor);
      textarea.focus();
    }
  }

  /** @param {Schemas["NoteRevision"]} r */
  const who = (r) => `${r.author}, ${fmtDate(r.created_at)}`;

  function draw() {
    const cur = doc?.current;
    if (cur && cur.text.trim()) {
      clear(body, renderMarkdown(cur.text));
      byline.textContent = `Last edited by ${who(cur)} · ${doc.revisions} revision${doc.revisions === 1 ? "" : "s"}`;
    } else {
      clear(body, fallback ? renderMarkdown(fallback) : h("p", { class: "muted" }, "No note yet."));
      byline.textContent = cur ? `Cleared by ${who(cur)}` : fallback ? "Written when the study was created." : "";
    }
    const items = (doc?.history ?? []).map((r) => h("li", {},
      h("details", {}, h("summary", {}, who(r)), h("div", { class: "markdown" }, r.text.trim() ? renderMarkdown(r.text) : h("em", {}, "(cleared)")))));
    history.hidden = items.length === 0;
    clear(history, h("summary", {}, `History (${doc?.revisions ?? 0})`), h("ol", { class: "note-revisions" }, items));
  }

  async function reload() {
    try {
      doc = await getJSON(url, null, { signal: ctrl.signal });
      draw();
    } catch (err) {
      if (isReal(err)) banner.error(err);
    }
  }

  /** @param {Event} e */
  async function save(e) {
    e.preventDefault();
    clearFieldErrors(editor);
    status.textContent = "Saving…";
    try {
      const res = await request(url, { method: "PUT", body: { text: textarea.value } });
      doc = await res.json();
      status.textContent = "";
      draw();
      show(false);
    } catch (err) {
      status.textContent = "";
      const rest = err instanceof ApiError && err.status === 422 ? showFieldErrors(editor, err.fields) : [err];
      if (rest.length) banner.error(err instanceof ApiError && err.status === 422 ? new ApiError(422, rest.map((f) => f.message).join("; ")) : err);
    }
  }

  draw();
  reload();
  /** @param {string | null} text */
  const setFallback = (text) => {
    fallback = text || null;
    draw();
  };
  return { el, reload, setFallback, destroy: () => ctrl.abort() };
}
