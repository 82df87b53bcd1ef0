// rules.test.mjs -- the ruler's pure UI functions (src/ui/assets/rules.mjs): the
// threshold added to a query, the rule snippet and group YAML, validation, and the
// Rules page's rows from /prometheus/api/v1/rules.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  alertDefaults, alertFileYaml, alertGroupYaml, evalTime, ruleRows, validateAlert, withThreshold, yamlString,
} from "../../src/ui/assets/rules.mjs";

const Q = 'sum by (namespace) (count_over_time({job="events"} |= "BackOff" [10m]))';

test("withThreshold: appends, replaces an existing threshold, brackets or/and/unless", () => {
  assert.equal(withThreshold(Q, ">", "5"), Q + " > 5");
  assert.equal(withThreshold(Q + " > 3", ">=", "10"), Q + " >= 10");
  assert.equal(withThreshold(Q + " > bool 3", "<", "1"), Q + " < 1");
  assert.equal(withThreshold("sum(rate({a=\"b\"}[1m])) or vector(0)", ">", "2"), "(sum(rate({a=\"b\"}[1m])) or vector(0)) > 2");
  // "or" inside a string or brackets is not the query's
  assert.equal(withThreshold('count_over_time({a="x or y"} |= " or " [5m])', ">", "1"), 'count_over_time({a="x or y"} |= " or " [5m]) > 1');
  assert.equal(withThreshold('sum(count_over_time({a="b"}[5m]) or vector(0))', "<", "1"), 'sum(count_over_time({a="b"}[5m]) or vector(0)) < 1');
});

test("yamlString: JSON's escapes, valid YAML double-quoted scalars", () => {
  assert.equal(yamlString('a "b" \\ c\nd'), '"a \\"b\\" \\\\ c\\nd"');
  assert.equal(yamlString("{{ $value }}"), '"{{ $value }}"');
});

test("the rule file snippet and the group for Loki's rules API", () => {
  const f = { ...alertDefaults(Q), threshold: "5", for: "10m", labels: { severity: "page" },
    annotations: { summary: "{{ $labels.namespace }}: {{ humanize $value }} BackOffs" } };
  assert.equal(f.name, "EventsHigh");
  assert.deepEqual(validateAlert(f), []);
  const expr = JSON.stringify(Q + " > 5");
  assert.equal(alertGroupYaml(f), [
    'name: "ui-alerts"', "rules:", "  - alert: EventsHigh", `    expr: ${expr}`, "    for: 10m",
    "    labels:", '      severity: "page"', "    annotations:",
    '      summary: "{{ $labels.namespace }}: {{ humanize $value }} BackOffs"', ""].join("\n"));
  assert.equal(alertFileYaml(f), [
    "groups:", '  - name: "ui-alerts"', "    rules:", "      - alert: EventsHigh", `        expr: ${expr}`,
    "        for: 10m", "        labels:", '          severity: "page"', "        annotations:",
    '          summary: "{{ $labels.namespace }}: {{ humanize $value }} BackOffs"', ""].join("\n"));
  // no for, empty label and annotation left out
  const g = alertGroupYaml({ ...f, for: "", labels: { severity: "" }, annotations: { summary: "" } });
  assert.equal(g, ['name: "ui-alerts"', "rules:", "  - alert: EventsHigh", `    expr: ${expr}`, ""].join("\n"));
});

test("validateAlert names what is wrong", () => {
  const ok = { ...alertDefaults(Q), threshold: "1" };
  assert.deepEqual(validateAlert(ok), []);
  assert.match(validateAlert({ ...ok, name: "1bad" }).join(), /alert name/);
  assert.match(validateAlert({ ...ok, threshold: "five" }).join(), /threshold/);
  assert.match(validateAlert({ ...ok, threshold: "" }).join(), /threshold/);
  assert.match(validateAlert({ ...ok, for: "5 minutes" }).join(), /for:/);
  assert.deepEqual(validateAlert({ ...ok, for: "1h30m" }), []);
  assert.match(validateAlert({ ...ok, namespace: "a/b" }).join(), /namespace/);
  assert.match(validateAlert({ ...ok, op: "=~" }).join(), /comparison/);
  assert.match(validateAlert({ ...ok, labels: { "bad-name": "x" } }).join(), /label name/);
  assert.equal(alertDefaults("sum(rate({}[1m]))").name, "QueryAboveThreshold");
});

test("ruleRows: one row per rule with its group and alerts; never-evaluated times", () => {
  const groups = [{ name: "g", file: "ns", interval: 60, rules: [
    { name: "A", type: "alerting", state: "firing", health: "ok", query: "q > 1", lastEvaluation: "2026-12-07T20:00:00Z", lastError: "",
      alerts: [{ labels: { alertname: "A", ns: "x" }, state: "firing", value: "3", activeAt: "2026-12-07T19:59:00Z" }] },
    { name: "r:rec", type: "recording", health: "err", query: "q", lastError: "boom" },
  ] }];
  const rows = ruleRows(groups);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0].alerts, [{ labels: { alertname: "A", ns: "x" }, state: "firing", value: "3", activeAt: "2026-12-07T19:59:00Z" }]);
  assert.equal(rows[0].state, "firing");
  assert.equal(rows[1].state, "");
  assert.equal(rows[1].lastError, "boom");
  assert.equal(rows[1].group, "g");
  assert.equal(evalTime("0001-01-01T00:00:00Z", String), "never");
  assert.equal(evalTime("", String), "never");
  assert.equal(evalTime("2026-12-07T20:00:00Z", (ms) => ms), Date.parse("2026-12-07T20:00:00Z"));
  assert.deepEqual(ruleRows(undefined), []);
});
