// @ts-check
// A job's attempts and time in the words the worker logs: "attempt 1/3", "2 min", "3 min, ≈ 5 min left".
// Shared by the Jobs page and the model detail dialog.
import { fmtAge } from "./dom.js";

/** @typedef {import("./api.js").Schemas} Schemas  the API's documented JSON shapes */

/**
 * Which attempt a job is on, in the words the worker logs ("attempt 1/3"): the `attempts` column counts the
 * attempts that ended badly, so a job that finished first time is on attempt 1, not 0.
 * @param {{status: string, attempts?: number | null, max_attempts?: number | null}} j  a job (or a model's job)
 */
export function attemptText(j) {
  const failed = j.attempts ?? 0;
  const max = j.max_attempts ?? 1;
  if (j.status === "done" || j.status === "running") return `${failed + 1}/${max}`;
  if (j.status === "failed") return `${failed}/${max}`;
  if (failed === 0) return "–";
  return j.status === "queued" ? `${failed} failed, next ${failed + 1}/${max}` : `${failed} failed`;
}

/**
 * How long the job ran (done, failed) or has run (running), and for a running job an estimate of the time
 * left from its pace so far (epochs done of the recipe's epochs).
 * @param {Schemas["Job"]} j @param {number | null} total  the recipe's epochs
 */
export function timeText(j, total) {
  const start = j.started_at ? Date.parse(utc(j.started_at)) : NaN;
  if (Number.isNaN(start)) return "–";
  const end = j.finished_at && j.status !== "running" ? Date.parse(utc(j.finished_at)) : Date.now();
  const took = (end - start) / 1000;
  if (j.status !== "running") return fmtAge(took);
  const done = j.epochs_done ?? 0;
  if (!total || done <= 0) return `${fmtAge(took)} so far`;
  return `${fmtAge(took)}, ≈ ${fmtAge((took / done) * Math.max(0, total - done))} left`;
}

/** @param {string} iso  a timestamp from the API (UTC; older rows lack the zone) */
export function utc(iso) {
  return /[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`;
}
