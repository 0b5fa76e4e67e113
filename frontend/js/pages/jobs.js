// @ts-check
// Jobs & workers: the queue as a live table (per-epoch progress, cancel, re-queue) and the workers with
// their device and heartbeat age. Refetched on every job/epoch/worker event; ages tick every second.
import { getJSON, postJSON } from "../api.js";
import { clear, fmtAge, h, statusPill } from "../dom.js";
import { coalesce } from "../events.js";
import { field, select } from "../forms.js";
import { replaceQuery, routeHash } from "../url.js";
import { attemptText, timeText, utc } from "../attempts.js";
import { epochBar } from "../widgets.js";
import { noWorkerNotice } from "../workers.js";

/** @typedef {import("../api.js").Schemas} Schemas  the API's documented JSON shapes */

const PAGE = 100;
const STATUS_CHOICES = [["", "any status"], ["queued", "queued"], ["running", "running"], ["done", "done"], ["failed", "failed"], ["cancelled", "cancelled"]];

function listOf(out, key) {
  return Array.isArray(out) ? out : out[key] ?? out.items ?? [];
}

function secondsSince(iso) {
  if (!iso) return null;
  const t = Date.parse(utc(iso));
  return Number.isNaN(t) ? null : (Date.now() - t) / 1000;
}

