// logic.mjs -- the web UI's pure functions (no DOM): reading Loki's API answers,
// splitting JSON and logfmt lines into fields, time ranges, editing selectors and
// the URL state. Tested with node --test (tests/ui/logic.test.mjs).

// Flatten a parsed JSON value into dotted keys: {"a":{"b":1},"c":[2,3]} gives
// a.b=1, c.0=2, c.1=3. Strings stay strings; other scalars become their JSON text.
export function flatten(value, prefix = "", out = {}, depth = 0) {
  if (value !== null && typeof value === "object" && depth < 16) {
    const keys = Array.isArray(value) ? value.map((_, i) => String(i)) : Object.keys(value);
    if (keys.length === 0) {
      if (prefix) out[prefix] = Array.isArray(value) ? "[]" : "{}";
      return out;
    }
    for (const k of keys) flatten(value[k], prefix ? prefix + "." + k : k, out, depth + 1);
    return out;
  }
  if (prefix) out[prefix] = typeof value === "string" ? value : JSON.stringify(value);
  return out;
}

// logfmt: key=value pairs, values bare or double-quoted with \" escapes. Returns
// null when the line does not look like logfmt (fewer than two pairs).
export function parseLogfmt(line) {
  const out = {};
  let n = 0;
  const re = /([A-Za-z_][A-Za-z0-9_.\-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)/g;
  let m;
  while ((m = re.exec(line)) !== null) {
    let v = m[2];
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v);
      } catch {
        v = v.slice(1, -1);
      }
    }
    out[m[1]] = v;
    n++;
  }
  return n >= 2 ? out : null;
}

// The fields of one line: {kind: "json"|"logfmt"|"text", fields: {key: value}}.
export function parseLine(line) {
  const t = line.trimStart();
  if (t.startsWith("{")) {
    try {
      const v = JSON.parse(t);
      if (v !== null && typeof v === "object") return { kind: "json", fields: flatten(v) };
    } catch {
      // not JSON after all
    }
  }
  const lf = parseLogfmt(line);
  if (lf) return { kind: "logfmt", fields: lf };
  return { kind: "text", fields: {} };
}

// Nanosecond timestamps are strings (beyond double precision): compare them as such.
export function cmpNs(a, b) {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

// Loki's streams result -> entries {ts, labels, line, kind, fields}, newest first
// (backward) or oldest first (forward), ties kept in stream order.
export function streamsToEntries(result, direction = "backward") {
  const out = [];
  for (const s of result || []) {
    const labels = s.stream || {};
    for (const [ts, line] of s.values || []) {
      const p = parseLine(line);
      out.push({ ts, labels, line, kind: p.kind, fields: p.fields });
    }
  }
  const sign = direction === "forward" ? 1 : -1;
  out.sort((a, b) => sign * cmpNs(a.ts, b.ts));
  return out;
}

// The keys found in entries' fields, and the stream label names (label: true) that
// no field shadows, most frequent first: [{key, count, label}].
export function collectFields(entries, max = 500) {
  const counts = new Map();
  const bump = (k, label) => {
    const c = counts.get(k);
    if (c) c.count++;
    else counts.set(k, { key: k, count: 1, label });
  };
  for (const e of entries) {
    for (const k of Object.keys(e.fields)) bump(k, false);
    for (const k of Object.keys(e.labels)) if (!(k in e.fields)) bump(k, true);
  }
  return [...counts.values()]
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, max);
}

// The value a column shows for an entry: the line's field, else the stream label.
export function fieldValue(e, key) {
  if (Object.prototype.hasOwnProperty.call(e.fields, key)) return e.fields[key];
  if (Object.prototype.hasOwnProperty.call(e.labels, key)) return e.labels[key];
  return undefined;
}

// "2026-11-25T21:52:12.345Z" from unix nanoseconds (a string or number).
export function formatNs(ns) {
  const s = String(ns);
  const ms = s.length > 6 ? Number(s.slice(0, -6)) : 0;
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return s;
  return d.toISOString();
}

