// incident.test.mjs -- the pure functions behind the incident-console features: time
// expressions, `| json` label names and click-to-filter, top values, sorting, levels,
// paging, parse error positions, autocomplete context and the Events view's grouping.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addFieldFilter, dedupeKey, extractedLabels, jsonLabelName, levelOf, offsetOf, olderPageEnd,
  parseErrorPos, parseTime, resolveRange, sortEntries, timeTicks, topValues, truncate, formatMs,
  volumeQuery, volumeStacks, jsonPathExpr,
} from "../../src/ui/assets/logic.mjs";
import { eventsOf, groupByObject, filterEvents, podLogsQuery, age } from "../../src/ui/assets/events.mjs";

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

test("parseTime: RFC3339, unix ms, relative", () => {
  assert.equal(parseTime("2026-12-07T02:00:00Z", NOW), Date.UTC(2026, 11, 7, 2));
  assert.equal(parseTime("2026-12-07T02:00:00.5+01:00", NOW), Date.UTC(2026, 11, 7, 1, 0, 0, 500));
  assert.equal(parseTime("1765072800000", NOW), 1765072800000);
  assert.equal(parseTime("now", NOW), NOW);
  assert.equal(parseTime("now-1h", NOW), NOW - 3600e3);
  assert.equal(parseTime("now-30m", NOW), NOW - 1800e3);
  assert.equal(parseTime("now-7d", NOW), NOW - 7 * 86400e3);
  assert.ok(Number.isNaN(parseTime("yesterday", NOW)));
  assert.ok(Number.isNaN(parseTime("now-1y", NOW)));
});

test("resolveRange gives ns strings, and the last hour with a reason when unreadable", () => {
  const r = resolveRange("2026-12-07T02:00:00Z", "2026-12-07T03:00:00Z", NOW);
  assert.equal(r.start, String(Date.UTC(2026, 11, 7, 2)) + "000000");
  assert.equal(r.end, String(Date.UTC(2026, 11, 7, 3)) + "000000");
  assert.equal(r.error, "");
  const bad = resolveRange("now", "now-1h", NOW);
  assert.equal(bad.error, "from is not before to");
  assert.equal(bad.endMs - bad.startMs, 3600e3);
});

test("jsonLabelName: the names | json gives", () => {
  assert.equal(jsonLabelName("event.reason"), "event_reason");
  assert.equal(jsonLabelName("event.involvedObject.kind"), "event_involvedObject_kind");
  assert.equal(jsonLabelName("http-status"), "http_status");
  assert.equal(jsonLabelName("1st"), "_1st");
  assert.equal(jsonLabelName("a.1st"), "a_1st");
  assert.equal(jsonLabelName("tags.0"), null); // arrays: | json skips them
});

test("addFieldFilter adds the parser once and a label filter", () => {
  assert.equal(addFieldFilter('{job="events"}', "event.reason", "BackOff"), '{job="events"} | json | event_reason="BackOff"');
  assert.equal(addFieldFilter('{job="events"} | json', "event.type", "Warning", "!="), '{job="events"} | json | event_type!="Warning"');
  assert.equal(addFieldFilter('{a="b"} |= "| json"', "x", 'q"t'), '{a="b"} |= "| json" | json | x="q\\"t"');
  assert.equal(addFieldFilter('{a="b"}', "level", "info", "=", "logfmt"), '{a="b"} | logfmt | level="info"');
  assert.equal(addFieldFilter('{a="b"}', "env", "prod", "=", "label"), '{a="b", env="prod"}');
  assert.equal(addFieldFilter('{a="b"} # note', "x", "1"), '{a="b"} # note\n| json | x="1"');
  // through an array: an expression, which the server parses (checked in ui_test.py)
  assert.equal(addFieldFilter('{a="b"} | json', "k.l.0.m", "1"), '{a="b"} | json | json k_l_0_m="k.l[0].m" | k_l_0_m="1"');
  assert.equal(addFieldFilter('{a="b"}', "tags.0", "x", "!="), '{a="b"} | json tags_0="tags[0]" | tags_0!="x"');
  assert.equal(jsonPathExpr("a-b.0.c d"), '["a-b"][0]["c d"]');
});

const E = (fields, labels = {}, kind = "json", ts = "1") => ({ ts, labels, fields, kind, line: JSON.stringify(fields) });

test("extractedLabels: labels | json added, listed once", () => {
  const e = E({ "event.reason": "BackOff", level: "warn" }, { job: "x", event_reason: "BackOff", level: "warn" });
  assert.deepEqual([...extractedLabels(e)].sort(), ["event_reason", "level"]);
});

test("topValues counts and ranks", () => {
  const es = [E({ a: "x" }), E({ a: "y" }), E({ a: "x" }), E({ b: "z" })];
  assert.deepEqual(topValues(es, "a"), [{ value: "x", count: 2 }, { value: "y", count: 1 }]);
  assert.equal(topValues(es, "a", 1).length, 1);
});

