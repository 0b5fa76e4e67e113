// @ts-check
// Reusable pieces: stacked progress bar, confirmation dialog, field-error display for forms.
import { h } from "./dom.js";

const ORDER = ["done", "running", "queued", "failed", "cancelled"];

/**
 * Stacked bar of job states with a text summary (the text is what screen readers and tests read).
 * @param {Record<string, number>} [counts]  jobs per status (Study.counts.jobs)
 * @returns {HTMLElement}
 */
export function progressBar(counts = {}) {
  const total = ORDER.reduce((s, k) => s + (counts[k] || 0), 0);
  const bar = h("div", {
    class: "stack",
    role: "progressbar",
    "aria-valuemin": "0",
    "aria-valuemax": String(total),
    "aria-valuenow": String(counts.done || 0),
    "aria-label": "jobs done",
  });
  for (const k of ORDER) {
    if (!counts[k]) continue;
    bar.append(h("span", { class: `seg seg-${k}`, style: { width: `${(100 * counts[k]) / total}%` }, title: `${counts[k]} ${k}` }));
  }
  const text = ORDER.filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`).join(" · ") || "no models yet";
  return h("div", { class: "progress" }, bar, h("span", { class: "progress-text" }, text));
}

/**
 * Per-epoch progress of one job: "3/10 epochs".
 * @param {number} done
 * @param {number} total
 * @returns {HTMLElement}
 */
export function epochBar(done, total) {
  const pct = total ? Math.min(100, (100 * done) / total) : 0;
  return h(
    "div",
    { class: "progress" },
    h("div", { class: "stack", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(total || 0), "aria-valuenow": String(done || 0), "aria-label": "epochs done" },
      h("span", { class: "seg seg-running", style: { width: `${pct}%` } })),
    h("span", { class: "progress-text" }, total ? `${done}/${total} epochs` : "–"),
  );
}

/**
 * A modal confirmation (native <dialog>: focus trapped, Esc cancels). Resolves true on confirm.
 * @param {string} title
 * @param {string} message
 * @param {string} [confirmLabel]
 * @returns {Promise<boolean>}
 */
export function confirmDialog(title, message, confirmLabel = "Delete") {
  return new Promise((resolve) => {
    const dlg = h(
      "dialog",
      { class: "dialog", "aria-labelledby": "dlg-title" },
      h("h2", { id: "dlg-title" }, title),
      h("p", {}, message),
      h(
        "form",
        { method: "dialog", class: "row" },
        h("button", { value: "cancel", class: "btn", autofocus: true }, "Cancel"),
        h("button", { value: "ok", class: "btn btn-danger" }, confirmLabel),
      ),
    );
    dlg.addEventListener("close", () => {
      resolve(dlg.returnValue === "ok");
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/**
 * Show API field errors next to the inputs whose data-field matches (longest prefix wins); returns the
 * errors that matched no input, for the banner.
 * @param {HTMLElement} form
 * @param {import("./api.js").FieldMessage[]} fields
 * @returns {import("./api.js").FieldMessage[]} the errors no input of the form names
 */
export function showFieldErrors(form, fields) {
  clearFieldErrors(form);
  const targets = /** @type {HTMLElement[]} */ ([...form.querySelectorAll("[data-field]")]);
  const unmatched = [];
  for (const f of fields) {
    let best = null;
    for (const t of targets) {
      if (t.closest("[hidden]")) continue;
      const key = t.dataset.field;
      if (f.field === key || f.field.startsWith(`${key}.`) || f.field.startsWith(`${key} `)) {
        if (!best || key.length > best.dataset.field.length) best = t;
      }
    }
    if (!best) {
      unmatched.push(f);
      continue;
    }
    setFieldError(best, f.field === best.dataset.field ? f.message : `${f.field}: ${f.message}`);
  }
  const first = /** @type {HTMLElement | null} */ (form.querySelector("[aria-invalid=true]"));
  if (first) first.focus();
  return unmatched;
}

/**
 * @param {HTMLElement} target
 * @param {string} message
 */
export function setFieldError(target, message) {
  const host = target.closest(".field") ?? target;
  let el = /** @type {HTMLElement | null} */ (host.querySelector(":scope > .field-error"));
  if (!el) {
    // "<field>-error"; two forms on one page may name the same field (n on the Queue page): the second one's
    // id takes its form's id first, so each error stays beside its own input
    const base = `${target.dataset.field.replaceAll(/[^\w-]/g, "-")}-error`;
    const form = target.closest("form");
    el = h("p", { class: "field-error", id: document.getElementById(base) && form?.id ? `${form.id}-${base}` : base, role: "alert" });
    host.append(el);
  }
  const id = el.id;
  el.textContent = el.textContent ? `${el.textContent}; ${message}` : message;
  const inputs = target.matches("input, select, textarea") ? [target] : [...target.querySelectorAll("input, select, textarea")];
  for (const i of inputs) {
    i.setAttribute("aria-invalid", "true");
    i.setAttribute("aria-describedby", id);
  }
}

/**
 * @param {HTMLElement} form
 */
export function clearFieldErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
  }
}
