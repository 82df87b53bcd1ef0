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

// Time expressions of the URL and the picker: RFC3339 ("2026-12-07T02:00:00Z"), unix
// milliseconds ("1765072800000"), or relative to now ("now", "now-1h", "now-30m",
// units s m h d w). Returns unix ms, or NaN when the text is none of these.
const UNIT_MS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };
export function parseTime(text, nowMs) {
  const t = String(text || "").trim();
  if (!t) return NaN;
  const rel = /^now(?:\s*([-+])\s*(\d+)\s*([smhdw]))?$/.exec(t);
  if (rel) return rel[1] ? nowMs + (rel[1] === "-" ? -1 : 1) * Number(rel[2]) * UNIT_MS[rel[3]] : nowMs;
  if (/^\d{1,16}$/.test(t)) return Number(t);
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(t)) return NaN;
  const ms = Date.parse(t.replace(" ", "T"));
  return Number.isNaN(ms) ? NaN : ms;
}

// {start, end} unix ns strings for the state's from/to at nowMs; an unreadable or
// reversed range falls back to the last hour (error says why).
export function resolveRange(from, to, nowMs) {
  let a = parseTime(from, nowMs), b = parseTime(to, nowMs);
  let error = "";
  if (Number.isNaN(a) || Number.isNaN(b) || a >= b) {
    error = Number.isNaN(a) ? `cannot read from=${from}` : Number.isNaN(b) ? `cannot read to=${to}` : "from is not before to";
    b = nowMs;
    a = nowMs - 3600e3;
  }
  const ns = (ms) => (BigInt(Math.floor(ms)) * 1000000n).toString();
  return { start: ns(a), end: ns(b), startMs: a, endMs: b, error };
}

// Is a from/to pair relative to now (so a refresh moves it)?
export function isRelative(from, to) {
  return /^now/.test(String(from)) || /^now/.test(String(to));
}

// The hash state: q, from, to, limit, cols, dir, live, view (logs|events|rules). The old
// range=1h form is read as from=now-1h.
export function encodeState(st) {
  const p = new URLSearchParams();
  if (st.query) p.set("q", st.query);
  if (st.from) p.set("from", st.from);
  if (st.to) p.set("to", st.to);
  if (st.limit) p.set("limit", String(st.limit));
  if (st.columns && st.columns.length) p.set("cols", st.columns.join(","));
  if (st.direction && st.direction !== "backward") p.set("dir", st.direction);
  if (st.live) p.set("live", "1");
  if (st.view && st.view !== "logs") p.set("view", st.view);
  return p.toString();
}

export function decodeState(hash) {
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  const cols = p.get("cols");
  const range = RANGES[p.get("range")] ? p.get("range") : "1h";
  return {
    query: p.get("q") || "",
    from: p.get("from") || "now-" + range,
    to: p.get("to") || "now",
    limit: Math.min(5000, Math.max(1, Number(p.get("limit")) || 100)),
    columns: cols ? cols.split(",").filter(Boolean) : [],
    direction: p.get("dir") === "forward" ? "forward" : "backward",
    live: p.get("live") === "1",
    view: ["events", "rules"].includes(p.get("view")) ? p.get("view") : "logs",
  };
}

// The label name `| json` gives a dotted key path: each segment sanitised as Loki does
// (characters other than [A-Za-z0-9_] become "_", a leading digit gets "_"), joined by
// "_". null when the path goes through an array (`| json` skips arrays).
export function jsonLabelName(path) {
  const segs = path.split(".");
  if (segs.some((s) => /^\d+$/.test(s)) && segs.length > 1) return null;
  const out = segs.map((s, i) => {
    let n = s.trim().replace(/[^A-Za-z0-9_]/gu, "_");
    if (i === 0 && /^[0-9]/.test(n)) n = "_" + n;
    return n;
  });
  return out.join("_");
}

// A dotted key path as a `| json name="expr"` expression: a.b[0].c, with ["..."] for
// segments that are not identifiers.
export function jsonPathExpr(path) {
  return path.split(".").map((seg, i) => {
    if (i > 0 && /^\d+$/.test(seg)) return `[${seg}]`;
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) return i ? "." + seg : seg;
    return `[${JSON.stringify(seg)}]`;
  }).join("");
}

