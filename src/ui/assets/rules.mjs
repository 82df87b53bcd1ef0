// rules.mjs -- the ruler in the UI, pure functions: an alerting rule made from a metric
// query (the rule-file snippet to copy and the group body Loki's rules API takes), and
// the Rules page's rows from /prometheus/api/v1/rules. No DOM here (node tests it).

const OPS = [">", ">=", "<", "<=", "==", "!="];
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

// A YAML scalar: always double-quoted, JSON's escapes being YAML's.
export function yamlString(s) {
  return JSON.stringify(String(s));
}

// The query with a threshold: `q > 5`. A query already ending in a comparison keeps it
// (its threshold replaced); `or`/`and`/`unless` at the top get parentheses so the
// comparison applies to the whole.
export function withThreshold(query, op, threshold) {
  let q = String(query).trim();
  const cmp = q.match(/^(.*?)\s*(>=|<=|==|!=|>|<)\s*(bool\s+)?-?[\d.eE+]+\s*$/s);
  if (cmp && !/[{}\[\]()"]/.test(q.slice(cmp[1].length))) q = cmp[1].trim();
  let depth = 0, top = false;
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (c === '"' || c === "`") { // skip a string
      for (i++; i < q.length && q[i] !== c; i++) if (c === '"' && q[i] === "\\") i++;
      continue;
    }
    if ("({[".includes(c)) depth++;
    else if (")}]".includes(c)) depth--;
    else if (depth === 0 && /\s/.test(c) && /^\s(or|and|unless)\s/.test(q.slice(i, i + 9))) top = true;
  }
  return `${top ? `(${q})` : q} ${op} ${threshold}`;
}

// The form's values checked: a list of problems (empty when the rule can be written).
export function validateAlert(f) {
  const errs = [];
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(f.name || "")) errs.push("alert name: letters, digits and _ (not first a digit)");
  if (!OPS.includes(f.op)) errs.push("comparison: one of " + OPS.join(" "));
  if (f.threshold === "" || f.threshold === undefined || !Number.isFinite(Number(f.threshold))) errs.push("threshold: a number");
  if (f.for && !DURATION.test(f.for) && f.for !== "0") errs.push("for: a duration like 5m or 1h30m");
  if (!f.namespace || /[/]/.test(f.namespace) || f.namespace === "." || f.namespace === "..") errs.push("namespace: a name without /");
  if (!f.group || !String(f.group).trim()) errs.push("group: a name");
  for (const k of Object.keys(f.labels || {})) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) errs.push(`label name ${k}: letters, digits and _`);
  return errs;
}

function mapLines(m, indent) {
  const keys = Object.keys(m || {}).filter((k) => m[k] !== "" && m[k] !== undefined);
  if (!keys.length) return [];
  return keys.map((k) => `${indent}${k}: ${yamlString(m[k])}`);
}

// The rule's lines (under `rules:`), at the given indent.
function ruleLines(f, ind) {
  const lines = [`${ind}- alert: ${f.name}`, `${ind}  expr: ${yamlString(withThreshold(f.query, f.op, f.threshold))}`];
  if (f.for && f.for !== "0") lines.push(`${ind}  for: ${f.for}`);
  const labels = mapLines(f.labels, ind + "    ");
  if (labels.length) lines.push(`${ind}  labels:`, ...labels);
  const ann = mapLines(f.annotations, ind + "    ");
  if (ann.length) lines.push(`${ind}  annotations:`, ...ann);
  return lines;
}

// The rule group Loki's POST /loki/api/v1/rules/{namespace} takes.
export function alertGroupYaml(f) {
  return [`name: ${yamlString(f.group)}`, "rules:", ...ruleLines(f, "  ")].join("\n") + "\n";
}

// The same as a rule file (<rules dir>/<tenant>/<namespace>.yaml).
export function alertFileYaml(f) {
  return ["groups:", `  - name: ${yamlString(f.group)}`, "    rules:", ...ruleLines(f, "      ")].join("\n") + "\n";
}

// Defaults for the form from a query: a name from the first quoted selector value.
export function alertDefaults(query) {
  const m = String(query).match(/\{[^}]*?(\w+)\s*=~?\s*"([^"]*)"/);
  const word = m ? m[2].replace(/[^A-Za-z0-9]+/g, " ").trim().split(" ").filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join("") : "";
  const name = /^[A-Za-z_]/.test(word) ? word + "High" : "QueryAboveThreshold";
  return {
    name, query: String(query).trim(), op: ">", threshold: "0", for: "5m", namespace: "ui", group: "ui-alerts",
    labels: { severity: "warning" },
    annotations: { summary: `${name}: {{ $value }}` },
  };
}

// The Rules page's rows: one per rule, with its group, and its non-resolved alerts.
export function ruleRows(groups) {
  const rows = [];
  for (const g of groups || []) {
    for (const r of g.rules || []) {
      rows.push({
        group: g.name, file: g.file, interval: g.interval, name: r.name, type: r.type,
        state: r.type === "alerting" ? r.state || "inactive" : "", health: r.health || "unknown",
        query: r.query, lastEvaluation: r.lastEvaluation || "", lastError: r.lastError || "",
        alerts: (r.alerts || []).map((a) => ({ labels: a.labels || {}, state: a.state, value: a.value, activeAt: a.activeAt || "" })),
      });
    }
  }
  return rows;
}

// An RFC3339 time from the API as "never" when the ruler has not evaluated yet.
export function evalTime(t, fmt) {
  if (!t || /^0001-01-01/.test(t)) return "never";
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? fmt(ms) : t;
}
