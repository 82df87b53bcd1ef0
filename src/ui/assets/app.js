// app.js -- the web UI: run LogQL against this server's Loki API, show log lines
// with the JSON (or logfmt) keys you pick as columns, browse labels and fields, plot
// metric queries, follow new lines live over the tail WebSocket, and read Kubernetes
// events by object, list the ruler's rules and alerts and write an alert from a metric
// query. The state lives in the URL hash (q, from, to, limit, cols, dir,
// live, view); every run is a history entry, so Back and Forward work.
import {
  collectFields, decodeState, encodeState, isMetricQuery, streamsToEntries, cmpNs, volumeStacks,
  volumeQuery, alignedStart, stepFor, resolveRange, isRelative, addFieldFilter, addMatcher,
  extractedLabels, topValues, sortEntries, jsonLabelName, olderPageEnd, newerPageStart, dedupeKey,
  formatMs, RANGES,
} from "./logic.mjs";
import { $, el } from "./dom.mjs";
import { drawHistogram } from "./histogram.mjs";
import { logTable } from "./table.mjs";
import { renderMetric } from "./metric.mjs";
import { autocomplete, fillHistory, markError, remember } from "./editor.mjs";
import { showEvents } from "./eventsview.mjs";
import { alertForm, showRules } from "./rulesview.mjs";

// The API lives next to the UI: "/" or a proxy's prefix ("/cairn/"); "/ui/" is an alias.
const BASE = location.pathname.replace(/[^/]*$/, "").replace(/ui\/$/, "");
const MAX_LIVE = 5000; // lines kept while live: older ones are let go
const PAGE_MAX = 5000;

const state = {
  ...decodeState(location.hash),
  entries: [], seen: new Set(), sort: { key: "", dir: 0 }, utc: localStorage.getItem("cairn.utc") === "1",
  ws: null, paused: false, buffered: [], dropped: 0, trimmed: 0, exhausted: false, runSeq: 0, range: null, kind: "logs",
};

function status(msg, error = false) {
  const s = $("status");
  s.textContent = msg;
  s.className = error ? "error" : "";
}

function tenantHeaders() {
  const t = $("tenant").value.trim();
  return t ? { "X-Scope-OrgID": t } : {};
}

export async function api(path, params) {
  const url = BASE + path + "?" + new URLSearchParams(params).toString();
  const r = await fetch(url, { headers: tenantHeaders() });
  const text = await r.text();
  if (!r.ok) throw new Error(`${r.status}: ${text.trim()}`);
  return JSON.parse(text);
}

// A request whose answer is shown as it is (the rules API): {status, text}.
async function raw(path, method = "GET", body) {
  const headers = tenantHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/yaml";
  const r = await fetch(BASE + path, { method, headers, body });
  return { status: r.status, text: await r.text() };
}

// ---- URL ----

