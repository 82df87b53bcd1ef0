// rules_browser.mjs -- the Rules page and "Alert from this query" in headless Chromium
// (playwright-core, Debian's /usr/bin/chromium) against the `cairn serve` instances
// tests/e2e/ruler_ui_test.py started. Usage: node rules_browser.mjs OFF_URL ON_URL ARTEFACT_DIR
// Waits on the page's own state (status text, elements), never on sleeps.
import { join } from "node:path";
import { T, check, launch } from "./pw.mjs";

const [offBase, base, artefacts] = process.argv.slice(2);
const { page, errors, statusText, waitStatus, close } = await launch("cairn-ui-rules-");
const shot = (name) => page.screenshot({ path: join(artefacts, name + ".png"), fullPage: true });
async function open(b, p, re) {
  await page.goto("about:blank");
  await page.goto(b + "/#" + new URLSearchParams(p).toString());
  return waitStatus(re);
}

try {
  // 1. The ruler off: the API answers 404 and the page says so.
  await open(offBase, { view: "rules" }, /ruler off/);
  check(/ruler is off/.test(await page.locator("#rules-off").textContent()), "ruler-off message");
  check(await page.locator("#tab-rules").getAttribute("aria-selected") === "true", "Rules tab selected");

  // 2. The ruler on: groups, rules, a firing alert with its labels and value.
  await open(base, { view: "rules" }, /^\d+ rules, [1-9]\d* alerts firing/);
  const row = page.locator('tr.rule[data-rule="BackOffStorm"]');
  check(await row.locator("td.state").textContent() === "firing", "alert rule firing");
  check(await row.locator("td.health").textContent() === "ok", "health ok");
  const alert = await row.locator(".alert.firing").first().textContent();
  check(alert.includes('namespace="payments"') && alert.includes("= 5"), "alert labels and value: " + alert);
  const rec = page.locator('tr.rule[data-rule="events:count5m"]');
  check(await rec.locator("td").nth(1).textContent() === "recording", "recording rule row");
  const bad = page.locator('tr.rule[data-rule="Broken"]');
  check(/err/.test(await bad.locator("td.health").textContent()), "health err");
  check((await bad.locator("td.lasterror").textContent()).length > 0, "last error shown");
  check(!/never/.test(await row.locator("td").nth(4).textContent()), "last evaluation shown");
  await shot("rules-1-page");

  // 3. Alert from a metric query: the snippet, validation, POST and the server's answer.
  const q = 'sum by (namespace) (count_over_time({job="events"}[5m]))';
  await open(base, { q, from: "now-1h", to: "now" }, /^\d+ series/);
  check(await page.locator("#alertbar").isVisible(), "alert button under a metric chart");
  await page.click("#alertbtn");
  await page.fill("#al-name", "1bad");
  check(await page.locator("#al-save").isDisabled(), "save disabled for a bad name");
  check(/alert name/.test(await page.locator("#al-problems").textContent()), "problem named");
  await page.fill("#al-name", "UiMadeAlert");
  await page.fill("#al-threshold", "3");
  await page.fill("#al-for", "1m");
  await page.fill("#al-namespace", "fromui");
  await page.fill("#al-summary", "{{ $labels.namespace }}: {{ humanize $value }}");
  const yaml = await page.locator("#al-yaml").inputValue();
  check(yaml.startsWith("groups:\n") && yaml.includes("- alert: UiMadeAlert") && yaml.includes(JSON.stringify(q + " > 3")) &&
        yaml.includes("for: 1m") && yaml.includes('severity: "warning"'), "snippet: " + yaml);
  await page.click("#al-save");
  await page.waitForFunction(() => /^\d{3}:/.test(document.getElementById("al-answer").textContent), null, { timeout: T });
  const answer = await page.locator("#al-answer").textContent();
  check(/^202:/.test(answer), "POST answer: " + answer);
  await shot("rules-2-alert-form");

  // 4. The new rule is on the Rules page once the ruler has it, and fires.
  await page.goto("about:blank");
  await page.goto(base + "/#view=rules");
  await page.waitForSelector('tr.rule[data-rule="UiMadeAlert"]', { timeout: T });
  console.log(JSON.stringify({ snippet: yaml, answer }));
  check(errors.length === 0, "page errors: " + errors.join("; "));
  console.log("ok: rules browser checks passed");
} catch (e) {
  await shot("rules-failure").catch(() => {});
  console.error(String(e && e.stack || e));
  console.error("status: " + (await statusText().catch(() => "?")) + "\nurl: " + page.url() + "\npage errors: " + errors.join("; "));
  process.exitCode = 1;
} finally {
  await close();
}
