// @ts-check
// The server's figure kinds (GET /api/figures, the registry backend/figures/kinds/), read once per page load: the
// study and compare pages build their figure cards from them (title, help, options, size, when to ask first), so a
// new figure kind needs no change in the dashboard.
import { getJSON } from "./api.js";

/** @typedef {import("./api.js").Schemas} Schemas  the API's documented JSON shapes */

/** @type {Schemas["FigureKind"][] | null} */
let kinds = null;

/** Whether the kinds were asked for already (successfully or not). */
export const figureKindsLoaded = () => kinds !== null;

/**
 * Fetch the kinds once; on failure the pages get none (and the error is rethrown for the banner).
 * @returns {Promise<Schemas["FigureKind"][]>}
 */
export async function loadFigureKinds() {
  if (kinds) return kinds;
  try {
    /** @type {Schemas["FigureKinds"]} */
    const out = await getJSON("/api/figures");
    kinds = out.kinds;
    return kinds;
  } catch (err) {
    kinds = [];
    throw err;
  }
}

/**
 * The kinds a dashboard page draws as cards, in the registry's display order.
 * @param {"study" | "compare"} page
 */
export function figureKinds(page) {
  return (kinds ?? []).filter((k) => k.pages.includes(page));
}