function pushState(replace = false) {
  const h = encodeState(state);
  if (location.hash.replace(/^#/, "") === h) return;
  if (replace) history.replaceState(null, "", "#" + h);
  else history.pushState(null, "", "#" + h);
}

// ---- labels (side panel) ----

function labelRange() {
  const r = resolveRange(state.from, state.to, Date.now());
  return { start: r.start, end: r.end };
}

async function loadLabels() {
  const box = $("labels");
  box.replaceChildren();
  try {
    const r = await api("loki/api/v1/labels", labelRange());
    for (const name of r.data || []) {
      const values = el("div", { class: "values" });
      const item = el("button", { type: "button", class: "item", "aria-expanded": "false", title: "show values" }, name);
      item.addEventListener("click", async () => {
        if (values.childElementCount) {
          item.setAttribute("aria-expanded", "false");
          return values.replaceChildren();
        }
        try {
          const v = await api(`loki/api/v1/label/${encodeURIComponent(name)}/values`, labelRange());
          item.setAttribute("aria-expanded", "true");
          for (const val of v.data || [])
            values.append(el("button", { type: "button", class: "item", title: `add ${name}="${val}" to the query`, onclick: () => {
              $("query").value = addMatcher($("query").value, name, val);
              run();
            } }, val));
        } catch (e) {
          status(e.message, true);
        }
      });
      box.append(item, values);
    }
    if (!box.childElementCount) box.append(el("div", { class: "empty" }, "no labels in this range"));
  } catch (e) {
    box.append(el("div", { class: "empty" }, e.message));
  }
}

// ---- fields (side panel): keys as the query uses them, top values, filters ----

function fieldKind(key) {
  const e = state.entries.find((x) => Object.prototype.hasOwnProperty.call(x.fields, key));
  if (e) return e.kind === "logfmt" ? "logfmt" : "json";
  return "label";
}

function filterBy(key, value, op) {
  const kind = fieldKind(key);
  $("query").value = addFieldFilter($("query").value.trim(), key, value, op, kind);
  run();
}

function renderFields() {
  const box = $("fields");
  const filter = $("fieldfilter").value.trim().toLowerCase();
  box.replaceChildren();
  const hide = new Set();
  for (const e of state.entries.slice(0, 500)) for (const k of extractedLabels(e)) hide.add(k);
  const fields = collectFields(state.entries).filter((f) => !(f.label && hide.has(f.key)));
  const seen = new Set(fields.map((f) => f.key));
  const rows = state.columns.filter((c) => !seen.has(c)).map((key) => ({ key, count: 0 })).concat(fields);
  for (const { key, count, label } of rows) {
    if (filter && !key.toLowerCase().includes(filter)) continue;
    const cb = el("input", { type: "checkbox", "aria-label": `show ${key} as a column` });
    cb.checked = state.columns.includes(key);
    cb.addEventListener("change", () => {
      state.columns = cb.checked ? [...state.columns, key] : state.columns.filter((c) => c !== key);
      pushState(true);
      table.refresh();
    });
    const kind = label ? "label" : fieldKind(key);
    const jname = kind === "json" ? jsonLabelName(key) : null;
    const top = el("div", { class: "values", hidden: true });
    const name = el("button", { type: "button", class: "key", "aria-expanded": "false", title: "top values" }, key);
    name.addEventListener("click", () => {
      const open = top.hidden;
      top.hidden = !open;
      name.setAttribute("aria-expanded", String(open));
      if (!open) return;
      top.replaceChildren();
      for (const { value, count: c } of topValues(state.entries, key, 10)) {
        top.append(el("div", { class: "topval" },
          el("span", { class: "v", title: value }, value.length > 60 ? value.slice(0, 59) + "…" : value),
          el("span", { class: "count" }, c),
          el("button", { type: "button", class: "mini", title: "keep lines with this value", "aria-label": `filter ${key} = ${value}`, onclick: () => filterBy(key, value, "=") }, "="),
          el("button", { type: "button", class: "mini", title: "drop lines with this value", "aria-label": `filter ${key} != ${value}`, onclick: () => filterBy(key, value, "!=") }, "≠")));
      }
    });
    box.append(el("div", { class: "item field-item", "data-key": key },
      el("span", {}, cb, " ", name,
        jname && jname !== key ? el("span", { class: "tag", title: "the label | json gives this key: use it in filters" }, "| " + jname) : null,
        label ? el("span", { class: "tag", title: "a stream label" }, "label") : null),
      el("span", { class: "count" }, count)), top);
  }
  if (!box.childElementCount) box.append(el("div", { class: "empty" }, "no JSON or logfmt keys"));
}

// ---- line details and the cell menu ----

function showDetails(e) {
  const box = $("details");
  box.hidden = false;
  const rows = [];
  const add = (k, v, kind) => rows.push(el("tr", {},
    el("th", { scope: "row" }, k, kind === "json" && jsonLabelName(k) !== k ? el("span", { class: "tag" }, "| " + jsonLabelName(k)) : null),
    el("td", {}, el("span", { class: "full" }, v)),
    el("td", { class: "acts" },
      el("button", { type: "button", class: "mini", "aria-label": `filter ${k} = value`, onclick: () => filterBy(k, v, "=") }, "="),
      el("button", { type: "button", class: "mini", "aria-label": `filter ${k} != value`, onclick: () => filterBy(k, v, "!=") }, "≠"))));
  for (const [k, v] of Object.entries(e.fields)) add(k, v, e.kind);
  for (const [k, v] of Object.entries(e.labels)) if (!(k in e.fields)) add(k, v, "label");
  box.replaceChildren(
    el("div", { class: "dhead" }, el("h2", {}, "Line details ", el("span", { class: "hint" }, formatMs(Number(BigInt(e.ts) / 1000000n), state.utc, true) + " · " + e.ts)),
      el("button", { type: "button", class: "mini", "aria-label": "close details", onclick: () => (box.hidden = true) }, "×")),
    el("table", { class: "kv" }, el("tbody", {}, ...rows)),
    el("pre", { class: "json" }, (() => {
      if (e.kind !== "json") return e.line;
      try {
        return JSON.stringify(JSON.parse(e.line), null, 2);
      } catch {
        return e.line;
      }
    })()));
}

function cellMenu(entry, key, value, td) {
  const m = $("cellmenu");
  const r = td.getBoundingClientRect();
  m.replaceChildren(
    el("button", { type: "button", role: "menuitem", onclick: () => { m.hidden = true; filterBy(key, value, "="); } }, `${key} = this value`),
    el("button", { type: "button", role: "menuitem", onclick: () => { m.hidden = true; filterBy(key, value, "!="); } }, `${key} ≠ this value`),
    el("button", { type: "button", role: "menuitem", onclick: () => { m.hidden = true; showDetails(entry); } }, "line details"));
  m.style.left = `${Math.round(r.left + window.scrollX)}px`;
  m.style.top = `${Math.round(r.bottom + window.scrollY)}px`;
  m.hidden = false;
  m.firstChild.focus();
}

const table = logTable({
  box: $("results"),
  get columns() { return state.columns; },
  get sort() { return state.sort; },
  get utc() { return state.utc; },
  onSort(key) {
    const s = state.sort;
    state.sort = s.key === key && s.dir ? { key, dir: s.dir > 0 ? -1 : 0 } : { key, dir: 1 };
    showEntries();
  },
  onCell: cellMenu,
  onRow: showDetails,
});

function showEntries() {
  const list = state.sort.dir ? sortEntries(state.entries, state.sort.key, state.sort.dir) : state.entries;
  table.setEntries(list);
}

// ---- volume ----

// The label the bars are stacked by: a level, or an event's type, when the lines have it.
function stackKey() {
  const has = (k) => state.entries.some((e) => Object.prototype.hasOwnProperty.call(e.labels, k));
  return ["level", "type", "detected_level"].find(has) || "";
}

async function loadVolume(range, seq) {
  const box = $("volume");
  const secs = Math.max(1, (range.endMs - range.startMs) / 1000);
  const step = Math.max(1, Math.floor(secs / 120));
  const vstart = alignedStart(range.end, secs, step);
  try {
    const by = stackKey();
    const r = await api("loki/api/v1/query_range", { query: volumeQuery(state.query, step, by), start: vstart, end: range.end, step });
    if (seq !== state.runSeq) return;
    const bars = volumeStacks(r.data, Number(BigInt(vstart) / 1000000n) / 1000 + step, Number(BigInt(range.end) / 1000000n) / 1000, step, by);
    drawHistogram(box, bars, step, range.startMs, range.endMs, state.utc, zoomTo, state.ws ? "live" : "");
  } catch (e) {
    if (seq === state.runSeq) box.replaceChildren(el("div", { class: "volume-total" }, `no volume: ${e.message}`));
  }
}

function zoomTo(fromMs, toMs) {
  state.from = new Date(fromMs).toISOString();
  state.to = new Date(toMs).toISOString();
  state.live = false;
  showTime();
  run();
}

function zoomOut() {
  const r = resolveRange(state.from, state.to, Date.now());
  const span = r.endMs - r.startMs;
  const to = Math.min(Date.now(), r.endMs + span / 2);
  zoomTo(to - span * 2, to);
}

// ---- running ----

function readForm() {
  state.query = $("query").value.trim();
  state.from = $("from").value.trim() || "now-1h";
  state.to = $("to").value.trim() || "now";
  state.limit = Math.min(PAGE_MAX, Math.max(1, Number($("limit").value) || 100));
  state.direction = $("direction").value;
}

function clearResults() {
  state.entries = [];
  state.seen = new Set();
  state.exhausted = true;
  $("volume").replaceChildren();
  $("details").hidden = true;
  $("more").hidden = true;
  table.setEntries([]);
  renderFields();
}

function addEntries(list, atEnd) {
  const fresh = list.filter((e) => {
    const k = dedupeKey(e);
    if (state.seen.has(k)) return false;
    state.seen.add(k);
    return true;
  });
  state.entries = atEnd ? state.entries.concat(fresh) : fresh.concat(state.entries);
  return fresh.length;
}

export async function run(opts = {}) {
  if (!opts.fromHistory) readForm();
  stopLive();
  if (!opts.fromHistory) pushState(false);
  const seq = ++state.runSeq;
  markError($("query"), $("qerror"), "");
  $("cellmenu").hidden = true;
  $("alertbar").hidden = true;
  $("rulesview").hidden = state.view !== "rules";
  if (state.view === "rules") return runRules(seq);
  if (state.view === "events") return runEvents(seq);
  $("eventsview").hidden = true;
  $("logsview").hidden = false;
  if (!state.query) {
    clearResults();
    status("write a LogQL query, e.g. {job=\"events\"}, or pick a label on the left");
    return;
  }
  remember(state.query);
  fillHistory($("history"));
  const range = resolveRange(state.from, state.to, Date.now());
  state.range = range;
  if (range.error) status(range.error, true);
  const t0 = performance.now();
  status("running…");
  try {
    if (isMetricQuery(state.query)) {
      const secs = (range.endMs - range.startMs) / 1000;
      const step = stepFor(secs);
      const r = await api("loki/api/v1/query_range", { query: state.query, start: alignedStart(range.end, secs, step), end: range.end, step });
      if (seq !== state.runSeq) return;
      clearResults();
      state.kind = "metric";
      renderMetric($("results"), r.data, state.utc);
      $("alertbar").hidden = false;
      $("alertbox").hidden = true;
      $("alertbtn").setAttribute("aria-expanded", "false");
      status(`${r.data.result.length} series in ${Math.round(performance.now() - t0)} ms`);
      return;
    }
    const r = await api("loki/api/v1/query_range", { query: state.query, start: range.start, end: range.end, limit: state.limit, direction: state.direction });
    if (seq !== state.runSeq) return;
    performance.mark("cairn:answer");
    state.kind = "logs";
    state.entries = [];
    state.seen = new Set();
    addEntries(streamsToEntries(r.data.result, state.direction), true);
    state.exhausted = state.entries.length < state.limit;
    showEntries();
    renderFields();
    $("more").hidden = state.exhausted;
    $("details").hidden = true;
    requestAnimationFrame(() => setTimeout(() => {
      performance.mark("cairn:painted");
      performance.measure("cairn:paint", "cairn:answer", "cairn:painted");
    }, 0));
    loadVolume(range, seq);
    const stats = r.data.stats && r.data.stats.summary;
    const bytes = stats ? `, ${(stats.totalBytesProcessed / 1e6).toFixed(1)} MB scanned` : "";
    status(`${state.entries.length} lines in ${Math.round(performance.now() - t0)} ms${bytes}`);
    if (state.live) startLive();
  } catch (e) {
    if (seq !== state.runSeq) return;
    clearResults(); // a failed query shows no stale lines under its error
    status(e.message, true);
    markError($("query"), $("qerror"), e.message);
  }
}

// The next page: older lines (backward) or newer ones (forward), with Loki's end/start.
async function loadMore() {
  if (!state.entries.length || !state.range) return;
  const seq = state.runSeq;
  const p = { query: state.query, limit: state.limit, direction: state.direction };
  if (state.direction === "backward") Object.assign(p, { start: state.range.start, end: olderPageEnd(state.entries) });
  else Object.assign(p, { start: newerPageStart(state.entries), end: state.range.end });
  $("more").disabled = true;
  try {
    const r = await api("loki/api/v1/query_range", p);
    if (seq !== state.runSeq) return;
    const page = streamsToEntries(r.data.result, state.direction);
    const n = addEntries(page, true);
    state.exhausted = page.length < state.limit || n === 0;
    showEntries();
    renderFields();
    $("more").hidden = state.exhausted;
    status(`${state.entries.length} lines (${n} more)${state.exhausted ? ", no more in the range" : ""}`);
  } catch (e) {
    status(e.message, true);
  } finally {
    $("more").disabled = false;
  }
}

// ---- live: the tail WebSocket ----

function liveStatus() {
  const parts = [`live: ${state.entries.length} lines`];
  if (state.paused) parts.push(`paused, ${state.buffered.length} waiting`);
  if (state.trimmed) parts.push(`${state.trimmed} oldest let go (cap ${MAX_LIVE})`);
  if (state.dropped) parts.push(`${state.dropped} dropped by the server`);
  status(parts.join(" · "));
}

// New lines go where the order puts them: on top (newest first) or at the bottom
// (oldest first); past MAX_LIVE the oldest are let go.
function takeLive(list) {
  const fwd = state.direction === "forward";
  addEntries(list.sort((a, b) => (fwd ? 1 : -1) * cmpNs(a.ts, b.ts)), fwd);
  const over = state.entries.length - MAX_LIVE;
  if (over > 0) {
    state.trimmed += over;
    if (fwd) state.entries.splice(0, over);
    else state.entries.length = MAX_LIVE;
  }
  showEntries();
  liveStatus();
  liveCatchUp();
}

// While live, the histogram and the Fields panel follow the new lines: at most once a
// second, a moment after lines arrive.
let catchUp = null;
function liveCatchUp() {
  if (catchUp) return;
  catchUp = setTimeout(() => {
    catchUp = null;
    if (!state.ws) return;
    renderFields();
    if (isRelative(state.from, state.to)) loadVolume(resolveRange(state.from, state.to, Date.now()), state.runSeq);
  }, 1000);
}

let volumeTimer = null;
function startLive() {
  stopLive();
  if (!state.query || isMetricQuery(state.query)) {
    status("live mode follows a log query", true);
    return;
  }
  state.live = true;
  pushState(true);
  $("live").setAttribute("aria-pressed", "true");
  $("pause").hidden = false;
  state.dropped = state.trimmed = 0;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const start = newerPageStart(state.entries);
  const params = new URLSearchParams({ query: state.query, limit: "1000" });
  if (start) params.set("start", (BigInt(start) + 1n).toString());
  const tenant = $("tenant").value.trim();
  if (tenant) params.set("tenant", tenant); // a browser cannot set X-Scope-OrgID on a WebSocket
  const ws = new WebSocket(`${proto}//${location.host}${BASE}loki/api/v1/tail?${params}`);
  state.ws = ws;
  ws.onmessage = (m) => {
    if (state.ws !== ws) return;
    let msg;
    try {
      msg = JSON.parse(m.data);
    } catch {
      return;
    }
    state.dropped += (msg.dropped_entries || []).length;
    const list = streamsToEntries(msg.streams || [], "backward");
    if (state.paused) state.buffered.push(...list);
    else takeLive(list);
  };
  ws.onopen = () => liveStatus();
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.ws = null;
    $("live").setAttribute("aria-pressed", "false");
    $("pause").hidden = true;
    status(`live stopped: ${ev.reason || "the connection closed"} (code ${ev.code})`, ev.code !== 1000);
  };
  // a relative range slides with now even when no line comes: re-read every 10 s
  volumeTimer = setInterval(() => {
    if (!isRelative(state.from, state.to)) return;
    const range = resolveRange(state.from, state.to, Date.now());
    loadVolume(range, state.runSeq);
  }, 10000);
}

function stopLive(userAction = false) {
  if (state.ws) {
    const ws = state.ws;
    state.ws = null;
    ws.close(1000);
  }
  clearInterval(volumeTimer);
  state.paused = false;
  state.buffered = [];
  $("pause").hidden = true;
  $("pause").setAttribute("aria-pressed", "false");
  $("live").setAttribute("aria-pressed", "false");
  if (userAction) {
    state.live = false;
    pushState(true);
    status(`live stopped: ${state.entries.length} lines`);
  }
}

function toggleLive() {
  if (state.ws) return stopLive(true);
  readForm();
  state.live = true;
  if (!state.entries.length || state.kind !== "logs") return run();
  startLive();
}

function togglePause() {
  state.paused = !state.paused;
  $("pause").setAttribute("aria-pressed", String(state.paused));
  if (!state.paused && state.buffered.length) {
    const b = state.buffered;
    state.buffered = [];
    takeLive(b);
  }
  liveStatus();
}

// ---- events view ----

async function runEvents(seq) {
  $("logsview").hidden = true;
  $("eventsview").hidden = false;
  if (!state.query) state.query = '{job="events"}';
  $("query").value = state.query;
  const range = resolveRange(state.from, state.to, Date.now());
  status("running…");
  try {
    const r = await api("loki/api/v1/query_range", { query: state.query, start: range.start, end: range.end, limit: PAGE_MAX, direction: "backward" });
    if (seq !== state.runSeq) return;
    const entries = streamsToEntries(r.data.result, "backward");
    const n = showEvents($("eventsview"), entries, { utc: state.utc, api, range });
    status(`${n} events from ${entries.length} lines${entries.length >= PAGE_MAX ? ` (the newest ${PAGE_MAX}: narrow the range or the query for older ones)` : ""}`);
  } catch (e) {
    if (seq !== state.runSeq) return;
    $("eventsview").replaceChildren();
    status(e.message, true);
    markError($("query"), $("qerror"), e.message);
  }
}

// ---- rules view ----

async function runRules(seq) {
  $("logsview").hidden = true;
  $("eventsview").hidden = true;
  status("loading rules…");
  try {
    const msg = await showRules($("rulesview"), (p) => raw(p), state.utc);
    if (seq === state.runSeq) status(msg);
  } catch (e) {
    if (seq === state.runSeq) status(e.message, true);
  }
}

function toggleAlertForm() {
  const open = $("alertbox").hidden;
  $("alertbox").hidden = !open;
  $("alertbtn").setAttribute("aria-expanded", String(open));
  if (open) alertForm($("alertbox"), state.query, (p, body) => raw(p, "POST", body));
}

function setView(v) {
  state.view = v;
  for (const b of document.querySelectorAll("[role=tab]")) b.setAttribute("aria-selected", String(b.dataset.view === v));
  if (v === "events" && !/job="events"/.test($("query").value)) $("query").value = '{job="events"}';
  run();
}

// ---- time controls ----

function showTime() {
  $("from").value = state.from;
  $("to").value = state.to;
  const preset = state.to === "now" && Object.keys(RANGES).find((k) => state.from === "now-" + k);
  $("range").value = preset || "";
  $("utc").setAttribute("aria-pressed", String(state.utc));
  $("utc").textContent = state.utc ? "UTC" : "Local";
}

// ---- wiring ----

function applyTheme(t) {
  document.documentElement.dataset.theme = t;
  $("theme").setAttribute("aria-pressed", String(t === "dark"));
  $("theme").textContent = t === "dark" ? "Dark" : "Light";
}

function init() {
  applyTheme(localStorage.getItem("cairn.theme") || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  $("theme").addEventListener("click", () => {
    const t = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem("cairn.theme", t);
    applyTheme(t);
  });
  $("query").value = state.query;
  $("limit").value = String(state.limit);
  $("direction").value = state.direction;
  showTime();
  fillHistory($("history"));
  $("tenant").value = localStorage.getItem("cairn.tenant") || "";
  $("tenant").addEventListener("change", () => {
    localStorage.setItem("cairn.tenant", $("tenant").value.trim());
    loadLabels();
  });
  $("qform").addEventListener("submit", (ev) => {
    ev.preventDefault();
    run();
  });
  $("query").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      run();
    }
  });
  $("range").addEventListener("change", () => {
    if (!$("range").value) return;
    $("from").value = "now-" + $("range").value;
    $("to").value = "now";
    loadLabels();
    run();
  });
  for (const id of ["from", "to"]) $(id).addEventListener("change", () => { $("range").value = ""; });
  $("limit").addEventListener("change", () => run());
  $("direction").addEventListener("change", () => run());
  $("live").addEventListener("click", toggleLive);
  $("pause").addEventListener("click", togglePause);
  $("more").addEventListener("click", loadMore);
  $("alertbtn").addEventListener("click", toggleAlertForm);
  $("zoomout").addEventListener("click", zoomOut);
  $("refresh").addEventListener("click", () => run());
  $("utc").addEventListener("click", () => {
    state.utc = !state.utc;
    localStorage.setItem("cairn.utc", state.utc ? "1" : "0");
    showTime();
    table.refresh();
    if (state.range && state.kind === "logs" && state.view === "logs") loadVolume(state.range, state.runSeq);
  });
  $("history").addEventListener("change", () => {
    if (!$("history").value) return;
    $("query").value = $("history").value;
    $("history").value = "";
    run();
  });
  for (const b of document.querySelectorAll("[role=tab]")) b.addEventListener("click", () => setView(b.dataset.view));
  $("fieldfilter").addEventListener("input", renderFields);
  document.addEventListener("click", (ev) => {
    if (!ev.target.closest("#cellmenu") && !ev.target.closest("td.field")) $("cellmenu").hidden = true;
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") $("cellmenu").hidden = true;
  });
  window.addEventListener("popstate", () => {
    Object.assign(state, decodeState(location.hash));
    $("query").value = state.query;
    $("limit").value = String(state.limit);
    $("direction").value = state.direction;
    showTime();
    for (const b of document.querySelectorAll("[role=tab]")) b.setAttribute("aria-selected", String(b.dataset.view === state.view));
    run({ fromHistory: true });
  });
  let names = null;
  const valueCache = new Map();
  autocomplete($("query"), $("aclist"),
    async () => (names ||= (await api("loki/api/v1/labels", labelRange())).data || []),
    async (n) => {
      if (!valueCache.has(n)) valueCache.set(n, (await api(`loki/api/v1/label/${encodeURIComponent(n)}/values`, labelRange())).data || []);
      return valueCache.get(n);
    });
  for (const b of document.querySelectorAll("[role=tab]")) b.setAttribute("aria-selected", String(b.dataset.view === state.view));
  loadLabels();
  renderFields();
  if (state.query || state.view !== "logs") run({ fromHistory: true });
  else status("write a LogQL query, or pick a label on the left");
}

init();