// Relative ranges offered by the UI, in seconds.
export const RANGES = { "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800, "30d": 2592000 };

// {start, end} unix ns strings for a range key ending at nowMs.
export function rangeParams(key, nowMs) {
  const secs = RANGES[key] || 3600;
  const end = BigInt(Math.floor(nowMs)) * 1000000n;
  const start = end - BigInt(secs) * 1000000000n;
  return { start: start.toString(), end: end.toString() };
}

// A step for a metric query over secs seconds: about 250 points, at least 1 s.
export function stepFor(secs) {
  return Math.max(1, Math.floor(secs / 250));
}

// Is the query a metric query (rather than a log query)? A log query starts with its
// selector `{`; metric queries start with a function, a number or a parenthesis.
export function isMetricQuery(q) {
  const t = q.replace(/#[^\n]*/g, "").trim();
  return t !== "" && !t.startsWith("{");
}

function quote(v) {
  return '"' + v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") + '"';
}

// Add (or replace) the matcher name="value" in the query's first selector; a query
// without one becomes {name="value"}. op is "=" or "!=".
export function addMatcher(q, name, value, op = "=") {
  const matcher = name + op + quote(value);
  const open = q.indexOf("{");
  if (open < 0) return "{" + matcher + "}" + (q.trim() ? " " + q.trim() : "");
  // find the selector's closing brace, skipping quoted strings
  let i = open + 1;
  let inq = null;
  for (; i < q.length; i++) {
    const c = q[i];
    if (inq) {
      if (c === "\\" && inq === '"') i++;
      else if (c === inq) inq = null;
    } else if (c === '"' || c === "`") inq = c;
    else if (c === "}") break;
  }
  if (i >= q.length) return q; // unbalanced: leave it for the server to explain
  const body = q.slice(open + 1, i);
  const re = new RegExp("(^|,)\\s*" + name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "\\s*(=|!=|=~|!~)\\s*(\"(?:[^\"\\\\]|\\\\.)*\"|`[^`]*`)\\s*(?=,|$)");
  let nb;
  if (re.test(body)) nb = body.replace(re, (m0, lead) => lead + (lead ? " " : "") + matcher);
  else nb = body.trim() ? body.replace(/\s*$/, "") + ", " + matcher : matcher;
  return q.slice(0, open + 1) + nb + q.slice(i);
}

// A metric result (matrix or vector) -> series [{name, points: [[tsSec, value]]}].
export function metricSeries(data) {
  const name = (m) => {
    const ks = Object.keys(m || {}).sort();
    return ks.length ? "{" + ks.map((k) => k + "=" + quote(m[k])).join(", ") + "}" : "{}";
  };
  if (!data) return [];
  if (data.resultType === "matrix")
    return data.result.map((s) => ({ name: name(s.metric), points: s.values.map(([t, v]) => [Number(t), Number(v)]) }));
  if (data.resultType === "vector")
    return data.result.map((s) => ({ name: name(s.metric), points: [[Number(s.value[0]), Number(s.value[1])]] }));
  if (data.resultType === "scalar") return [{ name: "scalar", points: [[Number(data.result[0]), Number(data.result[1])]] }];
  return [];
}

// URL state (the part after '#'): query, range, limit, columns, live.
export function encodeState(st) {
  const p = new URLSearchParams();
  if (st.query) p.set("q", st.query);
  if (st.range) p.set("range", st.range);
  if (st.limit) p.set("limit", String(st.limit));
  if (st.columns && st.columns.length) p.set("cols", st.columns.join(","));
  if (st.direction && st.direction !== "backward") p.set("dir", st.direction);
  return p.toString();
}

export function decodeState(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  const cols = p.get("cols");
  return {
    query: p.get("q") || "",
    range: RANGES[p.get("range")] ? p.get("range") : "1h",
    limit: Math.min(5000, Math.max(1, Number(p.get("limit")) || 100)),
    columns: cols ? cols.split(",").filter(Boolean) : [],
    direction: p.get("dir") === "forward" ? "forward" : "backward",
  };
}

// The metric query that counts a log query's lines per step (the volume bars above
// the lines). The log query goes on its own lines, so a trailing # comment ends there.
export function volumeQuery(q, stepSecs) {
  return `sum(count_over_time(\n${q}\n[${stepSecs}s]))`;
}

// The volume answer (a matrix with one series, or none) as one count per step from
// start to end (seconds), zero where the answer has no point.
export function volumeBars(data, startSec, endSec, stepSecs) {
  const n = Math.max(1, Math.floor((endSec - startSec) / stepSecs) + 1);
  const bars = Array.from({ length: n }, (_, i) => ({ t: startSec + i * stepSecs, v: 0 }));
  const s = data && data.resultType === "matrix" && data.result[0];
  for (const [t, v] of (s && s.values) || []) {
    const i = Math.round((Number(t) - startSec) / stepSecs);
    if (i >= 0 && i < n) bars[i].v = Number(v);
  }
  return bars;
}

// The start of a metric range query whose last step falls exactly on end (unix ns
// strings): a range query is evaluated at start + k*step, so an unaligned start would
// leave the newest part of a step out of the picture.
export function alignedStart(end, rangeSecs, stepSecs) {
  const steps = BigInt(Math.max(1, Math.floor(rangeSecs / stepSecs)));
  return (BigInt(end) - steps * BigInt(stepSecs) * 1000000000n).toString();
}
