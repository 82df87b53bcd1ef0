// pw.mjs -- what the browser scripts share: Debian's /usr/bin/chromium (or $CHROMIUM)
// headless through playwright-core with a fresh profile, page errors collected, and a
// wait on the page's status line (the page writes it when a run is done).
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const T = 30000;

export function check(cond, msg) {
  if (!cond) throw new Error("check failed: " + msg);
}

// {ctx, page, errors, statusText, waitStatus, close}
export async function launch(prefix = "cairn-ui-chromium-") {
  const profile = mkdtempSync(join(tmpdir(), prefix));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    viewport: { width: 1400, height: 900 },
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const statusText = () => page.locator("#status").textContent();
  // wait for the status line to match re
  async function waitStatus(re) {
    await page.waitForFunction((src) => new RegExp(src).test(document.getElementById("status").textContent), re.source, { timeout: T });
    return statusText();
  }
  async function close() {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return { ctx, page, errors, statusText, waitStatus, close };
}
