// app.js -- the web UI: run LogQL against this server's Loki API, show log lines
// with the JSON (or logfmt) keys you pick as columns, browse labels, plot metric
// queries, follow new lines live. The state lives in the URL (#q=...), so a view can
// be shared as a link. All text is set with textContent: log lines are data, never
// markup.
import {
  addMatcher, collectFields, decodeState, encodeState, formatNs, isMetricQuery, metricSeries,
  rangeParams, RANGES, stepFor, streamsToEntries, cmpNs, volumeBars, volumeQuery, alignedStart,
  fieldValue,
} from "./logic.mjs";

const $ = (id) => document.getElementById(id);
// The API lives next to the UI: "/" or a proxy's prefix ("/cairn/"); "/ui/" is an alias.
const BASE = location.pathname.replace(/[^/]*$/, "").replace(/ui\/$/, "");
const MAX_LIVE = 2000;
const PALETTE = ["#2a6f97", "#c9302c", "#3b8b3b", "#d08c00", "#6a4c93", "#1b998b", "#e76f51", "#555b6e"];

const state = { ...decodeState(location.hash), entries: [], live: null, lastTs: null };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function status(msg, error = false) {
  const s = $("status");
  s.textContent = msg;
  s.className = error ? "error" : "";
}

async function api(path, params) {
  const url = BASE + path + "?" + new URLSearchParams(params).toString();
  const headers = {};
  const tenant = $("tenant").value.trim();
  if (tenant) headers["X-Scope-OrgID"] = tenant;
  const r = await fetch(url, { headers });
  const text = await r.text();
  if (!r.ok) throw new Error(`${r.status}: ${text.trim()}`);
  return JSON.parse(text);
}

