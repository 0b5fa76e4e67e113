// @ts-check
// Boot: hash router, the shared live-event connection, the error banner and the navigation state.
import { setToken } from "./api.js";
import { h } from "./dom.js";
import { Live } from "./events.js";
import { columnsLoaded, loadColumns } from "./columns.js";
import { figureKindsLoaded, loadFigureKinds } from "./figurekinds.js";
import * as compare from "./pages/compare.js";
import * as importPage from "./pages/import.js";
import * as jobs from "./pages/jobs.js";
import * as lineage from "./pages/lineage.js";
import * as queue from "./pages/queue.js";
import * as refine from "./pages/refine.js";
import * as studies from "./pages/studies.js";
import * as study from "./pages/study.js";
import { initTheme } from "./theme.js";
import { parseRoute, routeHash } from "./url.js";

const PAGES = { studies, study, compare, queue, jobs, refine, lineage, import: importPage };
/** Pages whose figure cards and columns come from the server's registries: mounted once those are known. */
const NEEDS_REGISTRIES = new Set(["study", "compare"]);
const TITLES = { studies: "Studies", study: "Study", compare: "Compare", queue: "Queue", jobs: "Jobs & workers", refine: "Refine", lineage: "Lineage", import: "Import" };

initTheme(document.querySelector(".topbar"));
const main = document.getElementById("main");
const bannerEl = document.getElementById("banner");

/** The page-wide error/info banner: never let a failure pass silently. */
const banner = {
  show(message, { kind = "error" } = {}) {
    bannerEl.className = `banner banner-${kind}`;
    bannerEl.replaceChildren(
      h("span", { class: "banner-text" }, message),
      h("button", { type: "button", class: "banner-close", "aria-label": "Dismiss message", onclick: () => banner.clear() }, "×"),
    );
    bannerEl.hidden = false;
  },
  clear() {
    bannerEl.hidden = true;
    bannerEl.replaceChildren();
  },
  error(err) {
    if (err?.status === 401) return banner.askToken(err.message);
    banner.show(err?.message ?? String(err));
  },
  /** The server wants a token (NETSPACE_TOKEN): ask once, keep it in this browser, reload the view. */
  askToken(message) {
    const input = h("input", { type: "password", id: "token-input", autocomplete: "off", "aria-label": "access token" });
    const form = h("form", { class: "row", onsubmit: (e) => {
      e.preventDefault();
      setToken(input.value.trim());
      window.location.reload();
    } }, h("label", { for: "token-input" }, "Access token"), input, h("button", { type: "submit", class: "btn btn-small" }, "Use token"));
    bannerEl.className = "banner banner-error";
    bannerEl.replaceChildren(h("span", { class: "banner-text" }, message), form);
    bannerEl.hidden = false;
  },
};

const live = new Live().start();
const liveEl = document.getElementById("live");
live.onState((s) => {
  liveEl.textContent = s === "live" ? "● live" : s === "connecting" ? "○ connecting…" : "○ reconnecting…";
  liveEl.className = `live live-${s}`;
  liveEl.title = s === "live" ? "receiving live updates from the server" : "live updates paused; retrying";
});

const ctx = {
  live,
  banner,
  go(page, id = null, query = null) {
    window.location.hash = routeHash(page, id, query);
  },
};

let current = null;

function markNav(page) {
  for (const a of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("nav a[data-page]"))) {
    if (a.dataset.page === page || (["study", "refine", "lineage"].includes(page) && a.dataset.page === "studies")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

let kindsError = null;

function route() {
  const r = parseRoute();
  if (current && current.page === r.page && current.id === r.id && current.view?.update) {
    current.view.update(r.query);
    return;
  }
  if (NEEDS_REGISTRIES.has(r.page) && !(figureKindsLoaded() && columnsLoaded())) {
    // two small requests, side by side, before the first such page: its cards and filters are laid out once,
    // never shifted by late arrivals
    const hash = window.location.hash;
    Promise.allSettled([loadFigureKinds(), loadColumns()]).then((results) => {
      const failed = results.find((x) => x.status === "rejected");
      if (failed) kindsError = failed.reason;
      if (window.location.hash === hash) route();
    });
    return;
  }
  current?.view?.unmount?.();
  banner.clear();
  main.replaceChildren();
  markNav(r.page);
  const mod = PAGES[r.page];
  if (!mod) {
    document.title = "Not found · netspace";
    main.append(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/studies" }, "Back to the studies")));
    current = { ...r, view: null };
    return;
  }
  document.title = `${TITLES[r.page]} · netspace`;
  const view = mod.mount(main, r, ctx);
  current = { ...r, view };
  main.dataset.page = r.page;
  if (kindsError) banner.error(kindsError); // after the mount's banner.clear(): a 401 asks for the token
  kindsError = null;
}

window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (e) => banner.error(e.reason));
route();
