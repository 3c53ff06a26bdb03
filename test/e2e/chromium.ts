/** The real browser of the browser scenarios: Debian's Chromium, headless, and its flags. */
import * as fs from "node:fs";
import type { Page } from "playwright-core";

/** Debian's Chromium (test/infra/engine.sh installs it), or CHROMIUM_PATH; undefined when missing. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

/** Headless Chromium flags for this closed network (no background connections, no sandbox as root). */
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** `page.goto`, again (at most three times) when Chromium aborts the navigation because the host's interfaces changed (Docker creating networks). */
export async function gotoDespiteNetworkChange(page: Page, url: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(url);
      return;
    } catch (e) {
      if (attempt >= 3 || !/ERR_NETWORK_CHANGED/.test(String(e))) throw e;
    }
  }
}
