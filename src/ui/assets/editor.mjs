// editor.mjs -- the query box: history kept in localStorage, autocomplete of label
// names and values from the API, and the server's parse error marked at its line and
// column.
import { $, el } from "./dom.mjs";
import { offsetOf, parseErrorPos } from "./logic.mjs";

const HISTORY_KEY = "cairn.history";
const HISTORY_MAX = 50;

export function history() {
  try {
    const h = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
    return Array.isArray(h) ? h.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

export function remember(q) {
  if (!q) return;
  const h = [q, ...history().filter((x) => x !== q)].slice(0, HISTORY_MAX);
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(h));
  } catch {
    // storage full or disabled: history is a convenience
  }
}

export function fillHistory(select) {
  select.replaceChildren(el("option", { value: "" }, "History…"));
  for (const q of history()) select.append(el("option", { value: q }, q.length > 90 ? q.slice(0, 89) + "…" : q));
}

// What to complete at the cursor: {kind: "name", prefix} inside a selector, {kind:
// "value", name, prefix} after name="; null elsewhere.
export function completionContext(text, pos) {
  const before = text.slice(0, pos);
  const open = before.lastIndexOf("{"), close = before.lastIndexOf("}");
  if (open < 0 || close > open) return null;
  const inner = before.slice(open + 1);
  const v = /([A-Za-z_][A-Za-z0-9_]*)\s*(=|!=|=~|!~)\s*"((?:[^"\\]|\\.)*)$/.exec(inner);
  if (v) return { kind: "value", name: v[1], prefix: v[3] };
  if (/"(?:[^"\\]|\\.)*$/.test(inner.replace(/"(?:[^"\\]|\\.)*"/g, ""))) return null;
  const n = /(?:^|,)\s*([A-Za-z_][A-Za-z0-9_]*)?$/.exec(inner);
  if (n) return { kind: "name", prefix: n[1] || "" };
  return null;
}

// Wire autocomplete on the textarea: fetchNames() and fetchValues(name) give arrays.
export function autocomplete(ta, list, fetchNames, fetchValues) {
  let items = [], active = -1, ctx = null, seq = 0;
  const hide = () => {
    list.hidden = true;
    items = [];
    active = -1;
    ta.setAttribute("aria-expanded", "false");
    ta.removeAttribute("aria-activedescendant");
  };
  const show = () => {
    list.replaceChildren();
    items.forEach((it, i) => {
      const o = el("li", { role: "option", id: "ac-" + i, "aria-selected": i === active ? "true" : "false", class: i === active ? "active" : "" }, it);
      o.addEventListener("mousedown", (ev) => {
        ev.preventDefault();
        accept(i);
      });
      list.append(o);
    });
    list.hidden = !items.length;
    ta.setAttribute("aria-expanded", items.length ? "true" : "false");
    if (active >= 0) ta.setAttribute("aria-activedescendant", "ac-" + active);
  };
  const accept = (i) => {
    const pos = ta.selectionStart;
    const it = items[i];
    const cut = ctx.prefix.length;
    const insert = ctx.kind === "value" ? it.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"' : it + "=";
    ta.value = ta.value.slice(0, pos - cut) + insert + ta.value.slice(pos).replace(/^"/, "");
    const np = pos - cut + insert.length + (ctx.kind === "name" ? 0 : 0);
    ta.setSelectionRange(np, np);
    hide();
    ta.focus();
  };
  ta.setAttribute("role", "combobox");
  ta.setAttribute("aria-autocomplete", "list");
  ta.setAttribute("aria-controls", list.id);
  ta.addEventListener("input", async () => {
    const my = ++seq;
    ctx = completionContext(ta.value, ta.selectionStart);
    if (!ctx) return hide();
    let all;
    try {
      all = ctx.kind === "name" ? await fetchNames() : await fetchValues(ctx.name);
    } catch {
      return hide();
    }
    if (my !== seq) return;
    const p = ctx.prefix.toLowerCase();
    items = all.filter((x) => x.toLowerCase().startsWith(p) && x !== ctx.prefix).slice(0, 12);
    active = items.length ? 0 : -1;
    show();
  });
  ta.addEventListener("keydown", (ev) => {
    if (list.hidden || !items.length) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      active = (active + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      show();
    } else if ((ev.key === "Enter" && !ev.ctrlKey && !ev.metaKey) || ev.key === "Tab") {
      ev.preventDefault();
      accept(Math.max(0, active));
    } else if (ev.key === "Escape") hide();
  });
  ta.addEventListener("blur", () => setTimeout(hide, 100));
}

// Mark (or clear, with msg "") the parse error the server reported.
export function markError(ta, box, msg) {
  const pos = parseErrorPos(msg);
  if (!pos) {
    ta.removeAttribute("aria-invalid");
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  ta.setAttribute("aria-invalid", "true");
  const line = ta.value.split("\n")[pos.line - 1] || "";
  box.hidden = false;
  box.replaceChildren(
    el("div", { class: "where" }, `line ${pos.line}, col ${pos.col}`),
    el("pre", {}, line + "\n" + " ".repeat(Math.max(0, pos.col - 1)) + "^"),
  );
  const off = offsetOf(ta.value, pos.line, pos.col);
  ta.setSelectionRange(off, Math.min(ta.value.length, off + 1));
}

export { $ };
