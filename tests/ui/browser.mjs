// browser.mjs -- the web UI in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core from npm), against a real `cairn serve` that tests/e2e/ui_test.py
// started and filled. Usage: node browser.mjs BASE_URL ARTEFACT_DIR DATA_JSON
// Each check waits on the page's own state (status text, rows), never on sleeps.
// Prints "perf: {...}" with the paint and scroll numbers (reported, not asserted).
import { join } from "node:path";
import { T, check, launch } from "./pw.mjs";

const [base, artefacts, dataJson] = process.argv.slice(2);
const data = JSON.parse(dataJson);
const { page, errors, statusText, waitStatus, close } = await launch();
const url = (p) => base + "/#" + new URLSearchParams(p).toString();
const shot = (name) => page.screenshot({ path: join(artefacts, name + ".png"), fullPage: false });
async function open(p, re = /^\d+ lines/) {
  await page.goto("about:blank");
  await page.goto(url(p));
  return waitStatus(re);
}
const rowTs = () => page.$$eval("#results tr.entry td.ts", (tds) => tds.map((td) => td.title));
const perf = {};

try {
  // 1. columns from JSON (nested, dotted) and logfmt keys; lines as text, never markup
  await open({ q: '{job="web"}', cols: "level,req.id,env", from: "now-1h", to: "now" }, /^3 lines/);
  const heads = await page.$$eval("#results th", (ths) => ths.map((t) => t.textContent.trim()));
  check(JSON.stringify(heads) === JSON.stringify(["Time", "level", "req.id", "env"]), "columns " + heads);
  const cells = await page.$$eval("#results tr.entry", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].slice(1).map((td) => td.textContent)));
  check(JSON.stringify(cells) === JSON.stringify([["-", "-", "prod"], ["info", "-", "prod"], ["error", "42", "prod"]]), "cells " + JSON.stringify(cells));
  check(await page.locator("#results table[aria-label] th[scope=col]").count() === 4, "table semantics");
  await page.waitForFunction(() => /3 matching lines/.test(document.getElementById("volume").textContent), null, { timeout: T });
  check(await page.locator("#fields .field-item[data-key='req.id']").count() === 1, "fields: req.id");
  check(/\| req_id/.test(await page.locator("#fields .field-item[data-key='req.id']").textContent()), "fields: | json name shown");
  await open({ q: '{job="web"}' }, /^3 lines/);
  const html = await page.locator("#results").innerHTML();
  check(html.includes("&lt;b&gt;boom&lt;/b&gt;") && !html.includes("<b>boom</b>"), "a line became markup");
  // Local/UTC: the time column follows the toggle
  check(!/Z$/.test(await page.locator("#results td.ts").first().textContent()), "local time by default");
  await page.click("#utc");
  check(/Z$/.test(await page.locator("#results td.ts").first().textContent()), "UTC after the toggle");
  await page.click("#utc");
  await shot("01-columns");
  // autocomplete of label names, then values, from the API; history of the runs
  await page.fill("#query", "");
  await page.locator("#query").pressSequentially("{jo");
  await page.locator("#aclist li", { hasText: /^job$/ }).waitFor({ timeout: T });
  await page.keyboard.press("Enter");
  check(await page.inputValue("#query") === "{job=", "name completion: " + await page.inputValue("#query"));
  await page.locator("#query").pressSequentially('"w');
  await page.locator("#aclist li", { hasText: /^web$/ }).waitFor({ timeout: T });
  await page.keyboard.press("Enter");
  check(await page.inputValue("#query") === '{job="web"', "value completion: " + await page.inputValue("#query"));
  check(await page.locator("#history option", { hasText: '{job="web"}' }).count() === 1, "history");
  // the dark theme, kept across loads
  await page.click("#theme");
  check(await page.evaluate(() => document.documentElement.dataset.theme) === "dark", "dark theme");
  await open({ q: '{job="web"}', cols: "level,req.id,env" }, /^3 lines/);
  check(await page.evaluate(() => document.documentElement.dataset.theme) === "dark", "theme not kept");
  await shot("01b-dark");
  await page.click("#theme");

  // 2. an absolute range from the URL shows only the lines inside it
  const { from, to, inside } = data.window;
  await open({ q: '{job="app"}', from: new Date(from).toISOString(), to: String(to), limit: "1000" }, /^\d+ lines/);
  let ts = await rowTs();
  check(ts.length === inside, `absolute range: ${ts.length} rows, want ${inside}`);
  check(ts.every((t) => BigInt(t) >= BigInt(from) * 1000000n && BigInt(t) < BigInt(to) * 1000000n), "a row outside the range");
  check(await page.inputValue("#from") === new Date(from).toISOString(), "from shown in the picker");
  await shot("02-absolute-range");

  // 3. a failed query clears the results and marks the error's line and column
  await page.fill("#query", '{job="app"} | json\n| level=');
  await page.click("#run");
  const err = await waitStatus(/^400/);
  check(/parse error at line 2/.test(err), "error text " + err);
  check(await page.locator("#results tr.entry").count() === 0, "stale rows under an error");
  check(await page.locator("#qerror").isVisible() && /line 2, col/.test(await page.locator("#qerror").textContent()), "error not marked");
  check(await page.getAttribute("#query", "aria-invalid") === "true", "editor not invalid");
  await shot("03-failed-query");
  // Back returns to the previous query (each run is a history entry)
  await page.goBack();
  await waitStatus(/^\d+ lines/);
  check((await page.inputValue("#query")) === '{job="app"}', "Back did not restore the query");

  // 4. drag on the histogram zooms: from/to become the dragged absolute range
  await open({ q: '{job="app"}', from: "now-3h", to: "now", limit: "1000" });
  const box = await page.locator("#volume svg").boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + 20);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + 20, { steps: 5 });
  await page.mouse.move(box.x + box.width * 0.6, box.y + 20, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => /from=\d{4}-/.test(decodeURIComponent(location.hash)), null, { timeout: T });
  await waitStatus(/^\d+ lines/);
  const hp = new URLSearchParams(new URL(page.url()).hash.slice(1));
  const zf = Date.parse(hp.get("from")), zt = Date.parse(hp.get("to"));
  const span = zt - zf;
  check(span > 0.25 * 3 * 3600e3 && span < 0.35 * 3 * 3600e3, `zoomed span ${span} ms`);
  ts = await rowTs();
  check(ts.every((t) => BigInt(t) >= BigInt(zf) * 1000000n && BigInt(t) <= BigInt(zt) * 1000000n), "rows outside the zoomed range");
  await shot("04-zoomed");
  await page.click("#zoomout");
  await page.waitForFunction((s) => { const p = new URLSearchParams(location.hash.slice(1)); return Date.parse(p.get("to")) - Date.parse(p.get("from")) > s * 1.5; }, span, { timeout: T });

  // 5. load older fetches the next page with end = the oldest line shown
  await open({ q: '{job="app"}', from: "now-3h", to: "now", limit: "50" }, /^50 lines/);
  const first = await page.evaluate(() => 0);
  check(await page.locator("#more").isVisible(), "no load-older button");
  const oldest1 = (await rowTs()).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))[0];
  await page.click("#more");
  // the page asks up to the oldest line + 1 ns (lines sharing its nanosecond are not
  // lost) and drops the one already shown: 49 or 50 new lines
  const more = await waitStatus(/^\d+ lines \(\d+ more\)/);
  check(/^(99|100) lines/.test(more), "second page: " + more);
  await page.locator("#results").evaluate((el) => (el.scrollTop = el.scrollHeight));
  await page.waitForFunction(() => document.querySelectorAll("#results tr.entry[data-i='98']").length === 1, null, { timeout: T });
  const ts99 = await page.$eval("#results tr.entry[data-i='98'] td.ts", (td) => td.title);
  check(BigInt(ts99) < BigInt(oldest1), "the second page is not older");
  await shot("05-load-older");
  // oldest first pages forward: start = the newest line shown
  await open({ q: '{job="app"}', from: "now-3h", to: "now", limit: "50", dir: "forward" }, /^50 lines/);
  const newest1 = (await rowTs()).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)).pop();
  await page.click("#more");
  const fwd = await waitStatus(/^\d+ lines \(\d+ more\)/);
  check(/^(99|100) lines/.test(fwd), "forward page: " + fwd);
  await page.locator("#results").evaluate((el) => (el.scrollTop = el.scrollHeight));
  await page.waitForFunction(() => document.querySelectorAll("#results tr.entry[data-i='98']").length === 1, null, { timeout: T });
  check(BigInt(await page.$eval("#results tr.entry[data-i='98'] td.ts", (td) => td.title)) > BigInt(newest1), "the forward page is not newer");
  void first;

  // 6. click a value in a cell: | json | http_status="500" is added, parses, narrows
  await open({ q: '{job="app"}', from: "now-3h", to: "now", limit: "1000", cols: "level,http.status" });
  const total = (await rowTs()).length;
  // sort by a column: numbers as numbers, then descending, then the server's order
  const sortBtn = page.locator("#results th button.sort", { hasText: "http.status" });
  const firstStatus = () => page.locator("#results tr.entry td.field[data-key='http.status']").first().textContent();
  await sortBtn.click();
  check(await page.getAttribute("#results th:has(button:text('http.status'))", "aria-sort") === "ascending", "aria-sort");
  check(await firstStatus() === "200", "ascending sort");
  await sortBtn.click();
  check(await firstStatus() === "500", "descending sort");
  await sortBtn.click();
  // keyboard: arrows move the selection, the details show the full line
  await page.focus("#results");
  await page.keyboard.press("ArrowDown");
  await page.locator("#details table.kv").waitFor({ timeout: T });
  check(/http\.status/.test(await page.locator("#details").textContent()), "details by keyboard");
  const cell = page.locator("#results td.field[data-key='http.status']", { hasText: /^500$/ }).first();
  await cell.click();
  await page.locator("#cellmenu button", { hasText: "http.status = this value" }).click();
  const narrowed = await waitStatus(/^\d+ lines|^\d{3}:/);
  const q = await page.inputValue("#query");
  check(q === '{job="app"} | json | http_status="500"', "filter query " + q);
  check(/^\d+ lines/.test(narrowed), "the filter query failed: " + narrowed);
  const n500 = Number(narrowed.split(" ")[0]);
  check(n500 === data.errors && n500 < total, `filter narrowed to ${n500} of ${total}, want ${data.errors}`);
  const vals = await page.$$eval("#results td.field[data-key='http.status']", (tds) => tds.map((t) => t.textContent));
  check(vals.every((v) => v === "500"), "a row that is not 500");
  // after | json, level is a label: the bars are stacked by it (these are all errors)
  await page.waitForFunction(() => document.querySelectorAll("#volume rect.bar.lvl-error").length > 0 &&
    document.querySelectorAll("#volume rect.bar:not(.lvl-error)").length === 0, null, { timeout: T });
  // after | json the Fields panel lists each key once
  const keys = await page.$$eval("#fields .field-item", (els) => els.map((e) => e.dataset.key));
  check(!keys.includes("http_status") && keys.includes("http.status"), "fields listed twice: " + keys);
  // top values of a field
  await page.locator("#fields .field-item[data-key='level'] button.key").click();
  check(await page.locator("#fields .topval").count() >= 1, "no top values");
  await shot("06-click-filter");

  // 7. live: a line pushed now arrives over the tail WebSocket
  await open({ q: '{job="live"}', from: "now-5m", to: "now", live: "1" }, /^live:/);
  const marker = "pushed-while-live-" + Date.now();
  const pr = await fetch(base + "/loki/api/v1/push", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ streams: [{ stream: { job: "live" }, values: [[String(Date.now() * 1000000), JSON.stringify({ level: "warn", msg: marker })]] }] }) });
  check(pr.status === 204, "push " + pr.status);
  await page.locator("#results td", { hasText: marker }).waitFor({ timeout: T });
  // the histogram follows the live lines
  await page.waitForFunction(() => /^1 matching lines/.test(document.getElementById("volume").textContent), null, { timeout: T });
  check(new URLSearchParams(new URL(page.url()).hash.slice(1)).get("live") === "1", "live not in the URL");
  await page.click("#pause");
  check(/paused/.test(await statusText()), "pause");
  await shot("07-live");
  await page.click("#live");

  // 8. the Events view groups by involved object with a timeline; a click opens the
  // object's events and the pod's logs side by side
  await open({ view: "events", q: '{job="events"}', from: "now-3h", to: "now" }, /events from/);
  const groups = await page.$$eval("#eventsview tr.group", (trs) => trs.map((t) => t.dataset.object));
  check(groups.length === 2 && groups.includes("web/Pod/api-1") && groups.includes("web/Deployment/api"), "groups " + groups);
  const marks = await page.locator("#eventsview tr.group[data-object='web/Pod/api-1'] svg.timeline circle").count();
  check(marks === 3, `timeline marks ${marks}`);
  const order = await page.getAttribute("#eventsview tr.group[data-object='web/Pod/api-1'] svg.timeline", "aria-label");
  check(order === "timeline: Scheduled → Pulling → BackOff", "timeline order " + order);
  check(await page.locator("#eventsview tr.ev.lvl-warn").count() === 1, "Warning row colour");
  check(await page.locator("#eventsview td.msg").first().textContent() !== "", "messages");
  await page.selectOption("#eventsview select[data-filter=type]", "Warning");
  check(await page.locator("#eventsview tr.group").count() === 1, "type filter");
  await page.selectOption("#eventsview select[data-filter=type]", "");
  await page.locator("#eventsview tr.group[data-object='web/Pod/api-1'] button.objlink").click();
  await page.locator(".evside .podlogs table tr").first().waitFor({ timeout: T });
  check(await page.locator(".evside .objevents li").count() === 3, "object's events");
  await shot("08-events");

  // 9. a metric query draws a chart with a legend
  await open({ q: 'sum by (env) (count_over_time({job="web"}[1m]))', from: "now-5m", to: "now" }, /series/);
  check(await page.locator(".chart svg polyline, .chart svg circle").count() >= 1 && /env="prod"/.test(await page.locator(".legend").textContent()), "chart");

  // 10. speed: 1,000 lines x 4 columns painted; 20,000 loaded lines scrolled
  await open({ q: '{job="bulk"}', from: "now-2h", to: "now", limit: "1000", cols: "a,b,c,d" }, /^1000 lines/);
  await page.waitForFunction(() => performance.getEntriesByName("cairn:paint").length > 0, null, { timeout: T });
  perf.paint1000x4_ms = await page.evaluate(() => performance.getEntriesByName("cairn:paint").pop().duration);
  await shot("09-bulk");
  await open({ q: '{job="bulk"}', from: "now-2h", to: "now", limit: "5000", cols: "a,b,c,d" }, /^5000 lines/);
  let loaded = "";
  for (const n of [9999, 14998, 19997, 20000]) {
    await page.click("#more");
    loaded = await waitStatus(new RegExp("^" + n + " lines"));
  }
  check(/no more in the range/.test(loaded) && await page.locator("#more").isHidden(), "the last page: " + loaded);
  perf.loaded = loaded;
  perf.rows_in_dom_of_20000 = await page.locator("#results tr.entry").count();
  const sc = await page.evaluate(() => new Promise((resolve) => {
    const box = document.getElementById("results");
    const frames = [];
    let last = performance.now(), i = 0;
    performance.mark("cairn:scroll-start");
    const stepPx = (box.scrollHeight - box.clientHeight) / 120;
    function tick(now) {
      frames.push(now - last);
      last = now;
      if (++i > 120) {
        performance.mark("cairn:scroll-end");
        const m = performance.measure("cairn:scroll", "cairn:scroll-start", "cairn:scroll-end");
        frames.shift();
        frames.sort((a, b) => a - b);
        return resolve({ total_ms: m.duration, frames: frames.length, p50_frame_ms: frames[frames.length >> 1], max_frame_ms: frames[frames.length - 1] });
      }
      box.scrollTop = i * stepPx;
      requestAnimationFrame(tick);
    }
    requestAnimationFrame(tick);
  }));
  perf.scroll20000 = sc;
  await shot("10-scrolled-20000");
  check(errors.length === 0, "page errors: " + errors.join("; "));
  console.log("perf: " + JSON.stringify(perf));
  console.log("ok: browser checks passed");
} catch (e) {
  await shot("failure").catch(() => {});
  console.error(String(e && e.stack || e));
  console.error("status: " + (await statusText().catch(() => "?")) + "\nurl: " + page.url() + "\npage errors: " + errors.join("; "));
  process.exitCode = 1;
} finally {
  await close();
}
