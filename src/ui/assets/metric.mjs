// metric.mjs -- a metric query's answer as a line chart with a legend, and a table
// of each series' last value.
import { el } from "./dom.mjs";
import { formatMs, metricSeries } from "./logic.mjs";

const PALETTE = ["#2a6f97", "#c9302c", "#3b8b3b", "#d08c00", "#6a4c93", "#1b998b", "#e76f51", "#555b6e"];

export function renderMetric(box, data, utc) {
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
    t.setAttribute("class", "axis");
    t.setAttribute("text-anchor", anchor);
    t.textContent = s;
    svg.append(t);
  };
  text(2, sy(y1) + 4, String(+y1.toPrecision(4)));
  text(2, sy(y0), String(+y0.toPrecision(4)));
  text(P, H - 2, formatMs(x0 * 1000, utc));
  text(W - P, H - 2, formatMs(x1 * 1000, utc), "end");
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
