// @ts-check
// Form building blocks: labelled fields tied to API field names (data-field), so 422 details land beside
// the input they name; number inputs accept 360M / 0.4G forms.
import { h, parseCount } from "./dom.js";

let seq = 0;

/** <div class="field"> with a <label for> and a hint; `name` is the API field (e.g. "recipe.epochs"). */
/**
 * @param {string} labelText
 * @param {HTMLElement} input
 * @param {{name?: string, hint?: string}} [options]
 */
export function field(labelText, input, { name, hint } = {}) {
  input.id ||= `fld-${++seq}`;
  if (name) input.dataset.field = name;
  const hintEl = hint ? h("p", { class: "hint", id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: input.id }, labelText), input, hintEl);
}

export function textInput(attrs = {}) {
  return h("input", { type: "text", autocomplete: "off", ...attrs });
}

export function numberInput(attrs = {}) {
  return h("input", { type: "text", inputmode: "decimal", autocomplete: "off", ...attrs });
}

export function select(options, attrs = {}) {
  return h("select", attrs, options.map(([value, text]) => h("option", { value }, text)));
}

/** A low–high pair for one regime metric, as one fieldset the API's "regime.<metric>" errors attach to. */
/**
 * @param {string} legend
 * @param {string} name
 * @param {{hint?: string}} [options]
 */
export function rangePair(legend, name, { hint } = {}) {
  const lo = numberInput({ "aria-label": `${legend} low`, placeholder: "low" });
  const hi = numberInput({ "aria-label": `${legend} high`, placeholder: "high" });
  const fs = h("fieldset", { class: "field range-pair", dataset: { field: name } },
    h("legend", {}, legend), lo, h("span", { "aria-hidden": "true" }, "–"), hi, hint ? h("p", { class: "hint" }, hint) : null);
  return { fs, lo, hi };
}

/** Read a count-like input: "" -> undefined (server default), junk -> a field error. */
export function readCount(input, name, errors) {
  try {
    const v = parseCount(input.value);
    return v === null ? undefined : v;
  } catch (e) {
    errors.push({ field: name, message: e.message });
    return undefined;
  }
}

export function readInt(input, name, errors) {
  const v = readCount(input, name, errors);
  if (v !== undefined && !Number.isInteger(v)) errors.push({ field: name, message: `must be a whole number (got ${input.value})` });
  return v;
}