function saveState() {
  const h = encodeState(state);
  if (location.hash.replace(/^#/, "") !== h) history.replaceState(null, "", "#" + h);
}

// ---- labels ----

async function loadLabels() {
  const box = $("labels");
  box.replaceChildren();
  try {
    const { start, end } = rangeParams(state.range, Date.now());
    const r = await api("loki/api/v1/labels", { start, end });
    for (const name of r.data || []) {
      const values = el("div", { class: "values" });
      const item = el("div", { class: "item", title: "show values" }, el("span", {}, name));
      item.addEventListener("click", async () => {
        if (values.childElementCount) return values.replaceChildren();
        try {
          const v = await api(`loki/api/v1/label/${encodeURIComponent(name)}/values`, { start, end });
          for (const val of v.data || [])
            values.append(el("div", { class: "item", title: `add ${name}="${val}" to the query`, onclick: () => {
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

// ---- fields ----

function renderFields() {
  const box = $("fields");
  const filter = $("fieldfilter").value.trim().toLowerCase();
  box.replaceChildren();
  const fields = collectFields(state.entries);
  // chosen columns first, even when absent from these results
  const seen = new Set(fields.map((f) => f.key));
  const rows = state.columns.filter((c) => !seen.has(c)).map((key) => ({ key, count: 0 })).concat(fields);
  for (const { key, count, label } of rows) {
    if (filter && !key.toLowerCase().includes(filter)) continue;
    const cb = el("input", { type: "checkbox" });
    cb.checked = state.columns.includes(key);
    cb.addEventListener("change", () => {
      state.columns = cb.checked ? [...state.columns, key] : state.columns.filter((c) => c !== key);
      saveState();
      renderLogs();
    });
    const name = el("span", {}, cb, " ", key, label ? el("span", { class: "tag", title: "a stream label" }, "label") : null);
    box.append(el("label", { class: "item" }, name, el("span", { class: "count" }, count)));
  }
  if (!box.childElementCount) box.append(el("div", { class: "empty" }, "no JSON or logfmt keys"));
}

// ---- logs ----

function detailRow(e, span) {
  const chips = el("div", { class: "chips" });
  for (const [k, v] of Object.entries(e.labels)) chips.append(el("span", { class: "chip" }, `${k}=${v}`));
  let body;
  if (e.kind === "json") {
    try {
      body = JSON.stringify(JSON.parse(e.line), null, 2);
    } catch {
      body = e.line;
    }
  } else body = e.line;
  const td = el("td", { colspan: String(span) }, chips, el("pre", { class: "json" }, body));
  return el("tr", { class: "detail" }, td);
}

function renderLogs() {
  const box = $("results");
  box.replaceChildren();
  if (!state.entries.length) {
    box.append(el("div", { class: "empty" }, "no log lines"));
    return;
  }
  const cols = state.columns;
  const head = el("tr", {}, el("th", {}, "Time"), ...cols.map((c) => el("th", {}, c)), cols.length ? null : el("th", {}, "Line"));
  const tbody = el("tbody");
  for (const e of state.entries) {
    const tds = [el("td", { class: "ts", title: e.ts }, formatNs(e.ts))];
    for (const c of cols) {
      const v = fieldValue(e, c);
      tds.push(v === undefined ? el("td", { class: "field missing" }, "-") : el("td", { class: "field" }, v));
    }
    if (!cols.length) tds.push(el("td", { class: "line" }, e.line));
    const tr = el("tr", { class: "entry" }, ...tds);
    tr.addEventListener("click", () => {
      const next = tr.nextSibling;
      if (next && next.classList && next.classList.contains("detail")) next.remove();
      else tr.after(detailRow(e, tds.length));
    });
    tbody.append(tr);
  }
  box.append(el("table", { class: "logs" }, el("thead", {}, head), tbody));
}

// ---- volume: how many lines the query matches over the range, as bars ----

async function loadVolume(start, end) {
  const box = $("volume");
  box.replaceChildren();
  const step = stepFor(RANGES[state.range]) * 2; // about 125 bars
  const vstart = alignedStart(end, RANGES[state.range], step);
  try {
    const r = await api("loki/api/v1/query_range", { query: volumeQuery(state.query, step), start: vstart, end, step });
    const s1 = Number(end) / 1e9;
    const bars = volumeBars(r.data, Number(vstart) / 1e9 + step, s1, step);
    const max = Math.max(1, ...bars.map((b) => b.v));
    const total = bars.reduce((a, b) => a + b.v, 0);
    const NS = "http://www.w3.org/2000/svg", W = 1000, H = 60;
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("preserveAspectRatio", "none");
    const bw = W / bars.length;
    bars.forEach((b, i) => {
      if (!b.v) return;
      const h = Math.max(1, (b.v / max) * (H - 2));
      const rect = document.createElementNS(NS, "rect");
      rect.setAttribute("x", (i * bw).toFixed(2));
      rect.setAttribute("y", (H - h).toFixed(2));
      rect.setAttribute("width", Math.max(0.5, bw - 1).toFixed(2));
      rect.setAttribute("height", h.toFixed(2));
      const title = document.createElementNS(NS, "title");
      title.textContent = `${new Date(b.t * 1000).toISOString().slice(0, 19)}Z: ${b.v}`;
      rect.append(title);
      svg.append(rect);
    });
    box.append(el("div", { class: "volume-total" }, `${total} matching lines in the range`), svg);
  } catch (e) {
    box.append(el("div", { class: "volume-total" }, `no volume: ${e.message}`));
  }
}

// ---- metrics ----

function renderMetric(data) {
  const box = $("results");
  box.replaceChildren();
  const series = metricSeries(data).slice(0, 50);
  if (!series.length) {
    box.append(el("div", { class: "empty" }, "no series"));
    return;
  }
  const pts = series.flatMap((s) => s.points).filter(([, v]) => Number.isFinite(v));
  const xs = pts.map(([t]) => t), ys = pts.map(([, v]) => v);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(0, ...ys), y1 = Math.max(...ys, y0 + 1e-9);
  const W = 1000, H = 260, P = 40;
  const sx = (t) => P + ((t - x0) / (x1 - x0 || 1)) * (W - 2 * P);
  const sy = (v) => H - P / 2 - ((v - y0) / (y1 - y0 || 1)) * (H - P);
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const text = (x, y, s, anchor = "start") => {
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", x);
    t.setAttribute("y", y);
    t.setAttribute("font-size", "11");
    t.setAttribute("fill", "#69707a");
    t.setAttribute("text-anchor", anchor);
    t.textContent = s;
    svg.append(t);
  };
  text(2, sy(y1) + 4, String(+y1.toPrecision(4)));
  text(2, sy(y0), String(+y0.toPrecision(4)));
  text(P, H - 2, new Date(x0 * 1000).toISOString().slice(0, 19) + "Z");
  text(W - P, H - 2, new Date(x1 * 1000).toISOString().slice(0, 19) + "Z", "end");
  const legend = el("div", { class: "legend" });
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const d = s.points.filter(([, v]) => Number.isFinite(v)).map(([t, v]) => `${sx(t).toFixed(1)},${sy(v).toFixed(1)}`);
    const shape = document.createElementNS(NS, d.length > 1 ? "polyline" : "circle");
    if (d.length > 1) {
      shape.setAttribute("points", d.join(" "));
      shape.setAttribute("fill", "none");
      shape.setAttribute("stroke", color);
      shape.setAttribute("stroke-width", "1.5");
      shape.setAttribute("vector-effect", "non-scaling-stroke");
    } else if (d.length === 1) {
      const [cx, cy] = d[0].split(",");
      shape.setAttribute("cx", cx);
      shape.setAttribute("cy", cy);
      shape.setAttribute("r", "4");
      shape.setAttribute("fill", color);
    }
    svg.append(shape);
    legend.append(el("span", {}, el("span", { class: "swatch", style: `background:${color}` }), s.name));
  });
  const table = el("table", { class: "logs" }, el("thead", {}, el("tr", {}, el("th", {}, "Series"), el("th", {}, "Last value"))));
  const tb = el("tbody");
  for (const s of series) {
    const last = s.points[s.points.length - 1];
    tb.append(el("tr", {}, el("td", {}, s.name), el("td", {}, last ? String(last[1]) : "")));
  }
  table.append(tb);
  box.append(el("div", { class: "chart" }, svg, legend), table);
}

// ---- running ----

function readForm() {
  state.query = $("query").value.trim();
  state.range = $("range").value;
  state.limit = Math.min(5000, Math.max(1, Number($("limit").value) || 100));
  state.direction = $("direction").value;
}

async function run() {
  readForm();
  stopLive();
  saveState();
  if (!state.query) {
    status("write a LogQL query, e.g. {job=\"events\"}, or pick a label on the left");
    return;
  }
  const { start, end } = rangeParams(state.range, Date.now());
  const t0 = performance.now();
  status("running…");
  try {
    if (isMetricQuery(state.query)) {
      const step = stepFor(RANGES[state.range]);
      const mstart = alignedStart(end, RANGES[state.range], step);
      const r = await api("loki/api/v1/query_range", { query: state.query, start: mstart, end, step });
      state.entries = [];
      $("volume").replaceChildren();
      renderFields();
      renderMetric(r.data);
      status(`${r.data.result.length} series in ${Math.round(performance.now() - t0)} ms`);
    } else {
      const r = await api("loki/api/v1/query_range", { query: state.query, start, end, limit: state.limit, direction: state.direction });
      state.entries = streamsToEntries(r.data.result, state.direction);
      state.lastTs = state.entries.reduce((m, e) => (m === null || cmpNs(e.ts, m) > 0 ? e.ts : m), null);
      renderFields();
      renderLogs();
      loadVolume(start, end);
      const stats = r.data.stats && r.data.stats.summary;
      const bytes = stats ? `, ${(stats.totalBytesProcessed / 1e6).toFixed(1)} MB scanned` : "";
      status(`${state.entries.length} lines in ${Math.round(performance.now() - t0)} ms${bytes}`);
    }
  } catch (e) {
    status(e.message, true);
  }
}

// ---- live: poll for lines newer than the newest shown ----

async function poll() {
  if (!state.live) return;
  const end = (BigInt(Date.now()) * 1000000n).toString();
  const start = state.lastTs ? (BigInt(state.lastTs) + 1n).toString() : rangeParams("5m", Date.now()).start;
  try {
    const r = await api("loki/api/v1/query_range", { query: state.query, start, end, limit: 1000, direction: "forward" });
    const fresh = streamsToEntries(r.data.result, "forward");
    if (fresh.length) {
      state.lastTs = fresh[fresh.length - 1].ts;
      state.entries = state.direction === "forward" ? state.entries.concat(fresh).slice(-MAX_LIVE)
        : fresh.reverse().concat(state.entries).slice(0, MAX_LIVE);
      renderFields();
      renderLogs();
    }
    status(`live: ${state.entries.length} lines, last poll ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    status(e.message, true);
  }
  if (state.live) state.live = setTimeout(poll, 2000);
}

function stopLive() {
  if (state.live) clearTimeout(state.live);
  state.live = null;
  $("live").setAttribute("aria-pressed", "false");
}

function toggleLive() {
  if (state.live) return stopLive();
  readForm();
  if (!state.query || isMetricQuery(state.query)) {
    status("live mode follows a log query", true);
    return;
  }
  $("live").setAttribute("aria-pressed", "true");
  state.live = setTimeout(poll, 0);
}

// ---- wiring ----

function init() {
  $("query").value = state.query;
  $("range").value = state.range;
  $("limit").value = String(state.limit);
  $("direction").value = state.direction;
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
    loadLabels();
    run();
  });
  $("live").addEventListener("click", toggleLive);
  $("fieldfilter").addEventListener("input", renderFields);
  window.addEventListener("hashchange", () => {
    Object.assign(state, decodeState(location.hash));
    $("query").value = state.query;
    run();
  });
  loadLabels();
  renderFields();
  if (state.query) run();
  else status("write a LogQL query, or pick a label on the left");
}

init();
