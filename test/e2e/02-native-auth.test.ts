/**
 * Scenario 3: NativeAuthenticator through the HTML forms, as a browser would (cookies, XSRF):
 * sign-up, login refused until an admin authorizes, lockout after failed logins, the image form
 * and a spawn with the second image.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { BrowserSession } from "./browser-session";
import { HubApi } from "./hub-api";
import { uniqueName } from "./user-names";

const api = new HubApi();
const password = "Sup3r-Secret-Pass";

describe("native accounts", () => {
  const name = uniqueName("nat");
  const browser = new BrowserSession();

  before(async () => {
    const page = await browser.signUp(name, password);
    assert.equal(page.status, 200);
  });

  it("the sign-up page enforces the configured minimum password length", async () => {
    const page = await new BrowserSession().signUp(uniqueName("short"), "short1");
    assert.match(page.text, /at least 10 characters|too short|password.*(weak|common)/i);
  });

  it("nobody can sign up as the configured admin: the deployment made that account", async () => {
    const squatter = new BrowserSession();
    const admin = process.env.E2E_ADMIN_USER ?? "e2e-admin";
    const page = await squatter.signUp(admin, "Squatter-Passw0rd-1");
    assert.match(page.text, /already in use/);
    await squatter.login(admin, "Squatter-Passw0rd-1");
    assert.equal(await squatter.whoami(), undefined);
    const real = await BrowserSession.admin();
    assert.equal(await real.whoami(), admin, "the admin logs in with the generated password");
  });

  it("refuses the login until an admin authorizes the account", async () => {
    const page = await browser.login(name, password);
    assert.match(page.text, /has not been authorized/);
    assert.equal(await browser.whoami(), undefined);
  });

  it("logs in once an admin authorized the account; another site cannot make the admin's browser do it", async () => {
    const admin = await BrowserSession.admin();
    const foreigners: Record<string, string>[] = [{ "Sec-Fetch-Site": "cross-site" }, { Referer: "http://evil.example/" }];
    for (const foreign of foreigners) {
      assert.equal((await admin.get(`/hub/authorize/${encodeURIComponent(name)}`, foreign)).status, 403);
      assert.equal((await admin.get(`/hub/discard/${encodeURIComponent(name)}`, foreign)).status, 403);
    }
    await admin.authorize(name);
    await browser.login(name, password);
    assert.equal(await browser.whoami(), name);
  });

  it("locks the account for the configured time after too many wrong passwords", async () => {
    const victim = new BrowserSession();
    for (let i = 0; i < 3; i++) {
      const page = await victim.login(name, "wrong-password-123");
      assert.match(page.text, /Invalid username or password/);
    }
    const locked = await victim.login(name, password);
    assert.match(locked.text, /Invalid username or password/, "the right password is refused while locked");
    assert.equal(await victim.whoami(), undefined);
    // Pulumi.e2e.yaml: secondsBeforeNextTry 15
    await new Promise((r) => setTimeout(r, 17_000));
    await victim.login(name, password);
    assert.equal(await victim.whoami(), name, "the lock expires");
  });

  it("offers both images in a Bootstrap 5 form with the default preselected", async () => {
    const page = await browser.get("/hub/spawn");
    assert.equal(page.status, 200);
    assert.match(page.text, /<select class="form-select"[^>]*name="image"/);
    assert.match(page.text, /<option value="minimal"[^>]*selected[^>]*>Minimal stand-in<\/option>/);
    assert.match(page.text, /<option value="gispy"[^>]*>GISPy stand-in<\/option>/);
  });

  it("refuses an image that is not offered", async () => {
    const page = await browser.submit("/hub/spawn", { image: "quay.io/evil/miner:1" });
    assert.match(page.text, /not offered on this hub/);
    const user = await api.user(name);
    assert.equal(user.servers?.[""], undefined);
  });

  it("spawning with the second image runs that image", async () => {
    await browser.submit("/hub/spawn", { image: "gispy" });
    await api.waitReady(name);
    const out = await api.runPython(
      name,
      "import os, shapely; print(os.environ['GMAP_IMAGE'], open('/opt/gmap-image').read().strip(), shapely.__version__)",
    );
    assert.match(out, /^gispy gispy \d+\.\d+/);
    const lab = await browser.get(`/user/${encodeURIComponent(name)}/lab`);
    assert.equal(lab.status, 200, "the user's own login reaches JupyterLab");
    assert.match(lab.text, /JupyterLab/);
    await api.stopServer(name);
  });
});
