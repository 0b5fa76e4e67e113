// @ts-check
// Honest about workers: where queued work waits and no worker has a fresh heartbeat, say so and say how to
// start one, instead of implying training is under way. Every page that shows queued work uses this.
import { getJSON } from "./api.js";
import { h } from "./dom.js";

/** @typedef {import("./api.js").Schemas} Schemas  the API's documented JSON shapes */

/** What to run: the server's own database URL is not shown in the page (it may name hosts and users). */
export const START_WORKER = "netspace worker --db <the server's database URL>";

/**
 * Live workers (idle or busy, fresh heartbeat) as /api/health counts them.
 * @param {AbortSignal} [signal]
 * @returns {Promise<number>}
 */
export async function liveWorkers(signal) {
  /** @type {Schemas["Health"]} */
  const health = await getJSON("/api/health", null, signal ? { signal } : undefined);
  return health.workers_alive;
}

/**
 * The notice for `queued` jobs, asking the server for live workers only when some job waits (/api/health
 * counts every job's status: not worth a request on each live update of a page with nothing queued).
 * @param {number} queued
 * @param {AbortSignal} [signal]
 * @returns {Promise<HTMLElement | null>}
 */
export async function workerNotice(queued, signal) {
  return queued > 0 ? noWorkerNotice(queued, await liveWorkers(signal)) : null;
}

/**
 * The notice, or null when there is nothing to say (no queued job, or a worker alive).
 * @param {number} queued  queued jobs on the page
 * @param {number} alive  live workers
 * @returns {HTMLElement | null}
 */
export function noWorkerNotice(queued, alive) {
  if (!(queued > 0) || alive > 0) return null;
  return h("p", { class: "worker-notice", role: "status", "data-testid": "no-worker" },
    h("strong", {}, "No worker is running"),
    ` — ${queued.toLocaleString()} queued job${queued === 1 ? " waits" : "s wait"}. Start one with `,
    h("code", {}, START_WORKER),
    " (or restart the server without ", h("code", {}, "--workers 0"), ").");
}
