// @ts-check
// The study's population as typed-array columns, loaded once from the compact binary endpoint
// (GET /api/studies/{id}/population?format=bin) and filtered in the browser, so a filter change on
// 100,000 models redraws without a server round trip.
//
// Layout: "NSP1" | uint32 LE header length | JSON header (padded to 8 bytes) | data (see backend/api/routes/population.py).
// Header: {"n", "study_id", "status_names": [...], "columns": [{"name", "dtype", "offset"}]}, offsets into data.
import { getBuffer } from "./api.js";
import { addExtraColumns } from "./columns.js";

// Each column comes in the narrowest dtype that holds it exactly (backend.services.columns.narrow): whole-number
// columns with no missing value as integers (which hold no NaN), few-decimal ones as integers with "decimals"
// (value = q / 10^decimals), others as float32 where exact, else float64.
// Every reader indexes these as plain numbers, so the array type does not matter past this point.
const TYPES = {
  float64: Float64Array, float32: Float32Array, int32: Int32Array, uint32: Uint32Array,
  int16: Int16Array, uint16: Uint16Array, int8: Int8Array, uint8: Uint8Array,
};
/** @typedef {Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array} Column */

/**
 * @param {ArrayBuffer} buf  the body of GET /api/studies/{id}/population?format=bin
 */
export function decodePopulation(buf) {
  const view = new DataView(buf);
  const magic = String.fromCharCode(...new Uint8Array(buf, 0, 4));
  if (magic !== "NSP1") throw new Error(`population: unexpected format ${JSON.stringify(magic)}`);
  const hlen = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, hlen)));
  const n = header.n;
  const data = 8 + hlen;
  /** @type {Record<string, Column>} */
  const cols = {};
  for (const c of header.columns) {
    const T = TYPES[c.dtype];
    if (!T) throw new Error(`population: unknown dtype ${c.dtype}`);
    const raw = new T(buf, data + c.offset, n);
    if (!c.decimals) cols[c.name] = raw;
    else { // integers q standing for q / 10^k: the server checked that this division gives each value exactly
      const scale = 10 ** c.decimals;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = raw[i] / scale;
      cols[c.name] = out;
    }
  }
  addExtraColumns(header.extra_columns ?? []); // the study's imported columns: labels, units, log axes
  /** @type {Record<string, [number, number]>} the server's min and max of a column's present values, where sent */
  const ranges = {};
  for (const c of header.columns) if (typeof c.min === "number" && typeof c.max === "number") ranges[c.name] = [c.min, c.max];
  const { id, status, failure, ...values } = cols;
  values.error ??= new Float64Array(n).fill(NaN); // older servers drop empty columns
  return {
    n,
    studyId: header.study_id,
    ids: id,
    status: status ?? new Uint8Array(n),
    statusNames: header.status_names ?? [],
    /** learning-failure codes: 0 none, 1 diverged, 2 did not learn (backend.analysis.failures) */
    failure: failure ?? new Uint8Array(n),
    cols: values,
    names: new Set(Object.keys(values)),
    ranges,
    header,
  };
}

/**
 * @param {number | string} studyId
 * @param {AbortSignal} [signal]
 */
export async function loadPopulation(studyId, signal) {
  return decodePopulation(await getBuffer(`/api/studies/${studyId}/population`, { format: "bin" }, { signal }));
}

/** Learning failures among the rows of `idx` (all rows when omitted): {diverged, didNotLearn}. */
export function failureCounts(pop, idx = null) {
  let diverged = 0;
  let didNotLearn = 0;
  const n = idx ? idx.length : pop.n;
  for (let j = 0; j < n; j++) {
    const f = pop.failure[idx ? idx[j] : j];
    if (f === 1) diverged += 1;
    else if (f === 2) didNotLearn += 1;
  }
  return { diverged, didNotLearn };
}

/** Counts per status name (for progress bars), from the status codes. */
export function statusCounts(pop) {
  const counts = Object.fromEntries(pop.statusNames.map((s) => [s, 0]));
  for (let i = 0; i < pop.n; i++) counts[pop.statusNames[pop.status[i]]] += 1;
  return counts;
}
