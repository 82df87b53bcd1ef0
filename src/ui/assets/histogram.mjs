// histogram.mjs -- the volume bars above the lines: a time axis, hover counts, a click
// on a bar zooms to it, a drag selects a range to zoom to.
import { el, svg } from "./dom.mjs";
import { formatMs, timeTicks } from "./logic.mjs";

const W = 1000, H = 80, AX = 16; // viewBox width, height, axis band

// bars: [{t (s), v}] one per step of stepSecs; onZoom(fromMs, toMs).
export function drawHistogram(box, bars, stepSecs, startMs, endMs, utc, onZoom, note) {
  box.replaceChildren();
  const max = Math.max(1, ...bars.map((b) => b.v));
  const total = bars.reduce((a, b) => a + b.v, 0);
  const span = Math.max(1, endMs - startMs);
  const x = (ms) => ((ms - startMs) / span) * W;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img",
    "aria-label": `${total} matching lines from ${formatMs(startMs, utc)} to ${formatMs(endMs, utc)}` });
  const ph = H - AX;
  for (const b of bars) {
    if (!b.v) continue;
    const t0 = b.t * 1000 - stepSecs * 1000, t1 = b.t * 1000; // a point counts the step before it
    const x0 = Math.max(0, x(t0)), x1 = Math.min(W, x(t1));
    const parts = b.parts && b.parts.length ? b.parts : [{ name: "", v: b.v, level: "" }];
    let y = ph;
    for (const p of parts) {
      const h = Math.max(1, (p.v / max) * (ph - 2));
      y -= h;
      const r = svg("rect", { class: "bar" + (p.level ? " lvl-" + p.level : ""), x: x0.toFixed(2), y: y.toFixed(2),
        width: Math.max(0.8, x1 - x0 - 0.5).toFixed(2), height: h.toFixed(2), "data-from": t0, "data-to": t1 });
      const what = parts.length > 1 || p.name ? ` (${p.name || "none"}: ${p.v} of ${b.v})` : "";
      r.append(svg("title", {}, `${formatMs(t0, utc)} – ${formatMs(t1, utc)}: ${b.v} lines${what}, click to zoom`));
      root.append(r);
    }
  }
  const { ticks, step } = timeTicks(startMs, endMs, 7);
  for (const t of ticks) {
    const tx = x(t);
    root.append(svg("line", { class: "tick", x1: tx, x2: tx, y1: ph, y2: ph + 3 }));
    const label = formatMs(t, utc).slice(step >= 86400e3 ? 0 : 11, step >= 86400e3 ? 10 : step < 60e3 ? 19 : 16);
    root.append(svg("text", { class: "axis", x: tx, y: H - 2, "text-anchor": tx < 40 ? "start" : tx > W - 40 ? "end" : "middle" }, label));
  }
  root.append(svg("line", { class: "baseline", x1: 0, x2: W, y1: ph, y2: ph }));
  const sel = svg("rect", { class: "selection", x: 0, y: 0, width: 0, height: ph, visibility: "hidden" });
  root.append(sel);
  // drag to zoom; a click without a drag on a bar zooms to that bar
  let down = null;
  const toMs = (ev) => {
    const r = root.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (ev.clientX - r.left) / Math.max(1, r.width)));
    return startMs + f * span;
  };
  root.addEventListener("pointerdown", (ev) => {
    down = { ms: toMs(ev), px: ev.clientX, target: ev.target };
    root.setPointerCapture(ev.pointerId);
  });
  root.addEventListener("pointermove", (ev) => {
    if (!down) return;
    const a = Math.min(down.ms, toMs(ev)), b = Math.max(down.ms, toMs(ev));
    sel.setAttribute("x", x(a));
    sel.setAttribute("width", Math.max(0, x(b) - x(a)));
    sel.setAttribute("visibility", "visible");
  });
  root.addEventListener("pointerup", (ev) => {
    if (!down) return;
    const d = down;
    down = null;
    sel.setAttribute("visibility", "hidden");
    if (Math.abs(ev.clientX - d.px) >= 4) {
      const a = Math.min(d.ms, toMs(ev)), b = Math.max(d.ms, toMs(ev));
      if (b - a >= 1) onZoom(Math.floor(a), Math.ceil(b));
    } else if (d.target.classList && d.target.classList.contains("bar")) {
      onZoom(Number(d.target.dataset.from), Number(d.target.dataset.to));
    }
  });
  box.append(el("div", { class: "volume-total" }, `${total} matching lines in the range`, note ? ` · ${note}` : "",
    el("span", { class: "hint" }, " · drag to zoom, click a bar")), root);
}
