// events.mjs -- the Events view's pure functions (no DOM): Kubernetes events from
// `cairn events` lines (eventrouter's {"verb", "event", "old_event"} JSON, or a bare
// Event object) and their pushed labels, made into kubectl-get-events rows and
// grouped by involved object. Tested with node --test (tests/ui/events.test.mjs).
import { cmpNs } from "./logic.mjs";

// ISO time or "" -> unix ms (NaN when absent).
function ms(t) {
  return t ? Date.parse(t) : NaN;
}

// One log entry -> an event row, or null when the line is not an event.
// {uid, type, reason, kind, name, namespace, message, count, firstMs, lastMs, ts, verb}
export function eventOf(entry) {
  let o;
  try {
    o = JSON.parse(entry.line);
  } catch {
    return null;
  }
  if (!o || typeof o !== "object") return null;
  const ev = o.event && typeof o.event === "object" ? o.event : o;
  const obj = ev.involvedObject || ev.regarding;
  if (!obj || !(ev.reason || ev.message || ev.note)) return null;
  const md = ev.metadata || {};
  const entryMs = Number(BigInt(entry.ts) / 1000000n);
  const last = ms(ev.lastTimestamp) || ms(ev.series && ev.series.lastObservedTime) || ms(ev.eventTime) || ms(md.creationTimestamp) || entryMs;
  const first = ms(ev.firstTimestamp) || ms(ev.eventTime) || ms(md.creationTimestamp) || last;
  const l = entry.labels || {};
  return {
    uid: md.uid || `${obj.namespace}/${obj.kind}/${obj.name}/${ev.reason}/${first}`,
    type: ev.type || l.type || "",
    reason: ev.reason || l.reason || "",
    kind: obj.kind || l.kind || "",
    name: obj.name || "",
    namespace: obj.namespace || md.namespace || l.namespace || "",
    message: ev.message || ev.note || "",
    count: Number(ev.count || (ev.series && ev.series.count) || 1),
    firstMs: first,
    lastMs: last,
    ts: entry.ts,
    verb: o.verb || "",
  };
}

// Entries -> event rows, one per event uid (its newest version), newest last seen first.
export function eventsOf(entries) {
  const byUid = new Map();
  for (const e of entries) {
    const ev = eventOf(e);
    if (!ev) continue;
    const old = byUid.get(ev.uid);
    if (!old || ev.count > old.count || (ev.count === old.count && cmpNs(ev.ts, old.ts) > 0)) byUid.set(ev.uid, ev);
  }
  return [...byUid.values()].sort((a, b) => b.lastMs - a.lastMs || (a.uid < b.uid ? -1 : 1));
}

export function objectKey(ev) {
  return `${ev.namespace}/${ev.kind}/${ev.name}`;
}

// Rows grouped by involved object: [{key, namespace, kind, name, events (oldest first),
// lastMs, warnings}], the object seen most recently first.
export function groupByObject(events) {
  const m = new Map();
  for (const ev of events) {
    const k = objectKey(ev);
    let g = m.get(k);
    if (!g) m.set(k, (g = { key: k, namespace: ev.namespace, kind: ev.kind, name: ev.name, events: [], lastMs: -Infinity, warnings: 0 }));
    g.events.push(ev);
    g.lastMs = Math.max(g.lastMs, ev.lastMs);
    if (ev.type === "Warning") g.warnings++;
  }
  for (const g of m.values()) g.events.sort((a, b) => a.firstMs - b.firstMs || a.lastMs - b.lastMs);
  return [...m.values()].sort((a, b) => b.lastMs - a.lastMs || (a.key < b.key ? -1 : 1));
}

// Keep rows matching every non-empty filter {namespace, kind, reason, type}.
export function filterEvents(events, f) {
  return events.filter((ev) => ["namespace", "kind", "reason", "type"].every((k) => !f[k] || ev[k] === f[k]));
}

// The distinct values of a field, sorted (for the filter menus).
export function distinct(events, key) {
  return [...new Set(events.map((e) => e[key]).filter(Boolean))].sort();
}

// "5m", "2h", "3d" since a time (kubectl's AGE column).
export function age(msThen, nowMs) {
  const s = Math.max(0, Math.round((nowMs - msThen) / 1000));
  if (s < 120) return s + "s";
  if (s < 7200) return Math.round(s / 60) + "m";
  if (s < 172800) return Math.round(s / 3600) + "h";
  return Math.round(s / 86400) + "d";
}

// The logs query for an involved object: a Pod's own lines by {namespace, pod}.
export function podLogsQuery(g) {
  const q = (v) => JSON.stringify(v);
  if (g.kind === "Pod") return `{namespace=${q(g.namespace)}, pod=${q(g.name)}}`;
  return `{namespace=${q(g.namespace)}} |= ${q(g.name)}`;
}

// The events query for an object: the router's stream and a line filter on its name.
export function objectEventsQuery(g, job = "events") {
  const q = (v) => JSON.stringify(v);
  return `{job=${q(job)}, namespace=${q(g.namespace)}, kind=${q(g.kind)}} |= ${q('"name":' + JSON.stringify(g.name))}`;
}
