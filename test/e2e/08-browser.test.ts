/**
 * Scenario 9: a real browser (Debian's Chromium, headless, driven by playwright-core): log in,
 * choose an image, JupyterLab loads. The screenshot is kept in test-artifacts/.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { BrowserSession } from "./browser-session";
import { chromiumArgs, chromiumPath } from "./chromium";
import { HubApi } from "./hub-api";
import { projectDir } from "./stack";
import { uniqueName } from "./user-names";

const api = new HubApi();
const executablePath = chromiumPath();
const artifacts = path.join(projectDir, "test-artifacts");

describe("in a real browser", { skip: executablePath ? false : "Chromium is not installed (test/infra/engine.sh installs it)" }, () => {
  let browser: Browser;
  const name = uniqueName("lab");
  const password = "Browser-Passw0rd-1";

  before(async () => {
    const session = new BrowserSession();
    await session.signUp(name, password);
    await (await BrowserSession.admin()).authorize(name);
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: chromiumArgs,
    });
  });
  after(async () => {
    await browser?.close();
    await api.stopServer(name).catch(() => undefined);
  });

  it("logs in, chooses the GISPy image and lands in JupyterLab", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${api.env.url}/hub/login`);
    await page.fill("#username_input", name);
    await page.fill("#password_input", password);
    await Promise.all([page.waitForURL(/\/hub\/spawn/, { timeout: 60_000 }), page.click("#login_submit")]);

    const select = page.locator("select#gmap-image");
    assert.equal(await select.inputValue(), "minimal", "the default image is preselected");
    await select.selectOption("gispy");
    await page.click("#spawn_form button[type=submit]");

    await page.waitForURL(new RegExp(`/user/${name}/lab`), { timeout: 240_000 });
    await page.locator("#jp-main-dock-panel").waitFor({ state: "visible", timeout: 120_000 });
    await page.getByText("Launcher").first().waitFor({ timeout: 60_000 });
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, "jupyterlab.png") });
    assert.match(await page.title(), /JupyterLab/);

    const out = await api.runPython(name, "import os; print(os.environ['GMAP_IMAGE'])");
    assert.equal(out.trim(), "gispy", "the server runs the image chosen in the form");
  });
});
