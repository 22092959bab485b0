// Shared by the browser scripts: Debian's chromium launched headless with the flags the
// project's guide asks for, and the one-line checks every script prints.
import { chromium } from "playwright-core";

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
    ],
  });
}

// Prints `ok - what`, or throws (the script then prints `not ok` and exits 1).
export function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
  console.log("ok - " + what);
}
