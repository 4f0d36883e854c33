// Drives Debian's chromium (playwright-core, no browser download) through actiond's web timeline:
// segments appear live, a finished segment's clip plays, no console errors; writes a screenshot.
// Usage: node web_timeline.mjs URL SCREENSHOT  (NODE_PATH: the playwright-core install)
// Prints one JSON line: {segments_s, clip_playing_s, console_errors, ...}.
import { createRequire } from "node:module";

const require = createRequire(process.env.ACTIOND_BROWSER_DIR + "/");
const { chromium } = require("playwright-core");
const [url, screenshot] = process.argv.slice(2);
const result = { console_errors: [] };
const browser = await chromium.launch({
  executablePath: process.env.ACTIOND_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.on("console", (m) => { if (m.type() === "error") result.console_errors.push(m.text()); });
  page.on("pageerror", (e) => result.console_errors.push(String(e)));
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForSelector(".camera .seg", { timeout: 10000 });
  result.segments_s = (Date.now() - t0) / 1000;
  // A finished segment whose clip is written (the list says so once clip.ready arrived).
  const item = await page.waitForFunction(() => {
    for (const li of document.querySelectorAll("#recent li")) {
      if (!li.textContent.includes("(open)")) return li.dataset.segment;
    }
    return null;
  }, null, { timeout: 30000 });
  const segment = await item.jsonValue();
  result.segment = segment;
  const t1 = Date.now();
  for (let attempt = 0; attempt < 20; ++attempt) {  // the clip is written post_s after the end
    await page.click(`#recent li[data-segment="${segment}"]`);
    const ok = await page.waitForSelector("#detail video", { timeout: 1500 }).then(() => true, () => false);
    if (ok) break;
  }
  result.clip_playing = await page.evaluate(() => new Promise((resolve) => {
    const v = document.querySelector("#detail video");
    if (!v) return resolve("no video element");
    if (!v.paused && v.readyState >= 3) return resolve("playing");
    v.addEventListener("playing", () => resolve("playing"));
    v.addEventListener("error", () => resolve("error " + (v.error && v.error.message)));
    setTimeout(() => resolve("timeout, readyState " + v.readyState), 10000);
  }));
  result.clip_playing_s = (Date.now() - t1) / 1000;
  result.bars = await page.locator(".camera .seg").count();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: screenshot });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