export function mount(root, route, ctx) {
  let query = new URLSearchParams(route.query);
  let studies = [];
  const statusSel = select(STATUS_CHOICES, { onchange: () => setQuery("status", statusSel.value) });
  const studySel = select([["", "all studies"]], { onchange: () => setQuery("study", studySel.value) });
  const jobsRoot = h("div", { id: "jobs" }, h("p", { class: "muted" }, "Loading jobs…"));
  const jobsCount = h("p", { class: "muted", "aria-live": "polite" });
  const notice = h("div", { class: "notice-slot" });
  const workersRoot = h("div", { id: "workers" }, h("p", { class: "muted" }, "Loading workers…"));
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, "Jobs & workers")),
    notice,
    h("section", { class: "card", "aria-labelledby": "workers-title" },
      h("h2", { id: "workers-title" }, "Workers"),
      h("p", { class: "help" }, h("span", { class: "help-tag" }, "How to read: "),
        "every worker process that has registered; heartbeat age over a minute means it is probably gone (its job returns to the queue when the lease expires)."),
      workersRoot),
    h("section", { class: "card", "aria-labelledby": "jobs-title" },
      h("h2", { id: "jobs-title" }, "Jobs"),
      h("div", { class: "row filters-row" }, field("Status", statusSel), field("Study", studySel)),
      jobsCount,
      jobsRoot));

  function setQuery(k, v) {
    if (v) query.set(k, v);
    else query.delete(k);
    replaceQuery(query);
    refresh();
  }

  async function act(job, verb) {
    try {
      await postJSON(`/api/jobs/${job.id}/${verb}`, {});
      refresh();
    } catch (err) {
      ctx.banner.error(err);
    }
  }

  function studyName(id) {
    return studies.find((s) => String(s.id) === String(id))?.name ?? `study ${id}`;
  }

  /** @type {[HTMLElement, Schemas["Job"], number | null][]} running jobs' time cells, ticking every second */
  let running = [];

  function jobRow(j) {
    const total = studies.find((s) => String(s.id) === String(j.study_id))?.recipe?.epochs ?? null;
    const canCancel = j.status === "queued" || j.status === "running";
    const canRequeue = j.status === "failed" || j.status === "cancelled";
    return h("tr", { dataset: { job: String(j.id), status: j.status } },
      h("td", { class: "num" }, String(j.id)),
      h("td", {}, h("a", { href: routeHash("study", j.study_id) }, j.study_name ?? studyName(j.study_id))),
      h("td", { class: "num" }, String(j.model_id ?? "–")),
      h("td", {}, statusPill(j.status)),
      h("td", { class: "col-progress" }, epochBar(j.epochs_done ?? 0, total)),
      h("td", { class: "num", title: `attempts that failed or lost their lease: ${j.attempts ?? 0}` }, attemptText(j)),
      h("td", { class: "num time", dataset: { job: String(j.id) } }, timeText(j, total)),
      h("td", {}, j.worker_id ?? "–"),
      h("td", { class: "err-text", title: j.last_error ?? "" }, j.last_error ? j.last_error.split("\n")[0].slice(0, 120) : ""),
      h("td", { class: "actions" },
        canCancel ? h("button", { type: "button", class: "btn btn-small", onclick: () => act(j, "cancel"), "aria-label": `cancel job ${j.id}` }, "Cancel") : null,
        canRequeue ? h("button", { type: "button", class: "btn btn-small", onclick: () => act(j, "requeue"), "aria-label": `re-queue job ${j.id}` }, "Re-queue") : null));
  }

  function renderJobs(out) {
    const list = listOf(out, "jobs");
    const total = out.total ?? list.length;
    jobsCount.textContent = `${total.toLocaleString()} job${total === 1 ? "" : "s"}${total > list.length ? ` (showing the first ${list.length})` : ""}`;
    if (!list.length) {
      clear(jobsRoot, h("p", {}, "No jobs match. ", h("a", { href: routeHash("queue") }, "Queue some samples"), "."));
      return;
    }
    clear(jobsRoot, h("div", { class: "table-wrap" }, h("table", { class: "data", id: "jobs-table" },
      h("caption", { class: "sr-only" }, "Jobs"),
      h("thead", {}, h("tr", {}, ["Job", "Study", "Model", "Status", "Progress", "Attempt", "Time", "Worker", "Last error", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, list.map(jobRow)))));
    running = list.filter((j) => j.status === "running").map((j) => {
      const total = studies.find((s) => String(s.id) === String(j.study_id))?.recipe?.epochs ?? null;
      return [/** @type {HTMLElement} */ (jobsRoot.querySelector(`td.time[data-job="${j.id}"]`)), j, total];
    });
  }

  function renderWorkers(out) {
    const list = listOf(out, "workers");
    if (!list.length) {
      clear(workersRoot, h("p", {}, "No workers have registered. Start one with ", h("code", {}, "netspace worker"), " or ", h("code", {}, "netspace serve --workers 1"), "."));
      return;
    }
    clear(workersRoot, h("div", { class: "table-wrap" }, h("table", { class: "data", id: "workers-table" },
      h("caption", { class: "sr-only" }, "Workers"),
      h("thead", {}, h("tr", {}, ["Worker", "Host", "Device", "Status", "Current job", "Heartbeat age"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, list.map((w) => h("tr", { dataset: { worker: w.id } },
        h("td", {}, w.id), h("td", {}, w.host ?? "–"), h("td", {}, w.device ?? "–"), h("td", {}, statusPill(w.status ?? "?")),
        h("td", {}, w.current_job_id ? String(w.current_job_id) : "–"),
        h("td", { class: "num age", dataset: { since: w.heartbeat_at ?? "" } }, fmtAge(secondsSince(w.heartbeat_at)))))))));
  }

  async function refresh() {
    statusSel.value = query.get("status") || "";
    const q = { status: query.get("status") || undefined, study_id: query.get("study") || undefined, limit: PAGE };
    try {
      /** @type {[Schemas["JobPage"], Schemas["Worker"][], Schemas["Study"][]]} */
      const [j, w, s] = await Promise.all([getJSON("/api/jobs", q), getJSON("/api/workers"), getJSON("/api/studies")]);
      studies = listOf(s, "studies");
      clear(studySel, h("option", { value: "" }, "all studies"), studies.map((x) => h("option", { value: String(x.id) }, x.name)));
      studySel.value = query.get("study") || "";
      renderJobs(j);
      renderWorkers(w);
      clear(notice, noWorkerNotice(j.counts?.queued ?? 0, listOf(w, "workers").filter((x) => x.alive).length));
    } catch (err) {
      ctx.banner.error(err);
    }
  }

  const tick = setInterval(() => {
    for (const td of root.querySelectorAll("td.age")) td.textContent = fmtAge(secondsSince(td.dataset.since));
    for (const [td, j, total] of running) td.textContent = timeText(j, total);
  }, 1000);
  const soon = coalesce(refresh, 200);
  const off = ctx.live.on(soon);
  refresh();
  return {
    update(q) {
      query = new URLSearchParams(q);
      refresh();
    },
    unmount() {
      clearInterval(tick);
      off();
      soon.cancel();
    },
  };
}