// Does the query's pipeline already have a parser stage (json or logfmt)?
function hasParser(q, kind) {
  return new RegExp("\\|\\s*" + kind + "\\b").test(q.replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, '""'));
}

// Add a label filter for a field value: `| json | name="value"` (or `| logfmt`, or
// `!=`); a stream label (kind "label") goes into the selector instead. Returns the
// new query; a comment at the end stays on its line.
export function addFieldFilter(q, key, value, op = "=", kind = "json") {
  if (kind === "label") return addMatcher(q, key, value, op);
  let name = kind === "json" ? jsonLabelName(key) : key.replace(/[^A-Za-z0-9_]/g, "_");
  let out = q.replace(/\s+$/, "");
  if (/#[^\n"`]*$/.test(out.split("\n").pop())) out += "\n";
  else out += " ";
  if (!name) {
    // a path through an array: `| json` skips arrays, so extract it by expression
    name = key.split(".").map((seg) => seg.replace(/[^A-Za-z0-9_]/g, "_")).join("_").replace(/^(\d)/, "_$1");
    return out + "| json " + name + "=" + quote(jsonPathExpr(key)) + " | " + name + op + quote(String(value));
  }
  if (!hasParser(q, kind === "json" ? "json" : "logfmt")) out += (kind === "json" ? "| json" : "| logfmt") + " ";
  return out + "| " + name + op + quote(String(value));
}

// The labels `| json` (or `| logfmt`) added to an entry's stream labels, so the
// Fields panel lists each key once: names that some field maps to with the same value.
export function extractedLabels(e) {
  const out = new Set();
  for (const [k, v] of Object.entries(e.fields)) {
    const n = e.kind === "json" ? jsonLabelName(k) : k;
    if (n && Object.prototype.hasOwnProperty.call(e.labels, n) && e.labels[n] === v) out.add(n);
  }
  return out;
}

// The n most frequent values of a key over entries: [{value, count}].
export function topValues(entries, key, n = 10) {
  const m = new Map();
  for (const e of entries) {
    const v = fieldValue(e, key);
    if (v === undefined) continue;
    m.set(v, (m.get(v) || 0) + 1);
  }
  return [...m.entries()].map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)).slice(0, n);
}

// Entries sorted by a column (numbers as numbers, missing values last); key "" is time.
export function sortEntries(entries, key, dir = 1) {
  const val = (e) => (key ? fieldValue(e, key) : e.ts);
  const num = (v) => (v !== undefined && v !== "" && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v) ? Number(v) : NaN);
  return entries.map((e, i) => [e, i]).sort(([a, i], [b, j]) => {
    const x = val(a), y = val(b);
    if (x === undefined || y === undefined) return x === y ? i - j : x === undefined ? 1 : -1;
    let c;
    if (!key) c = cmpNs(x, y);
    else {
      const nx = num(x), ny = num(y);
      c = !Number.isNaN(nx) && !Number.isNaN(ny) ? nx - ny : x < y ? -1 : x > y ? 1 : 0;
    }
    return c ? dir * c : i - j;
  }).map(([e]) => e);
}

// A line's level for colouring: error, warn, info, debug, or "" (fields level, lvl,
// severity, event.type / type Warning).
export function levelOf(e) {
  const f = e.fields;
  const v = String(f.level ?? f.lvl ?? f.severity ?? f["event.type"] ?? f.type ?? e.labels.level ?? e.labels.type ?? "").toLowerCase();
  if (/^(err|error|fatal|crit|critical|panic|alert|emerg)/.test(v)) return "error";
  if (/^(warn|warning)/.test(v)) return "warn";
  if (/^(info|normal|notice)/.test(v)) return "info";
  if (/^(debug|trace)/.test(v)) return "debug";
  return "";
}

// A value cut for a cell: at most max characters, newlines shown as spaces.
export function truncate(v, max = 200) {
  const s = String(v).replace(/\s*\n\s*/g, " ");
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

// "parse error at line L, col C" in a server answer -> {line, col}, or null.
export function parseErrorPos(msg) {
  const m = /parse error at line (\d+), col (\d+)/.exec(msg || "");
  return m ? { line: Number(m[1]), col: Number(m[2]) } : null;
}

// The offset in text of a 1-based line and column.
export function offsetOf(text, line, col) {
  const lines = text.split("\n");
  let off = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) off += lines[i].length + 1;
  return Math.min(text.length, off + Math.max(0, col - 1));
}

