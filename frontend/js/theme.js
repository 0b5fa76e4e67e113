// @ts-check
// Light and dark theme. The page follows the system's preference (prefers-color-scheme) until the user picks
// one with the toggle in the top bar; the pick is kept in localStorage ("netspace.theme": "light" or "dark").
// `<html data-theme>` carries the resolved theme for the stylesheet; Plotly figures take `plotTheme()` as
// layout overrides when drawn, and every drawn figure is re-themed on a change (plots.js listens).

const KEY = "netspace.theme";
export const THEME_EVENT = "netspace:theme";
/** the choice when localStorage is blocked */
let memory = /** @type {string | null} */ (null);
const media = typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: dark)") : null;

/** @returns {"light" | "dark" | null} the stored choice, or null to follow the system */
export function storedTheme() {
  let v = memory;
  try {
    v = window.localStorage.getItem(KEY);
  } catch {
    // storage blocked: the choice lasts for this page only
  }
  return v === "light" || v === "dark" ? v : null;
}

/** @returns {"light" | "dark"} */
export function currentTheme() {
  return storedTheme() ?? (media?.matches ? "dark" : "light");
}

/**
 * Colours of figures in each theme (the server's figures are drawn on its light "netspace" template; these
 * override its background, text and axis colours at draw time).
 */
const COLORS = {
  light: { paper: "rgba(0,0,0,0)", plot: "#ffffff", font: "#2a3f5f", grid: "#EBF0F8", line: "#C8D4E3", muted: "#4b5563",
    trend: "#111827", trendBand: "rgba(17,24,39,0.14)", noteBg: "rgba(255,255,255,0.8)", context: "#cbd5e1", hover: "#ffffff" },
  dark: { paper: "rgba(0,0,0,0)", plot: "#111827", font: "#d1d5db", grid: "#263041", line: "#4b5563", muted: "#9ca3af",
    trend: "#f3f4f6", trendBand: "rgba(243,244,246,0.16)", noteBg: "rgba(17,24,39,0.85)", context: "#475569", hover: "#1f2937" },
};

/** The current theme's figure colours. */
export function plotColors() {
  return COLORS[currentTheme()];
}

/**
 * Layout overrides for a figure in the current theme: backgrounds, fonts, and the colours of every axis the
 * layout has (xaxis, xaxis2, yaxis, ...), as a flat relayout object or nested for a new layout.
 * @param {Record<string, any>} layout  the figure's layout (to find its axes)
 * @param {{flat?: boolean}} [opts]  flat: "xaxis.gridcolor"-style keys for Plotly.relayout
 * @returns {Record<string, any>}
 */
export function plotTheme(layout, { flat = false } = {}) {
  const c = plotColors();
  const axes = Object.keys(layout ?? {}).filter((k) => /^[xy]axis\d*$/.test(k));
  if (!axes.includes("xaxis")) axes.push("xaxis");
  if (!axes.includes("yaxis")) axes.push("yaxis");
  const axis = { gridcolor: c.grid, zerolinecolor: c.grid, linecolor: c.line, tickcolor: c.line };
  /** @type {Record<string, any>} */
  const out = flat
    ? { paper_bgcolor: c.paper, plot_bgcolor: c.plot, "font.color": c.font, "legend.font.color": c.font,
      "hoverlabel.bgcolor": c.hover, "hoverlabel.font.color": c.font }
    : { paper_bgcolor: c.paper, plot_bgcolor: c.plot, font: { ...(layout?.font ?? {}), color: c.font },
      hoverlabel: { bgcolor: c.hover, font: { color: c.font } } };
  for (const a of axes) {
    if (flat) for (const [k, v] of Object.entries(axis)) out[`${a}.${k}`] = v;
    else out[a] = { ...(layout?.[a] ?? {}), ...axis };
  }
  return out;
}

function apply() {
  const theme = currentTheme();
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme;
  if (button) {
    const next = theme === "dark" ? "light" : "dark";
    button.textContent = theme === "dark" ? "☀ Light" : "☾ Dark";
    button.setAttribute("aria-label", `Switch to the ${next} theme`);
    button.title = storedTheme() ? `${theme} theme (your choice; the system says ${media?.matches ? "dark" : "light"})`
      : `${theme} theme (following the system)`;
    button.setAttribute("aria-pressed", String(theme === "dark"));
  }
  window.dispatchEvent(new CustomEvent(THEME_EVENT, { detail: { theme } }));
}

/**
 * Choose a theme ("light" or "dark") and keep it; null forgets the choice and follows the system again.
 * @param {"light" | "dark" | null} theme
 */
export function setTheme(theme) {
  memory = theme;
  try {
    if (theme) window.localStorage.setItem(KEY, theme);
    else window.localStorage.removeItem(KEY);
  } catch {
    // storage blocked: `memory` keeps the choice for this page
  }
  apply();
}

/** @type {HTMLButtonElement | null} */
let button = null;

/**
 * Apply the theme now and put the toggle into `host` (the top bar).
 * @param {HTMLElement | null} host
 */
export function initTheme(host) {
  if (host && !button) {
    button = document.createElement("button");
    button.type = "button";
    button.id = "theme-toggle";
    button.className = "theme-toggle";
    button.addEventListener("click", () => setTheme(currentTheme() === "dark" ? "light" : "dark"));
    host.append(button);
  }
  media?.addEventListener?.("change", () => {
    if (!storedTheme()) apply();
  });
  apply();
}
