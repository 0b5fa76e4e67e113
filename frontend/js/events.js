// @ts-check
import { getToken, postJSON } from "./api.js";

/**
 * One `data:` message of GET /api/events (a row of the events table; kinds in db/events.py).
 * @typedef {object} LiveEvent
 * @property {number} id
 * @property {string} kind
 * @property {number | null} study_id
 * @property {number | null} job_id
 * @property {number | null} model_id
 * @property {Record<string, any> | null} payload
 * @property {string} created_at
 */

// Live updates: one EventSource on /api/events shared by all pages. EventSource retries by itself after a
// dropped connection; if the browser gives up (an HTTP error closes it) we open a new one with backoff.
// After any reconnect the pages refetch, since events sent while we were away are lost.
// With a token, EventSource (which cannot send headers) opens the stream with a short-lived ticket that
// POST /api/events/ticket hands out for the token in the Authorization header: the token itself never goes
// into a URL, which the server's access log would record. A ticket opens one stream, so every reconnect asks
// for a new one instead of letting EventSource retry with the old.

// Named SSE events (db/events.py kinds); an unnamed "message" carries its kind in data.kind or data.type.
const TYPES = ["study_created", "study_deleted", "jobs_queued", "job", "epoch", "result", "worker", "hello", "ping"];

export class Live {
  /**
   * @param {string} [url]
   */
  constructor(url = "/api/events") {
    this.url = url;
    this.listeners = new Set();
    this.stateListeners = new Set();
    this.state = "connecting";
    this.everOpen = false;
    this.backoff = 1000;
    this.source = null;
  }

  start() {
    this.connect();
    return this;
  }

  async connect() {
    const ticketed = Boolean(getToken());
    let url = this.url;
    if (ticketed) {
      const before = this.source;
      try {
        const { ticket } = await postJSON("/api/events/ticket");
        url = `${this.url}?ticket=${encodeURIComponent(ticket)}`;
      } catch {
        this.setState("reconnecting");
        this.retry(before);
        return;
      }
      if (this.source !== before) return; // connected meanwhile by someone else
    }
    const es = new EventSource(url);
    this.source = es;
    es.onopen = () => {
      const again = this.everOpen && this.state !== "live";
      this.everOpen = true;
      this.backoff = 1000;
      this.setState("live");
      if (again) this.emit({ type: "reconnected", data: {} });
    };
    es.onerror = () => {
      this.setState("reconnecting");
      if (es.readyState === EventSource.CLOSED || ticketed) {
        es.close();
        this.retry(es);
      }
    };
    es.onmessage = (e) => this.dispatch(null, e.data);
    for (const type of TYPES) es.addEventListener(type, (e) => this.dispatch(type, e.data));
  }

  /** Connect again after the back-off, unless another connection replaced `source` meanwhile. */
  retry(source) {
    setTimeout(() => this.source === source && this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 8000);
  }

  dispatch(type, raw) {
    let data = {};
    try {
      data = raw ? JSON.parse(raw) : {};
    } catch {
      data = { text: raw };
    }
    const t = type ?? data.kind ?? data.type ?? "message";
    if (t === "ping" || t === "hello") return;
    this.emit({ type: t, data });
  }

  emit(ev) {
    for (const fn of this.listeners) {
      try {
        fn(ev);
      } catch (err) {
        console.warn("live listener failed", err);
      }
    }
  }

  setState(s) {
    if (s === this.state) return;
    this.state = s;
    for (const fn of this.stateListeners) fn(s);
  }

  /**
   * Subscribe to events; returns the unsubscribe function.
   * @param {(ev: LiveEvent) => void} fn  called with every event
   * @returns {() => void} unsubscribe
   */
  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * @param {(state: string) => void} fn
   * @returns {() => void} unsubscribe
   */
  onState(fn) {
    this.stateListeners.add(fn);
    fn(this.state);
    return () => this.stateListeners.delete(fn);
  }
}

/**
 * Call `fn` soon after a burst of events: at most one run in flight, one more queued behind it.
 * @param {() => Promise<unknown> | void} fn
 * @param {number} [delay]
 * @returns {(() => void) & {cancel: () => void}}  call it to schedule a run; `.cancel()` drops what is pending
 */
export function coalesce(fn, delay = 150) {
  let timer = null;
  let running = false;
  let again = false;
  const run = async () => {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await fn();
    } finally {
      running = false;
      if (again) {
        again = false;
        timer = setTimeout(run, delay);
      }
    }
  };
  const trigger = () => {
    if (!timer) timer = setTimeout(run, delay);
  };
  trigger.cancel = () => {
    clearTimeout(timer);
    timer = null;
    again = false;
  };
  return trigger;
}