// Time-axis ticks between two unix ms: a "nice" step giving about n ticks.
const TICKS = [1e3, 5e3, 10e3, 30e3, 60e3, 300e3, 600e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3, 7 * 86400e3];
export function timeTicks(startMs, endMs, n = 6) {
  const span = Math.max(1, endMs - startMs);
  const step = TICKS.find((s) => span / s <= n) || Math.ceil(span / n / 86400e3) * 86400e3;
  const out = [];
  for (let t = Math.ceil(startMs / step) * step; t <= endMs; t += step) out.push(t);
  return { step, ticks: out };
}

// A time for people: local or UTC, to the second (ms when showMs).
export function formatMs(ms, utc, showMs = false) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(ms);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  const g = utc ? { Y: d.getUTCFullYear(), M: d.getUTCMonth() + 1, D: d.getUTCDate(), h: d.getUTCHours(), m: d.getUTCMinutes(), s: d.getUTCSeconds(), ms: d.getUTCMilliseconds() }
    : { Y: d.getFullYear(), M: d.getMonth() + 1, D: d.getDate(), h: d.getHours(), m: d.getMinutes(), s: d.getSeconds(), ms: d.getMilliseconds() };
  return `${g.Y}-${p(g.M)}-${p(g.D)} ${p(g.h)}:${p(g.m)}:${p(g.s)}${showMs ? "." + p(g.ms, 3) : ""}${utc ? "Z" : ""}`;
}

// The end (ns string) of the next page backwards: the oldest timestamp loaded. Loki's
// end is exclusive, so lines sharing that nanosecond with the page's last line would be
// skipped; the page keeps them out by asking up to end+1 and dropping lines already
// shown (dedupeKey).
export function olderPageEnd(entries) {
  let min = null;
  for (const e of entries) if (min === null || cmpNs(e.ts, min) < 0) min = e.ts;
  return min === null ? null : (BigInt(min) + 1n).toString();
}

export function newerPageStart(entries) {
  let max = null;
  for (const e of entries) if (max === null || cmpNs(e.ts, max) > 0) max = e.ts;
  return max;
}

export function dedupeKey(e) {
  return e.ts + "\u0000" + JSON.stringify(e.labels) + "\u0000" + e.line;
}

// The metric query that counts a log query's lines per step (the volume bars above
// the lines). The log query goes on its own lines, so a trailing # comment ends there.
export function volumeQuery(q, stepSecs, by = "") {
  const inner = `count_over_time(\n${q}\n[${stepSecs}s])`;
  return by ? `sum by (${by}) (${inner})` : `sum(${inner})`;
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

// A stacked volume answer (one series per value of `by`) as bars [{t, v, parts:
// [{name, v, level}]}], parts ordered error, warn, info, debug, other.
const LEVEL_ORDER = { error: 0, warn: 1, info: 2, debug: 3, "": 4 };
export function levelClass(v) {
  return levelOf({ fields: { level: v || "" }, labels: {} });
}
export function volumeStacks(data, startSec, endSec, stepSecs, by) {
  const n = Math.max(1, Math.floor((endSec - startSec) / stepSecs) + 1);
  const bars = Array.from({ length: n }, (_, i) => ({ t: startSec + i * stepSecs, v: 0, parts: [] }));
  for (const s of (data && data.resultType === "matrix" && data.result) || []) {
    const name = (s.metric && s.metric[by]) || "";
    for (const [t, v] of s.values || []) {
      const i = Math.round((Number(t) - startSec) / stepSecs);
      if (i < 0 || i >= n || !Number(v)) continue;
      bars[i].v += Number(v);
      bars[i].parts.push({ name, v: Number(v), level: levelClass(name) });
    }
  }
  for (const b of bars) b.parts.sort((x, y) => LEVEL_ORDER[x.level] - LEVEL_ORDER[y.level] || (x.name < y.name ? -1 : 1));
  return bars;
}

// The start of a metric range query whose last step falls exactly on end (unix ns
// strings): a range query is evaluated at start + k*step, so an unaligned start would
// leave the newest part of a step out of the picture.
export function alignedStart(end, rangeSecs, stepSecs) {
  const steps = BigInt(Math.max(1, Math.floor(rangeSecs / stepSecs)));
  return (BigInt(end) - steps * BigInt(stepSecs) * 1000000000n).toString();
}
