// @ts-check
// The one place the dashboard talks HTTP: JSON in/out, errors turned into ApiError with per-field messages.

/**
 * The API's documented JSON shapes (generated from /openapi.json into types/api.d.ts).
 * @typedef {import("../types/api").components["schemas"]} Schemas
 */
/** @typedef {Record<string, unknown>} Query  query parameters; arrays repeat the key */
/**
 * @typedef {object} RequestOptions
 * @property {string} [method]
 * @property {unknown} [body]  sent as JSON
 * @property {Query} [query]
 * @property {AbortSignal} [signal]
 * @property {Record<string, string>} [headers]
 */
/** @typedef {{field: string, message: string}} FieldMessage  one input's error, as the forms show it */

/** An API failure: `status` (0 = network), a one-line `message`, and `fields` [{field, message}] from 422s. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {FieldMessage[]} [fields]
   */
  constructor(status, message, fields = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fields = fields;
  }
}

const FIELD_HEAD = /^([A-Za-z_][\w.[\]-]*(?: (?:low|high))?): (.+)$/s;
const LOC_ROOTS = new Set(["body", "query", "path", "header"]);

/** "regime.flops: low must be <= high" style messages name their field; join that with pydantic's loc. */
export function splitField(loc, msg) {
  const path = (loc || []).filter((x, i) => !(i === 0 && LOC_ROOTS.has(x))).map(String).join(".");
  let text = String(msg ?? "").replace(/^Value error, /, "");
  let field = path;
  const m = FIELD_HEAD.exec(text);
  if (m) {
    const head = m[1];
    text = m[2];
    if (!path || head === path || head.startsWith(`${path}.`) || head.startsWith(`${path} `)) field = head;
    else if (path.split(".").pop() === head.split(".")[0]) field = `${path}${head.slice(head.indexOf("."))}`;
    else field = `${path}.${head}`;
  }
  return { field, message: text };
}

/**
 * Turn any API error body into [{field, message}]: netspace's 422 list ({loc, field, msg}), a plain
 * pydantic list, a string detail with a separate `field` (404/409), or a bare string.
 */
export function parseErrorBody(body) {
  const d = body && typeof body === "object" && "detail" in body ? body.detail : body;
  if (Array.isArray(d)) {
    return d.map((e) => {
      if (typeof e === "string") return splitField([], e);
      if (typeof e.field === "string") return { field: e.field === "body" ? "" : e.field, message: e.msg ?? e.message ?? "" };
      return splitField(e.loc, e.msg ?? e.message);
    });
  }
  if (typeof d === "string" && body && typeof body.field === "string") return [{ field: body.field, message: d }];
  if (d && typeof d === "object") {
    if (Array.isArray(d.errors)) return parseErrorBody({ detail: d.errors });
    return [splitField(d.loc ?? (d.field ? [d.field] : []), d.msg ?? d.message ?? JSON.stringify(d))];
  }
  if (typeof d === "string") return [splitField([], d)];
  return [];
}

function describe(status, fields, fallback) {
  if (fields.length) return fields.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message)).join("; ");
  return fallback || `HTTP ${status}`;
}

/** Build "?a=1&b=2&b=3" from an object (arrays repeat the key; null/undefined/"" skipped). */
export function queryString(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    for (const x of Array.isArray(v) ? v : [v]) if (x !== null && x !== undefined && x !== "") q.append(k, String(x));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

async function errorFrom(res) {
  let body = null;
  const text = await res.text();
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  const fields = parseErrorBody(body);
  return new ApiError(res.status, describe(res.status, fields, `${res.status} ${res.statusText}`), fields);
}

const TOKEN_KEY = "netspace-token";

/** The bearer token for servers started with NETSPACE_TOKEN (kept in this browser's localStorage). */
export function getToken() {
  try {
    return window.localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  if (token) window.localStorage.setItem(TOKEN_KEY, token);
  else window.localStorage.removeItem(TOKEN_KEY);
}

/**
 * fetch() that throws ApiError on network failure or a non-2xx reply.
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<Response>}
 */
export async function request(path, { method = "GET", body, query, signal, headers = {} } = {}) {
  /** @type {RequestInit & {headers: Record<string, string>}} */
  const init = { method, signal, headers: { Accept: "application/json", ...headers } };
  const token = getToken();
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let res;
  try {
    res = await fetch(path + queryString(query), init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, `cannot reach the server (${e.message}); is \`netspace serve\` running?`);
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}

/**
 * GET a JSON body; `T` is its documented shape (a Schemas entry, e.g. `Schemas["Study"]`).
 * @template [T=any]
 * @param {string} path
 * @param {Query} [query]
 * @param {RequestOptions} [opts]
 * @returns {Promise<T>}
 */
export async function getJSON(path, query, opts = {}) {
  return (await request(path, { ...opts, query })).json();
}

/**
 * POST a JSON body; resolves to the JSON answer (null for 204).
 * @template [T=any]
 * @param {string} path
 * @param {unknown} body
 * @param {Query} [query]
 * @param {RequestOptions} [opts]
 * @returns {Promise<T>}
 */
export async function postJSON(path, body, query, opts = {}) {
  const res = await request(path, { ...opts, method: "POST", body, query });
  return res.status === 204 ? null : res.json();
}

/**
 * @param {string} path
 * @param {Query} [query]
 */
export async function del(path, query) {
  const res = await request(path, { method: "DELETE", query });
  return res.status === 204 ? null : res.json().catch(() => null);
}

/**
 * Fetch a binary body (the columnar population), throwing ApiError like the JSON calls.
 * @param {string} path
 * @param {Query} [query]
 * @param {RequestOptions} [opts]
 * @returns {Promise<ArrayBuffer>}
 */
export async function getBuffer(path, query, opts = {}) {
  const res = await request(path, { ...opts, query, headers: { Accept: "application/octet-stream" } });
  return res.arrayBuffer();
}

/** True for errors worth showing (not our own aborts of superseded requests). */
export function isReal(err) {
  return !(err && err.name === "AbortError");
}
