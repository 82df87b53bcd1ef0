// table.mjs -- the log lines as a real table, windowed: only the rows in view (and a
// margin) are in the DOM, between two spacer rows, so tens of thousands of loaded
// lines scroll without slowing. Rows have one fixed height (cells are cut to one line;
// the full value is in the line details).
import { el } from "./dom.mjs";
import { fieldValue, formatMs, levelOf, truncate } from "./logic.mjs";

export const ROW_H = 22;
const MARGIN = 30;

// opts: {box, columns, sort: {key, dir}, utc, onSort(key), onCell(entry, key, value, td),
// onRow(entry, index)}; returns {setEntries(entries), refresh(), select(i)}.
export function logTable(opts) {
  const { box } = opts;
  let entries = [];
  let selected = -1;
  let drawn = [-1, -1];
  const head = el("tr", { role: "row" });
  const thead = el("thead", {}, head);
  const tbody = el("tbody");
  const table = el("table", { class: "logs", "aria-label": "log lines" }, thead, tbody);
  box.replaceChildren(table);

  function header() {
    head.replaceChildren();
    const th = (label, key) => {
      const s = opts.sort && opts.sort.dir && opts.sort.key === key ? (opts.sort.dir > 0 ? "ascending" : "descending") : "none";
      const b = el("button", { type: "button", class: "sort", title: `sort by ${label}` }, label, s === "none" ? "" : s === "ascending" ? " ▲" : " ▼");
      b.addEventListener("click", () => opts.onSort(key));
      return el("th", { scope: "col", "aria-sort": s }, b);
    };
    head.append(th("Time", ""));
    for (const c of opts.columns) head.append(th(c, c));
    if (!opts.columns.length) head.append(el("th", { scope: "col" }, "Line"));
  }

  function row(e, i) {
    const lvl = levelOf(e);
    const tr = el("tr", { class: "entry" + (lvl ? " lvl-" + lvl : "") + (i === selected ? " selected" : ""), "aria-rowindex": String(i + 2), "data-i": String(i) });
    tr.append(el("td", { class: "ts", title: e.ts }, formatMs(Number(BigInt(e.ts) / 1000000n), opts.utc, true)));
    for (const c of opts.columns) {
      const v = fieldValue(e, c);
      if (v === undefined) tr.append(el("td", { class: "field missing" }, "-"));
      else tr.append(el("td", { class: "field", "data-key": c, title: v.length > 200 ? "" : null }, truncate(v)));
    }
    if (!opts.columns.length) tr.append(el("td", { class: "line" }, truncate(e.line, 400)));
    return tr;
  }

  function draw(force = false) {
    const n = entries.length;
    const top = box.scrollTop;
    const view = box.clientHeight || 600;
    const a = Math.max(0, Math.floor(top / ROW_H) - MARGIN);
    const b = Math.min(n, Math.ceil((top + view) / ROW_H) + MARGIN);
    if (!force && a === drawn[0] && b === drawn[1]) return;
    drawn = [a, b];
    const span = opts.columns.length + 1 + (opts.columns.length ? 0 : 1);
    const frag = document.createDocumentFragment();
    if (!n) {
      tbody.replaceChildren(el("tr", { class: "spacer" }, el("td", { colspan: String(span), class: "empty" }, opts.emptyText || "no log lines")));
      table.setAttribute("aria-rowcount", "1");
      return;
    }
    frag.append(el("tr", { class: "spacer", "aria-hidden": "true" }, el("td", { colspan: String(span), style: `height:${a * ROW_H}px` })));
    for (let i = a; i < b; i++) frag.append(row(entries[i], i));
    frag.append(el("tr", { class: "spacer", "aria-hidden": "true" }, el("td", { colspan: String(span), style: `height:${(n - b) * ROW_H}px` })));
    tbody.replaceChildren(frag);
    table.setAttribute("aria-rowcount", String(n + 1));
  }

  let pending = false;
  box.onscroll = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  };
  tbody.addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr.entry");
    if (!tr) return;
    const i = Number(tr.dataset.i);
    const td = ev.target.closest("td.field");
    if (td && td.dataset.key) opts.onCell(entries[i], td.dataset.key, fieldValue(entries[i], td.dataset.key), td);
    else select(i);
  });
  box.tabIndex = 0;
  box.setAttribute("aria-label", "log lines: arrow keys move, Enter shows details");
  box.onkeydown = (ev) => {
    if (!entries.length) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      select(Math.max(0, Math.min(entries.length - 1, selected + (ev.key === "ArrowDown" ? 1 : -1))));
    } else if (ev.key === "Enter" && selected >= 0) opts.onRow(entries[selected], selected);
  };

  function select(i) {
    selected = i;
    const y = i * ROW_H;
    if (y < box.scrollTop + ROW_H) box.scrollTop = Math.max(0, y - ROW_H);
    else if (y > box.scrollTop + box.clientHeight - 2 * ROW_H) box.scrollTop = y - box.clientHeight + 2 * ROW_H;
    draw(true);
    opts.onRow(entries[i], i);
  }

  header();
  return {
    setEntries(list) {
      entries = list;
      if (selected >= list.length) selected = -1;
      header();
      draw(true);
    },
    refresh() {
      header();
      draw(true);
    },
    select,
    table,
  };
}
