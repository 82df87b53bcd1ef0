// eventsview.mjs -- Kubernetes events like `kubectl get events`, with the history the
// store keeps: grouped by involved object, each with a timeline of its events;
// filters for namespace, kind, reason and type; a click on an object opens its events
// and (for a pod) its logs side by side.
import { el, svg } from "./dom.mjs";
import { age, distinct, eventsOf, filterEvents, groupByObject, podLogsQuery } from "./events.mjs";
import { formatMs, streamsToEntries, truncate } from "./logic.mjs";

const FILTERS = ["namespace", "kind", "reason", "type"];

// A strip of the object's events over time: one mark per event at its first time, a
// line to its last, Warning marks red; reasons written under the marks.
function timeline(events, utc) {
  const t0 = Math.min(...events.map((e) => e.firstMs)), t1 = Math.max(...events.map((e) => e.lastMs));
  const W = 600, H = 30, span = Math.max(1, t1 - t0);
  const x = (t) => 8 + ((t - t0) / span) * (W - 16);
  const root = svg("svg", { class: "timeline", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": "timeline: " + events.map((e) => e.reason).join(" → ") });
  root.append(svg("line", { class: "tl-axis", x1: 4, x2: W - 4, y1: 10, y2: 10 }));
  let lastLabel = -1e9;
  for (const e of events) {
    const cls = e.type === "Warning" ? "tl-warn" : "tl-normal";
    if (e.lastMs > e.firstMs) root.append(svg("line", { class: cls, x1: x(e.firstMs), x2: x(e.lastMs), y1: 10, y2: 10, "stroke-width": 3 }));
    const c = svg("circle", { class: cls, cx: x(e.firstMs), cy: 10, r: 4 });
    c.append(svg("title", {}, `${formatMs(e.firstMs, utc)} ${e.type} ${e.reason} ×${e.count}: ${e.message}`));
    root.append(c);
    if (x(e.firstMs) - lastLabel > 60) {
      const tx = x(e.firstMs);
      root.append(svg("text", { class: "tl-label", x: tx, y: H - 2, "text-anchor": tx < 50 ? "start" : tx > W - 50 ? "end" : "middle" }, e.reason));
      lastLabel = x(e.firstMs);
    }
  }
  return root;
}

function eventRow(e, now, utc) {
  return el("tr", { class: "ev" + (e.type === "Warning" ? " lvl-warn" : "") },
    el("td", { title: formatMs(e.lastMs, utc) }, age(e.lastMs, now)),
    el("td", { class: "type" }, e.type),
    el("td", {}, e.reason),
    el("td", {}, `${e.kind.toLowerCase()}/${e.name}`),
    el("td", { class: "msg", title: e.message }, truncate(e.message, 160)),
    el("td", { class: "num" }, e.count),
    el("td", { title: formatMs(e.firstMs, utc) }, age(e.firstMs, now)));
}

// Show the events found in entries; returns how many. ctx: {utc, api, range}.
export function showEvents(box, entries, ctx) {
  const all = eventsOf(entries);
  const f = { namespace: "", kind: "", reason: "", type: "" };
  const bar = el("div", { class: "evfilters", role: "group", "aria-label": "filter events" });
  const body = el("div", { class: "evbody" });
  const side = el("div", { class: "evside", hidden: true });
  for (const k of FILTERS) {
    const s = el("select", { "aria-label": k, "data-filter": k }, el("option", { value: "" }, `all ${k === "kind" ? "kinds" : k === "type" ? "types" : k + (k.endsWith("s") ? "es" : "s")}`),
      ...distinct(all, k).map((v) => el("option", { value: v }, v)));
    s.addEventListener("change", () => {
      f[k] = s.value;
      draw();
    });
    bar.append(s);
  }
  function draw() {
    const now = Date.now();
    const groups = groupByObject(filterEvents(all, f));
    const tbody = el("tbody");
    for (const g of groups) {
      const open = el("button", { type: "button", class: "objlink", title: "this object's events and logs" }, `${g.kind}/${g.name}`);
      open.addEventListener("click", () => openObject(g));
      tbody.append(el("tr", { class: "group", "data-object": g.key },
        el("th", { colspan: "7", scope: "rowgroup" },
          el("div", { class: "ghead" }, open, el("span", { class: "hint" }, ` ${g.namespace} · ${g.events.length} events${g.warnings ? ` · ${g.warnings} warnings` : ""}`)),
          timeline(g.events, ctx.utc))));
      for (const e of [...g.events].reverse()) tbody.append(eventRow(e, now, ctx.utc));
    }
    const head = el("tr", {}, ...["Last seen", "Type", "Reason", "Object", "Message", "Count", "First seen"].map((h) => el("th", { scope: "col" }, h)));
    body.replaceChildren(groups.length
      ? el("table", { class: "events", "aria-label": "events by object" }, el("thead", {}, head), tbody)
      : el("div", { class: "empty" }, all.length ? "no events match the filters" : "no Kubernetes events in these lines (try {job=\"events\"})"));
  }
  async function openObject(g) {
    side.hidden = false;
    const logs = el("div", { class: "podlogs" }, el("div", { class: "empty" }, "loading…"));
    const q = podLogsQuery(g);
    side.replaceChildren(
      el("div", { class: "dhead" }, el("h2", {}, `${g.kind}/${g.name} `, el("span", { class: "hint" }, g.namespace)),
        el("button", { type: "button", class: "mini", "aria-label": "close", onclick: () => (side.hidden = true) }, "×")),
      el("div", { class: "split" },
        el("section", { class: "objevents", "aria-label": "the object's events" }, el("h3", {}, "Events"),
          el("ol", {}, ...g.events.map((e) => el("li", { class: e.type === "Warning" ? "lvl-warn" : "" },
            el("span", { class: "ts" }, formatMs(e.firstMs, ctx.utc)), " ", el("b", {}, e.reason), ` ×${e.count} `, e.message)))),
        el("section", { "aria-label": "the pod's logs" }, el("h3", {}, "Logs ", el("code", {}, q)), logs)));
    try {
      const r = await ctx.api("loki/api/v1/query_range", { query: q, start: ctx.range.start, end: ctx.range.end, limit: 500, direction: "backward" });
      const es = streamsToEntries(r.data.result, "backward");
      logs.replaceChildren(es.length ? el("table", { class: "logs" }, el("tbody", {}, ...es.map((e) => el("tr", {},
        el("td", { class: "ts" }, formatMs(Number(BigInt(e.ts) / 1000000n), ctx.utc, true)), el("td", { class: "line" }, truncate(e.line, 400))))))
        : el("div", { class: "empty" }, "no log lines for this object in the range"));
    } catch (e) {
      logs.replaceChildren(el("div", { class: "empty" }, e.message));
    }
  }
  box.replaceChildren(bar, el("div", { class: "evmain" }, body, side));
  draw();
  return all.length;
}
