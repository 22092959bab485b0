// Drives the dispatch board of a running `ems serve` in Debian's chromium (headless), as a
// dispatcher and as a viewer, and checks what each sees. Run by tests/web_board.rs:
//   node tests/browser/board.mjs <base-url> <screenshot-dir>
// Prints one line per check; exits 1 on the first failure (with a screenshot of the moment).
import { launch, check } from "./harness.mjs";
import { mkdirSync } from "node:fs";

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error("usage: board.mjs <base-url> <screenshot-dir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const DISPATCHER = "demo-dispatcher";
const VIEWER = "demo-viewer";

const browser = await launch();

const problems = [];
let current = null;


async function open(name) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  page.on("request", (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith("data:")) problems.push(`${name}: request off the server: ${r.url()}`);
  });
  page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on("console", (m) => {
    // The wrong token's 401 and the refused close's 409 are the expected answers.
    const expected = (name === "wrong" && /401/.test(m.text())) || (name === "dispatcher" && /status of 409/.test(m.text()));
    if (m.type() === "error" && !expected) problems.push(`${name}: console error: ${m.text()}`);
  });
  current = page;
  return { ctx, page };
}

async function signIn(page, token) {
  const r = await page.goto(base + "/");
  check(r.status() === 200, "GET / answers 200 without a token");
  await page.waitForSelector("dialog#login[open]");
  check(await page.evaluate(() => sessionStorage.length === 0), "nothing is stored before sign-in");
  await page.fill("#token", token);
  await page.click("#login-form button[type=submit]");
  await page.waitForFunction(() => document.body.dataset.loaded);
  check(!page.url().includes(token), "the token is not in the URL");
  check(await page.evaluate((t) => sessionStorage.getItem("ems.token") === t, token), "the token is kept in sessionStorage");
}

async function unitStatus(page, unit) {
  return page.$eval(`#units li[data-unit="${unit}"] .badge`, (e) => e.textContent);
}

