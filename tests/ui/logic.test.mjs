// logic.test.mjs -- the web UI's pure functions (src/ui/assets/logic.mjs), with
// node's own test runner: node --test tests/ui/
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addMatcher, cmpNs, collectFields, decodeState, encodeState, flatten, formatNs,
  isMetricQuery, metricSeries, parseLine, parseLogfmt, rangeParams, stepFor, streamsToEntries,
  volumeBars, volumeQuery, alignedStart, fieldValue,
} from "../../src/ui/assets/logic.mjs";

test("flatten: nested objects and arrays become dotted keys", () => {
  assert.deepEqual(flatten({ a: { b: 1, c: "x" }, d: [true, null], e: {}, f: [] }), {
    "a.b": "1", "a.c": "x", "d.0": "true", "d.1": "null", e: "{}", f: "[]",
  });
});

test("parseLine: JSON, logfmt, text", () => {
  assert.deepEqual(parseLine('{"level":"error","req":{"id":7}}'), { kind: "json", fields: { level: "error", "req.id": "7" } });
  assert.deepEqual(parseLine('  {"a":1}'), { kind: "json", fields: { a: "1" } });
  assert.equal(parseLine("{not json").kind, "text");
  assert.equal(parseLine('"a string"').kind, "text");
  assert.deepEqual(parseLine('level=info msg="hello \\"you\\"" dur=5ms'), {
    kind: "logfmt", fields: { level: "info", msg: 'hello "you"', dur: "5ms" },
  });
  assert.equal(parseLine("GET /index.html 200").kind, "text");
  assert.equal(parseLogfmt("only=one"), null);
});

test("cmpNs compares nanosecond strings beyond double precision", () => {
  assert.equal(cmpNs("1700000000000000001", "1700000000000000000"), 1);
  assert.equal(cmpNs("999", "1000"), -1);
  assert.equal(cmpNs("5", "5"), 0);
});

const result = [
  { stream: { app: "a" }, values: [["1700000000000000003", '{"level":"error","n":1}'], ["1700000000000000001", "plain"]] },
  { stream: { app: "b" }, values: [["1700000000000000002", '{"level":"info"}']] },
];

test("streamsToEntries merges streams in the asked direction", () => {
  const back = streamsToEntries(result);
  assert.deepEqual(back.map((e) => e.ts), ["1700000000000000003", "1700000000000000002", "1700000000000000001"]);
  assert.deepEqual(back[0].labels, { app: "a" });
  assert.equal(back[0].fields.level, "error");
  const fwd = streamsToEntries(result, "forward");
  assert.deepEqual(fwd.map((e) => e.line), ["plain", '{"level":"info"}', '{"level":"error","n":1}']);
  assert.deepEqual(streamsToEntries(undefined), []);
});

test("collectFields counts keys, most frequent first", () => {
  assert.deepEqual(collectFields(streamsToEntries(result)), [
    { key: "app", count: 3, label: true }, { key: "level", count: 2, label: false }, { key: "n", count: 1, label: false },
  ]);
  const e = { fields: { level: "x", app: "from the line" }, labels: { app: "a", env: "prod" } };
  assert.equal(fieldValue(e, "level"), "x");
  assert.equal(fieldValue(e, "app"), "from the line");
  assert.equal(fieldValue(e, "env"), "prod");
  assert.equal(fieldValue(e, "nope"), undefined);
  assert.equal(fieldValue(e, "constructor"), undefined);
});

test("formatNs", () => {
  assert.equal(formatNs("1700000000123456789"), "2023-11-14T22:13:20.123Z");
});

test("rangeParams and stepFor", () => {
  const r = rangeParams("1h", 1700000000000);
  assert.equal(r.end, "1700000000000000000");
  assert.equal(r.start, "1699996400000000000");
  assert.equal(rangeParams("bogus", 1700000000000).start, "1699996400000000000");
  assert.equal(stepFor(3600), 14);
  assert.equal(stepFor(10), 1);
});

