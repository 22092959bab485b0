// The board under a steady live stream: 50 events/s (unit positions) for a minute while a
// viewer's board is open. Checks that the board keeps up (its last event id reaches the
// server's) and that the page's JS heap, measured after a forced garbage collection, does not
// grow. Run by tests/web_board.rs:
//   node tests/browser/stream_load.mjs <base-url> <screenshot-dir> [seconds]
import { launch, check } from "./harness.mjs";
import { mkdirSync } from "node:fs";

const [base, shots, secs] = process.argv.slice(2);
const SECONDS = Number(secs || 60);
const RATE = 50;
mkdirSync(shots, { recursive: true });
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const errors = [];
page.on("pageerror", (e) => errors.push(e.message));
const cdp = await page.context().newCDPSession(page);

async function heapMb() {
  await cdp.send("HeapProfiler.collectGarbage");
  const { usedSize } = await cdp.send("Runtime.getHeapUsage");
  return usedSize / 1048576;
}

try {
  await page.goto(base + "/");
  await page.fill("#token", "demo-viewer");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#conn.live");
  const units = ["condamine-1", "condamine-2", "fontvieille-1", "smur-chpg-1"];
  const post = (u, k) => fetch(`${base}/v1/units/${u}/position`, {
    method: "POST",
    headers: { Authorization: "Bearer demo-dispatcher", "Content-Type": "application/json" },
    body: JSON.stringify({ lon: 7.415 + (k % 100) * 0.0001, lat: 43.73 + (k % 50) * 0.0001, at: new Date().toISOString() }),
  });
  const heap = [];
  let sent = 0, failed = 0;
  const t0 = Date.now();
  for (let s = 0; s < SECONDS; s++) {
    const second = Date.now();
    for (let k = 0; k < RATE; k++) {
      const r = await post(units[sent % units.length], sent);
      if (r.ok) sent++; else failed++;
      const due = second + ((k + 1) * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
    if (s % 10 === 9) {
      heap.push(await heapMb());
      console.log(`t=${s + 1}s sent=${sent} heap=${heap.at(-1).toFixed(2)} MB`);
    }
  }
  const elapsed = (Date.now() - t0) / 1000;
  check(failed === 0, `${sent} position events written in ${elapsed.toFixed(1)} s (${(sent / elapsed).toFixed(1)}/s), none refused`);
  const health = await (await fetch(`${base}/healthz`)).json();
  await page.waitForFunction((n) => window.emsBoard.stream().lastId() >= n, health.events, { timeout: 30000 });
  check(true, `the board's stream reached the server's last event (${health.events})`);
  const first = heap[0], last = heap.at(-1), max = Math.max(...heap);
  console.log(`heap after GC, every 10 s: ${heap.map((h) => h.toFixed(2)).join(", ")} MB`);
  check(last <= first * 1.25 + 1, `the page's JS heap does not grow: ${first.toFixed(2)} → ${last.toFixed(2)} MB (max ${max.toFixed(2)})`);
  check(errors.length === 0, "no page errors");
  await page.screenshot({ path: `${shots}/board-under-load.png` });
  await browser.close();
  console.log("all checks passed");
} catch (e) {
  console.log("not ok - " + e.message);
  await page.screenshot({ path: `${shots}/load-failure.png` }).catch(() => {});
  await browser.close();
  process.exit(1);
}
