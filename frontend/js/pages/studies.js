// @ts-check
// Studies: every study with its progress and headline errors; open, compare, queue more, delete; demo offer.
import { del, getJSON, postJSON } from "../api.js";
import { clear, fmtDate, fmtError, h } from "../dom.js";
import { coalesce } from "../events.js";
import { routeHash } from "../url.js";
import { confirmDialog, progressBar } from "../widgets.js";
import { liveWorkers, START_WORKER, workerNotice } from "../workers.js";

/** @typedef {import("../api.js").Schemas} Schemas  the API's documented JSON shapes */

/** Counts per job state; imported studies have results without jobs, shown as done. */
export function studyCounts(s) {
  const c = s.counts ?? {};
  const jobs = { ...(c.jobs ?? {}) };
  const withJobs = Object.values(jobs).reduce((a, b) => a + b, 0);
  if (!withJobs && c.results) jobs.done = c.results;
  return jobs;
}

function datasetText(ds) {
  if (!ds) return "–";
  return typeof ds === "string" ? ds : ds.path ? `${ds.name} (${ds.path})` : ds.name;
}

export function mount(root, _route, ctx) {
  const selected = new Set();
  const compareBtn = h("button", { type: "button", class: "btn", disabled: true, onclick: () => compareSelected() }, "Compare selected");
  const body = h("div", { class: "studies-body", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading studies…"));
  const notice = h("div", { class: "notice-slot" });
  root.append(
    h("div", { class: "page-head" },
      h("h1", {}, "Studies"),
      h("div", { class: "row" }, compareBtn, h("a", { class: "btn btn-primary", href: "#/queue" }, "New study"))),
    notice,
    body,
  );

  function compareSelected() {
    const q = new URLSearchParams();
    for (const id of selected) q.append("study", id);
    ctx.go("compare", null, q);
  }

  function syncCompare() {
    compareBtn.disabled = selected.size < 2;
    compareBtn.textContent = selected.size ? `Compare selected (${selected.size})` : "Compare selected";
  }

  async function startDemo(btn) {
    btn.disabled = true;
    btn.textContent = "Starting demo…";
    try {
      /** @type {Schemas["DemoSeeded"]} */
      const out = await postJSON("/api/demo", {});
      const alive = await liveWorkers();
      const queued = `Demo queued: ${out.models ?? "the"} models in ${out.studies?.length ?? 2} studies`;
      ctx.banner.show(alive ? `${queued}; ${alive} worker${alive === 1 ? " is" : "s are"} training them now.`
        : `${queued}. No worker is running — start one with ${START_WORKER}; until then they wait in the queue.`, { kind: "info" });
      await refresh();
    } catch (err) {
      btn.disabled = false;
      btn.textContent = "Start the demo";
      ctx.banner.error(err);
    }
  }

  function demoOffer() {
    const btn = h("button", { type: "button", class: "btn btn-primary", onclick: () => startDemo(btn) }, "Start the demo");
    return h("section", { class: "card empty-offer", "aria-labelledby": "demo-title" },
      h("h2", { id: "demo-title" }, "No studies yet"),
      h("p", {}, "Try a small real experiment: RegNetX against AnyNetX_A on scikit-learn's handwritten digits, " +
        "about 24 models each, a few epochs in a small complexity regime. A worker trains them (netspace serve " +
        "starts one on a local database) and the plots fill in within minutes on a CPU (faster on a GPU)."),
      h("div", { class: "row" }, btn, h("a", { class: "btn", href: "#/queue" }, "Design your own study")));
  }

  async function remove(s) {
    const n = s.counts?.models ?? Object.values(studyCounts(s)).reduce((a, b) => a + b, 0);
    const ok = await confirmDialog(`Delete study “${s.name}”?`,
      `This deletes its ${n} models, their jobs and results. It cannot be undone.`);
    if (!ok) return;
    try {
      await del(`/api/studies/${s.id}`, { confirm: "true" });
      selected.delete(String(s.id));
      syncCompare();
      await refresh();
    } catch (err) {
      ctx.banner.error(err);
    }
  }

  function row(s) {
    const id = String(s.id);
    const box = h("input", {
      type: "checkbox",
      "aria-label": `select ${s.name} for comparison`,
      checked: selected.has(id),
      onchange: (e) => {
        if (e.target.checked) selected.add(id);
        else selected.delete(id);
        syncCompare();
      },
    });
    return h("tr", { dataset: { study: id } },
      h("td", {}, box),
      h("th", { scope: "row" }, h("a", { href: routeHash("study", id) }, s.name)),
      h("td", {}, s.space_name ?? s.space?.name ?? s.space ?? "–"),
      h("td", {}, datasetText(s.dataset)),
      h("td", { class: "col-progress" }, progressBar(studyCounts(s))),
      h("td", { class: "num" }, fmtError(s.counts?.best_error ?? s.best_error)),
      h("td", { class: "num" }, fmtError(s.counts?.mean_error ?? s.mean_error)),
      h("td", {}, fmtDate(s.created_at)),
      h("td", { class: "actions" },
        h("a", { class: "btn btn-small", href: routeHash("study", id) }, "Open"),
        h("a", { class: "btn btn-small", href: routeHash("queue", null, new URLSearchParams({ study: id })) }, "Queue more"),
        h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => remove(s), "aria-label": `delete ${s.name}` }, "Delete")),
    );
  }

  function render(list) {
    body.setAttribute("aria-busy", "false");
    if (!list.length) {
      clear(body, demoOffer());
      return;
    }
    for (const id of [...selected]) if (!list.some((s) => String(s.id) === id)) selected.delete(id);
    syncCompare();
    clear(body, h("div", { class: "table-wrap" },
      h("table", { class: "data", id: "studies-table" },
        h("caption", { class: "sr-only" }, "All studies"),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Select")),
          ...["Study", "Space", "Dataset", "Progress", "Best error (%)", "Mean error (%)", "Created", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, list.map(row)))));
  }

  async function refresh() {
    try {
      /** @type {Schemas["Study"][]} */
      const data = await getJSON("/api/studies");
      render(data);
      clear(notice, await workerNotice(data.reduce((n, s) => n + (studyCounts(s).queued ?? 0), 0)));
    } catch (err) {
      body.setAttribute("aria-busy", "false");
      ctx.banner.error(err);
    }
  }

  const soon = coalesce(refresh, 200);
  const off = ctx.live.on(soon);
  refresh();
  return {
    unmount() {
      off();
      soon.cancel();
    },
  };
}
