// The board and the planning page on another city's scenario (any `ems init` folder served by
// `ems serve --scenario`): the map, the units and the modelled response by zone load and draw,
// with screenshots. Run by tests/web_board.rs:
//   node tests/browser/city.mjs <base-url> <screenshot-dir> <name>
import { launch, check } from "./harness.mjs";
import { mkdirSync } from "node:fs";

const [base, shots, name] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await launch();
const problems = [];
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("request", (r) => { if (!r.url().startsWith(base) && !r.url().startsWith("data:")) problems.push(`request off the server: ${r.url()}`); });
try {
  await page.goto(base + "/");
  await page.fill("#token", "demo-dispatcher");
  await page.click("#login-form button[type=submit]");
  await page.waitForFunction(() => document.body.dataset.loaded, null, { timeout: 60000 });
  const units = await page.$$eval("#units li", (l) => l.length);
  const paths = await page.$$eval(".leaflet-overlay-pane path", (p) => p.length);
  check(units > 0 && paths > 0, `${name}: the board draws ${paths} map paths and lists ${units} units`);
  await page.screenshot({ path: `${shots}/${name}-board.png` });
  await page.goto(base + "/plan");
  await page.waitForSelector("#targets tr", { timeout: 60000 });
  const coloured = await page.$$eval(".leaflet-overlay-pane path", (ps) => ps.filter((p) => (p.getAttribute("fill") || "").startsWith("rgb(")).length);
  check(coloured > 0, `${name}: the planning page colours ${coloured} zones by modelled response`);
  await page.screenshot({ path: `${shots}/${name}-plan.png` });
  check(problems.length === 0, `${name}: no request left the server, no page errors ${problems.join("; ")}`);
  await browser.close();
  console.log("all checks passed");
} catch (e) {
  console.log("not ok - " + e.message);
  for (const p of problems) console.log("problem - " + p);
  await page.screenshot({ path: `${shots}/${name}-failure.png` }).catch(() => {});
  await browser.close();
  process.exit(1);
}