test("isMetricQuery", () => {
  assert.equal(isMetricQuery('{app="a"} |= "x"'), false);
  assert.equal(isMetricQuery('  # a comment\n{app="a"}'), false);
  assert.equal(isMetricQuery('sum by (x) (rate({app="a"}[1m]))'), true);
  assert.equal(isMetricQuery("1 + 1"), true);
  assert.equal(isMetricQuery(""), false);
});

test("addMatcher adds, replaces, and starts a selector", () => {
  assert.equal(addMatcher('{app="a"} |= "x"', "env", "prod"), '{app="a", env="prod"} |= "x"');
  assert.equal(addMatcher('{app="a", env="dev"}', "env", "prod"), '{app="a", env="prod"}');
  assert.equal(addMatcher('{env=~"d.*", app="a"}', "env", "prod"), '{env="prod", app="a"}');
  assert.equal(addMatcher("", "app", 'we"ird'), '{app="we\\"ird"}');
  assert.equal(addMatcher('{msg="}"}', "app", "a"), '{msg="}", app="a"}');
  assert.equal(addMatcher('sum(rate({app="a"}[1m]))', "env", "x"), 'sum(rate({app="a", env="x"}[1m]))');
  assert.equal(addMatcher("{}", "app", "a"), '{app="a"}');
  assert.equal(addMatcher('{app="a"', "env", "x"), '{app="a"');
});

test("metricSeries reads matrix, vector and scalar", () => {
  assert.deepEqual(metricSeries({ resultType: "matrix", result: [{ metric: { b: "2", a: "1" }, values: [[10, "1.5"], [20, "2"]] }] }),
    [{ name: '{a="1", b="2"}', points: [[10, 1.5], [20, 2]] }]);
  assert.deepEqual(metricSeries({ resultType: "vector", result: [{ metric: {}, value: [10, "3"] }] }), [{ name: "{}", points: [[10, 3]] }]);
  assert.deepEqual(metricSeries({ resultType: "scalar", result: [10, "7"] }), [{ name: "scalar", points: [[10, 7]] }]);
  assert.deepEqual(metricSeries({ resultType: "streams", result: [] }), []);
});

test("URL state round-trips and is clamped", () => {
  const st = { query: '{app="a"} | json', from: "2026-12-07T02:00:00Z", to: "1765076400000", limit: 250,
    columns: ["level", "req.id"], direction: "forward", live: true, view: "events" };
  assert.deepEqual(decodeState("#" + encodeState(st)), st);
  assert.deepEqual(decodeState("#limit=99999&range=nope&dir=sideways"),
    { query: "", from: "now-1h", to: "now", limit: 5000, columns: [], direction: "backward", live: false, view: "logs" });
  // the old range= form still opens
  assert.equal(decodeState("#range=6h").from, "now-6h");
});

test("volumeQuery wraps the log query, comments and all", () => {
  assert.equal(volumeQuery('{app="a"} |= "x" # why', 60), 'sum(count_over_time(\n{app="a"} |= "x" # why\n[60s]))');
});

test("volumeBars: one bar per step, zero where there is no point", () => {
  const data = { resultType: "matrix", result: [{ metric: {}, values: [[100, "3"], [160, "5"], [400, "9"]] }] };
  assert.deepEqual(volumeBars(data, 100, 280, 60), [{ t: 100, v: 3 }, { t: 160, v: 5 }, { t: 220, v: 0 }, { t: 280, v: 0 }]);
  assert.deepEqual(volumeBars({ resultType: "matrix", result: [] }, 0, 60, 60), [{ t: 0, v: 0 }, { t: 60, v: 0 }]);
});

test("alignedStart puts the last step on end", () => {
  assert.equal(alignedStart("1700000000000000000", 3600, 28), String(1700000000000000000n - 128n * 28n * 1000000000n));
  assert.equal(alignedStart("1700000000000000000", 10, 60), String(1700000000000000000n - 60n * 1000000000n));
});