try {
  // ---- a wrong token is refused ---------------------------------------------------------
  {
    const { ctx, page } = await open("wrong");
    await page.goto(base + "/");
    await page.fill("#token", "not-a-token");
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#login-error:not([hidden])");
    check(/not accepted/.test(await page.textContent("#login-error")), "a wrong token is refused with a message");
    await ctx.close();
  }

  // ---- the dispatcher ----------------------------------------------------------------
  const d = await open("dispatcher");
  await signIn(d.page, DISPATCHER);
  const roads = await d.page.$$eval(".leaflet-overlay-pane path", (ps) => ps.length);
  check(roads >= 20, `the base map is drawn from the scenario's roads (${roads} paths)`);
  check((await d.page.$$(".kpi")).length === 6, "the KPI strip shows 6 figures");
  check((await d.page.$$("#units li")).length === 4, "4 units listed");
  check((await d.page.$$("#hospitals li")).length >= 2, "hospitals listed");
  check(/Leaflet/.test(await d.page.textContent(".leaflet-control-attribution")) &&
    /OpenStreetMap/.test(await d.page.textContent(".leaflet-control-attribution")), "attribution: Leaflet and OpenStreetMap");
  await d.page.screenshot({ path: `${shots}/board-dispatcher.png` });

  // ---- a viewer, read-only, watching live -------------------------------------------
  const v = await open("viewer");
  await signIn(v.page, VIEWER);
  check(!(await v.page.isVisible("#create")), "a viewer sees no create form");
  check((await v.page.$$eval("#units .actions button", (bs) => bs.filter((b) => b.offsetParent !== null).length)) === 0,
    "a viewer sees no lifecycle buttons");
  check(/viewer/.test(await v.page.textContent("#who")), "a viewer is told the board is read-only");

  current = d.page;
  // A unit out of service opens a coverage gap; the board shades it and offers a move-up.
  await d.page.click('#units li[data-unit="smur-chpg-1"] .actions button:has-text("out of service")');
  await d.page.waitForSelector("#moveup button");
  const red = await d.page.$$eval('.leaflet-overlay-pane path[fill="#e53935"]', (ps) => ps.length);
  check(red >= 1, `uncovered zones are shaded (${red})`);
  await d.page.screenshot({ path: `${shots}/board-gap.png` });
  const moveText = await d.page.textContent("#moveup p");
  const moved = moveText.split(":")[0].trim();
  await d.page.click("#moveup button");
  await d.page.waitForFunction((u) => document.querySelector(`#units li[data-unit="${u}"] .badge`)?.textContent === "relocating", moved);
  check(true, `the move-up was carried out (${moved} relocating)`);

  // ---- the dispatcher creates a call by clicking the map ------------------------------
  current = d.page;
  const box = await d.page.locator("#map").boundingBox();
  // A point on a street that no marker covers, in screen pixels: the middle vertex of each
  // road line in turn until one is clear of markers and controls.
  const pt = await d.page.evaluate(() => {
    const { map, state } = window.emsBoard;
    const rect = document.querySelector("#map").getBoundingClientRect();
    for (const f of state.base.features.filter((f) => f.properties.kind === "road")) {
      for (const line of f.geometry.coordinates) {
        const [lon, lat] = line[Math.floor(line.length / 2)];
        const p = map.latLngToContainerPoint([lat, lon]);
        const e = document.elementFromPoint(rect.left + p.x, rect.top + p.y);
        if (e && e.closest("#map") && !e.closest(".leaflet-marker-pane, .leaflet-control, .leaflet-tooltip-pane")) return { x: p.x, y: p.y };
      }
    }
    return null;
  });
  check(pt !== null, "found a clear street on the map to click");
  await d.page.mouse.click(box.x + pt.x, box.y + pt.y);
  const lon = Number(await d.page.inputValue("#create input[name=lon]"));
  const lat = Number(await d.page.inputValue("#create input[name=lat]"));
  check(isFinite(lon) && isFinite(lat) && lon !== 0, `a map click fills the coordinates (${lon}, ${lat})`);
  await d.page.selectOption("#create select[name=condition]", "chest_pain");
  await d.page.click("#create button[type=submit]");
  await d.page.waitForSelector("#rec li[data-rec-unit]");
  const recUnits = await d.page.$$eval("#rec li[data-rec-unit]", (ls) => ls.map((l) => l.dataset.recUnit));
  check(recUnits.length >= 1, `a ranked recommendation (${recUnits.join(", ")})`);
  const routePaths = await d.page.$$eval('.leaflet-overlay-pane path[stroke="#0d47a1"]', (ps) => ps.length);
  check(routePaths === 1, "the first unit's route is drawn");
  await d.page.screenshot({ path: `${shots}/board-recommendation.png` });
  const first = recUnits[0];
  await d.page.click(`#rec li[data-rec-unit="${first}"] button`);
  await d.page.waitForFunction((u) => document.querySelector(`#units li[data-unit="${u}"] .badge`)?.textContent === "dispatched", first);
  check(true, `assigned ${first}: the board shows it dispatched`);
  check(/1/.test(await d.page.textContent("#incidents")), "the call is listed as open");

  // The viewer sees it through the event stream, without reloading.
  current = v.page;
  await v.page.waitForFunction((u) => document.querySelector(`#units li[data-unit="${u}"] .badge`)?.textContent === "dispatched", first, { timeout: 10000 });
  check(true, "the viewer's board followed the assignment live");
  const marker = await v.page.$eval(`.leaflet-marker-icon[title="${first}"]`, (e) => e.textContent.trim());
  check(marker === "D", `the unit's map marker shows it dispatched (${marker})`);

  // A refused action shows the server's own message: closing a call a unit is still on.
  current = d.page;
  await d.page.click('#incidents li[data-incident] .actions button:has-text("Close")');
  await d.page.waitForSelector("#error:not([hidden])");
  const refused = await d.page.textContent("#error");
  check(/still on it/.test(refused), `a refused action shows the server's message (${refused.trim()})`);

  // Lifecycle from the dispatcher's board: en route.
  current = d.page;
  await d.page.click(`#units li[data-unit="${first}"] .actions button:has-text("en route")`);
  current = v.page;
  await v.page.waitForFunction((u) => document.querySelector(`#units li[data-unit="${u}"] .badge`)?.textContent === "en route", first, { timeout: 10000 });
  check(true, "en route shown live on the viewer's board");

  // The viewer's stream drops; meanwhile the unit arrives; the board resumes and catches up.
  const before = Number(await v.page.getAttribute("#conn", "data-last-id"));
  await v.page.evaluate(() => window.emsBoard.stream().drop());
  current = d.page;
  await d.page.click(`#units li[data-unit="${first}"] .actions button:has-text("on scene")`);
  current = v.page;
  await v.page.waitForFunction((u) => document.querySelector(`#units li[data-unit="${u}"] .badge`)?.textContent === "on scene", first, { timeout: 15000 });
  await v.page.waitForSelector("#conn.live");
  const after = Number(await v.page.evaluate(() => window.emsBoard.stream().lastId()));
  check(after > before, `the stream resumed after a drop (last id ${before} → ${after})`);

  // Chinese labels.
  await d.page.click("#lang");
  check((await d.page.textContent("header h1")) === "ems 急救调度台", "the labels switch to Chinese");
  await d.page.evaluate(() => document.fonts.ready);
  check(await d.page.evaluate(() => document.fonts.check('16px "ems CJK"', "急救调度台")), "the embedded Chinese font is loaded (no system font needed)");
  check(/出车途中|到达现场|待命|调防途中/.test(await d.page.textContent("#units")), "unit statuses in Chinese");
  await d.page.screenshot({ path: `${shots}/board-zh.png` });
  await d.page.click("#lang");

  for (const p of problems) console.log("problem - " + p);
  check(problems.length === 0, "no request left the server, no page or console errors");
  await browser.close();
  console.log("all checks passed");
} catch (e) {
  console.log("not ok - " + e.message);
  for (const p of problems) console.log("problem - " + p);
  if (current) await current.screenshot({ path: `${shots}/failure.png` }).catch(() => {});
  await browser.close();
  process.exit(1);
}
