// Drives the planning page of a running `ems serve` in Debian's chromium (headless): zones
// coloured by modelled response, a what-if (a site added by a map click, a station closed by a
// click) with the targets before and after, an optimisation with its new sites and the plan
// downloaded as GeoJSON. Run by tests/web_board.rs:
//   node tests/browser/plan.mjs <base-url> <screenshot-dir>
import { launch, check } from "./harness.mjs";
import { mkdirSync, readFileSync } from "node:fs";

const [base, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await launch();
const problems = [];
const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
const page = await ctx.newPage();
page.on("request", (r) => {
  if (!r.url().startsWith(base) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) problems.push(`request off the server: ${r.url()}`);
});
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });

async function loaded(after) {
  await page.waitForFunction((t) => Number(document.body.dataset.loaded || 0) > t, after);
}

try {
  const r = await page.goto(base + "/plan");
  check(r.status() === 200, "GET /plan answers 200 without a token");
  await page.waitForSelector("dialog#login[open]");
  await page.fill("#token", "demo-viewer");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#targets tr");
  check(!page.url().includes("demo-viewer"), "the token is not in the URL");
  const rows = await page.$$eval("#targets tr", (rs) => rs.length);
  check(rows >= 1 + 4 + 2, `the targets table has the standards and the modelled figures (${rows} rows)`);
  const nc = await page.$eval('#targets td[data-target="detention_rate"]', (e) => e.textContent);
  check(/not computed/.test(nc), "detention without a log is named as not computed");
  const coloured = await page.$$eval(".leaflet-overlay-pane path", (ps) => ps.filter((p) => (p.getAttribute("fill") || "").startsWith("rgb(")).length);
  check(coloured >= 1, `zones coloured by modelled response (${coloured})`);
  await page.screenshot({ path: `${shots}/plan-before.png` });

  // What-if: close a station (click it), add a site (click a clear street).
  const { x: mx, y: my } = await page.locator("#map").boundingBox();
  const stationPt = await page.evaluate(() => {
    const { map, state } = window.emsPlan;
    const f = state.base.features.find((f) => f.properties.kind === "station" && f.properties.id === "fontvieille");
    const [lon, lat] = f.geometry.coordinates;
    return map.latLngToContainerPoint([lat, lon]);
  });
  await page.mouse.click(mx + stationPt.x, my + stationPt.y);
  await page.waitForSelector('#changes li[data-close="fontvieille"]');
  check(true, "a click on a station marks it closed");
  const pt = await page.evaluate(() => {
    const { map, state } = window.emsPlan;
    const rect = document.querySelector("#map").getBoundingClientRect();
    const roads = state.base.features.filter((f) => f.properties.kind === "road");
    for (const f of roads) for (const line of f.geometry.coordinates) {
      const [lon, lat] = line[Math.floor(line.length / 2)];
      const p = map.latLngToContainerPoint([lat, lon]);
      const e = document.elementFromPoint(rect.left + p.x, rect.top + p.y);
      if (e && e.closest("#map") && !e.closest(".leaflet-marker-pane, .leaflet-control")) return p;
    }
    return null;
  });
  await page.mouse.click(mx + pt.x, my + pt.y);
  await page.waitForSelector('#changes li[data-add="0"]');
  check(true, "a click on the map adds a candidate site");
  let t0 = Number(await page.evaluate(() => document.body.dataset.loaded));
  await page.click("#evaluate");
  await loaded(t0);
  const after = await page.evaluate(() => window.emsPlan.state.result);
  check(after.changes.length === 2, `evaluated 2 changes (${after.changes.join("; ")})`);
  check(after.after.stations.length === after.before.stations.length, "one station closed, one added");
  const meanB = after.before.modelled_response.summary.mean, meanA = after.after.modelled_response.summary.mean;
  check(isFinite(meanB) && isFinite(meanA), `modelled mean response ${meanB.toFixed(2)} → ${meanA.toFixed(2)} min`);
  await page.click('input[name=show][value=after]');
  await page.screenshot({ path: `${shots}/plan-whatif.png` });

  // Optimisation: one new station by p-median.
  await page.click("#clear");
  await page.waitForFunction(() => !window.emsPlan.state.adds.length);
  t0 = Number(await page.evaluate(() => document.body.dataset.loaded));
  await page.selectOption("#optimise select[name=model]", "pmedian");
  await page.fill("#optimise input[name=add]", "2");
  await page.click("#optimise button[type=submit]");
  await page.waitForSelector('#sites tr[data-site="1"]', { timeout: 60000 });
  const siteText = await page.textContent('#sites tr[data-site="0"]');
  check(/\d+\.\d{6}, \d+\.\d{6}/.test(siteText), `the new sites are listed with coordinates (${siteText.trim()})`);
  check(/gap 0\.00 %/.test(await page.textContent("#sites")), "the certified gap is shown");
  const stars = await page.$$eval(".sym.site", (s) => s.length);
  check(stars === 2, "the 2 new sites are drawn");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const fc = JSON.parse(readFileSync(await download.path(), "utf8"));
  check(fc.type === "FeatureCollection" && fc.features.length === 2, "the plan downloads as GeoJSON with 2 sites");
  await page.screenshot({ path: `${shots}/plan-optimised.png` });
  await page.click("#lang");
  check((await page.textContent("header h1")) === "ems 站点规划", "the page switches to Chinese");
  await page.screenshot({ path: `${shots}/plan-zh.png` });

  for (const p of problems) console.log("problem - " + p);
  check(problems.length === 0, "no request left the server, no page or console errors");
  await browser.close();
  console.log("all checks passed");
} catch (e) {
  console.log("not ok - " + e.message);
  for (const p of problems) console.log("problem - " + p);
  await page.screenshot({ path: `${shots}/plan-failure.png` }).catch(() => {});
  await browser.close();
  process.exit(1);
}
