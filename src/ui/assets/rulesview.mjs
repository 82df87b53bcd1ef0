// rulesview.mjs -- the Rules page (the tenant's groups and rules from
// /prometheus/api/v1/rules: type, state, health, last evaluation and error, active
// alerts with labels and value) and the "Alert from this query" form under a metric
// chart (a rule-file snippet to copy, and a button that POSTs the group to
// /loki/api/v1/rules/{namespace}, showing the server's answer).
import { el } from "./dom.mjs";
import { formatMs } from "./logic.mjs";
import { alertDefaults, alertFileYaml, alertGroupYaml, evalTime, ruleRows, validateAlert } from "./rules.mjs";

function labelChips(labels) {
  return el("span", { class: "chips" }, ...Object.entries(labels).map(([k, v]) => el("code", { class: "chip" }, `${k}="${v}"`)));
}

// get(path) resolves to {status, text}. Returns a status message.
export async function showRules(box, get, utc) {
  box.replaceChildren();
  const r = await get("prometheus/api/v1/rules");
  if (r.status === 404) {
    box.append(el("div", { class: "empty", id: "rules-off" },
      "The ruler is off on this server: set ruler.storage.local.directory in cairn's configuration (docs/RULER.md)."));
    return "ruler off";
  }
  if (r.status !== 200) throw new Error(`${r.status}: ${r.text.trim()}`);
  const rows = ruleRows(JSON.parse(r.text).data.groups);
  if (!rows.length) {
    box.append(el("div", { class: "empty" }, "No rule groups for this tenant. Write one with \"Alert from this query\" under a metric query, or put files in the rules directory."));
    return "0 rules";
  }
  const fmt = (ms) => formatMs(ms, utc);
  let group = null, tbody = null, firing = 0;
  for (const row of rows) {
    if (row.group + "\0" + row.file !== group) {
      group = row.group + "\0" + row.file;
      tbody = el("tbody");
      box.append(el("section", { class: "rulegroup", "aria-label": `group ${row.group}` },
        el("h3", {}, row.group, el("span", { class: "hint" }, ` namespace ${row.file}, every ${row.interval}s`)),
        el("table", { class: "rules" },
          el("thead", {}, el("tr", {}, ...["Rule", "Type", "State", "Health", "Last evaluation", "Last error", "Alerts"].map((h) => el("th", { scope: "col" }, h)))),
          tbody)));
    }
    const alerts = el("div", { class: "alerts" });
    for (const a of row.alerts) {
      if (a.state === "firing") firing++;
      alerts.append(el("div", { class: "alert " + a.state }, el("span", { class: "state" }, a.state), " ",
        labelChips(a.labels), " ", el("span", { class: "value", title: "value" }, `= ${a.value}`),
        el("span", { class: "hint" }, ` since ${evalTime(a.activeAt, fmt)}`)));
    }
    tbody.append(el("tr", { class: `rule ${row.type} ${row.state} health-${row.health}`, "data-rule": row.name },
      el("td", {}, el("div", { class: "rulename" }, row.name), el("code", { class: "expr" }, row.query)),
      el("td", {}, row.type),
      el("td", { class: "state" }, row.state),
      el("td", { class: "health" }, row.health),
      el("td", {}, evalTime(row.lastEvaluation, fmt)),
      el("td", { class: "lasterror" }, row.lastError),
      el("td", {}, row.alerts.length ? alerts : "")));
  }
  return `${rows.length} rules, ${firing} alerts firing`;
}

// The form under a metric chart. post(path, body) resolves to {status, text}.
export function alertForm(box, query, post) {
  const d = alertDefaults(query);
  const input = (id, label, value, attrs = {}) => {
    const i = el("input", { id, value, autocomplete: "off", spellcheck: "false", ...attrs });
    return [el("label", { for: id }, label), i];
  };
  const op = el("select", { id: "al-op", "aria-label": "comparison" }, ...[">", ">=", "<", "<=", "==", "!="].map((o) => el("option", { value: o }, o)));
  const fields = [
    ...input("al-name", "Alert name", d.name),
    el("label", { for: "al-op" }, "Fires when the query is"), el("span", {}, op, el("input", { id: "al-threshold", value: d.threshold, size: 8, "aria-label": "threshold" })),
    ...input("al-for", "For", d.for, { size: 6 }),
    ...input("al-severity", "severity label", d.labels.severity),
    ...input("al-summary", "summary annotation", d.annotations.summary),
    ...input("al-namespace", "Namespace", d.namespace),
    ...input("al-group", "Group", d.group),
  ];
  const yaml = el("textarea", { id: "al-yaml", rows: 12, readonly: true, spellcheck: "false", "aria-label": "rule file snippet" });
  const problems = el("div", { id: "al-problems", class: "qerror", role: "alert", hidden: true });
  const answer = el("div", { id: "al-answer", role: "status" });
  const copy = el("button", { type: "button", id: "al-copy", class: "ghost" }, "Copy");
  const save = el("button", { type: "button", id: "al-save" }, "Save to the ruler");
  const form = () => ({
    name: box.querySelector("#al-name").value.trim(), query, op: op.value,
    threshold: box.querySelector("#al-threshold").value.trim(), for: box.querySelector("#al-for").value.trim(),
    namespace: box.querySelector("#al-namespace").value.trim(), group: box.querySelector("#al-group").value.trim(),
    labels: { severity: box.querySelector("#al-severity").value.trim() },
    annotations: { summary: box.querySelector("#al-summary").value },
  });
  const update = () => {
    const f = form(), errs = validateAlert(f);
    problems.hidden = !errs.length;
    problems.textContent = errs.join("; ");
    save.disabled = errs.length > 0;
    yaml.value = errs.length ? "" : alertFileYaml(f);
  };
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(yaml.value);
      answer.textContent = "copied";
    } catch {
      yaml.select(); // no clipboard (plain http): selected for Ctrl+C
      answer.textContent = "selected: press Ctrl+C";
    }
  });
  save.addEventListener("click", async () => {
    const f = form();
    if (validateAlert(f).length) return;
    answer.textContent = "saving…";
    try {
      const r = await post(`loki/api/v1/rules/${encodeURIComponent(f.namespace)}`, alertGroupYaml(f));
      answer.className = r.status >= 200 && r.status < 300 ? "ok" : "error";
      answer.textContent = `${r.status}: ${r.text.trim() || "(empty)"}`;
    } catch (e) {
      answer.className = "error";
      answer.textContent = e.message;
    }
  });
  const panel = el("section", { id: "alertform", class: "alertform", "aria-label": "alert from this query" },
    el("div", { class: "grid" }, ...fields), problems, yaml, el("div", {}, copy, " ", save, " ", answer));
  panel.addEventListener("input", update);
  panel.addEventListener("change", update);
  box.replaceChildren(panel);
  update();
}