test("sortEntries: numbers as numbers, missing last, stable", () => {
  const es = [E({ n: "10" }, {}, "json", "3"), E({ n: "9" }, {}, "json", "2"), E({}, {}, "json", "4"), E({ n: "9" }, {}, "json", "1")];
  assert.deepEqual(sortEntries(es, "n", 1).map((e) => e.ts), ["2", "1", "3", "4"]);
  assert.deepEqual(sortEntries(es, "n", -1).map((e) => e.ts), ["3", "2", "1", "4"]);
  assert.deepEqual(sortEntries(es, "", 1).map((e) => e.ts), ["1", "2", "3", "4"]);
});

test("levelOf reads level, severity and event types", () => {
  assert.equal(levelOf(E({ level: "ERROR" })), "error");
  assert.equal(levelOf(E({ severity: "warning" })), "warn");
  assert.equal(levelOf(E({ "event.type": "Warning" })), "warn");
  assert.equal(levelOf(E({ msg: "x" }, { level: "debug" })), "debug");
  assert.equal(levelOf(E({ msg: "x" })), "");
});

test("truncate, parse error positions, offsets", () => {
  assert.equal(truncate("a".repeat(300), 10), "aaaaaaaaa…");
  assert.equal(truncate("a\n  b"), "a b");
  assert.deepEqual(parseErrorPos("400: parse error at line 2, col 7: unexpected"), { line: 2, col: 7 });
  assert.equal(parseErrorPos("500: boom"), null);
  assert.equal(offsetOf("ab\ncdef", 2, 3), 5);
});

test("paging: the next end is the oldest line + 1 ns; duplicates are recognised", () => {
  const es = [{ ts: "1700000000000000005" }, { ts: "1700000000000000003" }];
  assert.equal(olderPageEnd(es), "1700000000000000004");
  assert.equal(olderPageEnd([]), null);
  const a = { ts: "1", labels: { x: "1" }, line: "l" };
  assert.equal(dedupeKey(a), dedupeKey({ ...a }));
  assert.notEqual(dedupeKey(a), dedupeKey({ ...a, line: "m" }));
});

test("timeTicks and formatMs", () => {
  const { step, ticks } = timeTicks(NOW - 3600e3, NOW, 6);
  assert.equal(step, 600e3);
  assert.equal(ticks.length, 7);
  assert.equal(formatMs(Date.UTC(2026, 0, 2, 3, 4, 5, 6), true, true), "2026-01-02 03:04:05.006Z");
});

const ev = (uid, reason, kind, name, first, last, count = 1, type = "Normal", verb = "ADDED") => ({
  ts: String(last) + "000000", labels: { job: "events", namespace: "web", kind, reason, type },
  line: JSON.stringify({ verb, event: { metadata: { uid, namespace: "web" }, involvedObject: { kind, name, namespace: "web" },
    reason, type, message: reason + " msg", count, firstTimestamp: new Date(first).toISOString(), lastTimestamp: new Date(last).toISOString() } }),
});

test("events: one row per uid (newest version), grouped by object, filtered", () => {
  const t = NOW - 600e3;
  const entries = [
    ev("u1", "Scheduled", "Pod", "api-1", t, t),
    ev("u2", "Pulling", "Pod", "api-1", t + 1e3, t + 1e3),
    ev("u3", "BackOff", "Pod", "api-1", t + 5e3, t + 60e3, 1, "Warning"),
    ev("u3", "BackOff", "Pod", "api-1", t + 5e3, t + 120e3, 4, "Warning", "UPDATED"),
    ev("u4", "ScalingReplicaSet", "Deployment", "api", t, t),
    { ts: "1", labels: {}, line: "not an event" },
  ];
  const rows = eventsOf(entries);
  assert.equal(rows.length, 4);
  assert.equal(rows.find((r) => r.uid === "u3").count, 4);
  const groups = groupByObject(rows);
  assert.deepEqual(groups.map((g) => g.key), ["web/Pod/api-1", "web/Deployment/api"]);
  assert.deepEqual(groups[0].events.map((e) => e.reason), ["Scheduled", "Pulling", "BackOff"]);
  assert.equal(groups[0].warnings, 1);
  assert.deepEqual(filterEvents(rows, { type: "Warning" }).map((r) => r.uid), ["u3"]);
  assert.equal(podLogsQuery(groups[0]), '{namespace="web", pod="api-1"}');
  assert.equal(age(NOW - 90e3, NOW), "90s");
  assert.equal(age(NOW - 3 * 3600e3, NOW), "3h");
});

test("volume stacked by level: one bar per step, parts error first", () => {
  assert.equal(volumeQuery('{a="b"} | json', 60, "level"), 'sum by (level) (count_over_time(\n{a="b"} | json\n[60s]))');
  const data = { resultType: "matrix", result: [
    { metric: { level: "info" }, values: [[120, "3"], [180, "1"]] },
    { metric: { level: "error" }, values: [[120, "2"]] },
    { metric: {}, values: [[60, "5"]] },
  ] };
  const bars = volumeStacks(data, 60, 180, 60, "level");
  assert.deepEqual(bars.map((b) => b.v), [5, 5, 1]);
  assert.deepEqual(bars[1].parts.map((p) => p.name), ["error", "info"]);
  assert.equal(bars[0].parts[0].level, "");
});
