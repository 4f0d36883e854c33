// Drives Debian's chromium (playwright-core) through actiond's label page, as a user teaching the
// daemon: open recordings, take the camera's segments as a start and label two segments with the
// keyboard, save, train (tiny steps), open the report, try the candidate beside the camera's model
// (shadow), promote it, roll back. Writes screenshots of the label page and of the report.
// Usage: node teach_browser.mjs URL TOKEN CAMERA LABEL_PNG REPORT_PNG
// Prints one JSON line: {saved, job, report_verdict, shadow_bars, promoted, rolled_back, console_errors, ...}.
import { createRequire } from "node:module";

const require = createRequire(process.env.ACTIOND_BROWSER_DIR + "/");
const { chromium } = require("playwright-core");
const [url, token, camera, labelPng, reportPng] = process.argv.slice(2);
const result = { console_errors: [], steps: [] };
const step = (name) => { result.steps.push([name, Date.now()]); };
const browser = await chromium.launch({ executablePath: process.env.ACTIOND_CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on("console", (m) => { if (m.type() === "error") result.console_errors.push(m.text()); });
  page.on("pageerror", (e) => result.console_errors.push(String(e)));
  await page.goto(`${url}label#token=${token}`);
  await page.waitForFunction(() => document.querySelectorAll("#recording option").length > 0, null, { timeout: 15000 });
  await page.fill("#dataset", "e2e");
  await page.click("#open-dataset");
  await page.waitForFunction(() => document.getElementById("saved").textContent.includes("e2e"));
  const ids = await page.$$eval("#recording option", (os) => os.map((o) => o.value));
  result.recordings = ids.length;
  // The camera's segments on every recording but the first, as the start of the labels.
  for (const id of ids.slice(1)) {
    await page.selectOption("#recording", id);
    await page.waitForFunction(() => document.getElementById("player").readyState >= 1, null, { timeout: 10000 });
    await page.waitForTimeout(150);
    await page.click("#use-model");
  }
  step("copied");
  // Two segments on the first recording, with the keyboard only.
  await page.selectOption("#recording", ids[0]);
  await page.waitForFunction(() => document.getElementById("player").readyState >= 1, null, { timeout: 10000 });
  const seek = async (t) => {
    await page.evaluate((s) => new Promise((resolve) => {
      const p = document.getElementById("player");
      p.addEventListener("seeked", () => resolve(), { once: true });
      p.currentTime = s;
    }), t);
  };
  await page.click("body", { position: { x: 5, y: 5 } });
  await seek(0.4);
  await page.keyboard.press("1");
  await page.keyboard.press("s");
  await seek(1.6);
  for (let k = 0; k < 3; ++k) await page.keyboard.press(".");  // three frames on
  await page.keyboard.press("e");
  await seek(2.0);
  await page.keyboard.press("2");
  await page.keyboard.press("s");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("e");
  result.keyboard_segments = await page.$$eval("#mine .seg:not(.pending)", (bs) => bs.map((b) => b.dataset.label));
  await page.keyboard.press("Control+s");
  await page.waitForFunction(() => document.getElementById("saved").textContent.startsWith("saved"), null, { timeout: 10000 });
  result.saved = await page.textContent("#saved");
  step("saved");
  // Train on it for the camera, with tiny steps.
  await page.selectOption("#train-camera", camera);
  await page.fill("#steps-scale", "0.1");
  await page.fill("#min-examples", "1");
  await page.click("#train");
  await page.waitForFunction(() => [...document.querySelectorAll("#jobs li")].some((li) => /succeeded|failed|cancelled/.test(li.textContent)),
                             null, { timeout: 300000 });
  result.jobs = await page.$$eval("#jobs li", (lis) => lis.map((li) => li.textContent));
  result.progress = await page.$eval("#progress", (p) => p.value);
  const trainLog = await page.textContent("#train-log");
  result.train_log_lines = trainLog.split("\n").length;
  result.decoding = (trainLog.match(/decoding \{.*\}/) || ["?"])[0];
  step("trained");
  const href = await page.$eval("#jobs li a", (a) => a.href);
  result.job = href.match(/\/api\/train\/([^/]+)\//)[1];
  const report = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  await report.goto(href);
  result.report_verdict = await report.textContent("body").then((t) => (t.match(/The new model[^.]*\./) || ["?"])[0]);
  result.report_images = await report.$$eval("img, svg", (xs) => xs.length);
  await report.screenshot({ path: reportPng, fullPage: false });
  await report.close();
  // Try it beside the camera's model.
  await page.selectOption("#candidate", result.job);
  await page.selectOption("#try-camera", camera);
  await page.click("#shadow");
  await page.waitForSelector("#shadowed .seg", { timeout: 90000 });
  await page.waitForSelector("#live .seg", { timeout: 30000 });
  await page.waitForTimeout(3000);
  result.shadow_bars = await page.locator("#shadowed .seg").count();
  result.agreement = await page.textContent("#agreement");
  step("shadowed");
  await page.selectOption("#recording", ids[0]);
  await page.waitForTimeout(500);
  await page.screenshot({ path: labelPng });
  await page.click("#unshadow");
  // Promote, then roll back.
  await page.click("#promote");
  await page.waitForFunction((job) => document.getElementById("status").textContent.startsWith("promoted") &&
                             [...document.querySelectorAll("#models li")].some((li) => li.textContent.includes(job)),
                             result.job, { timeout: 60000 });
  result.promoted = Date.now();
  step("promoted");
  await page.waitForTimeout(12000);  // segments from the promoted model
  await page.click("#rollback");
  await page.waitForFunction((job) => document.getElementById("status").textContent.startsWith("rolled back") &&
                             ![...document.querySelectorAll("#models li")].some((li) => li.textContent.includes(job)),
                             result.job, { timeout: 60000 });
  result.rolled_back = Date.now();
  step("rolled back");
} catch (e) {
  result.error = String(e);
  const pages = browser.contexts().flatMap((c) => c.pages());
  if (pages.length) {
    result.status = await pages[0].textContent("#status").catch(() => "?");
    result.shadow_feed = await pages[0].evaluate(async (cam) => {
      const r = await fetch(`/api/cameras/${cam}/shadow`, { headers: { Authorization: "Bearer " + new URLSearchParams(location.hash.slice(1)).get("token") } });
      return r.text();
    }, camera).catch((x) => String(x));
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
