/**
 * Scenario 5: persistence. Work survives a server restart, a hub container restart and a hub
 * replacement caused by a config change; logins survive both (the cookie secret is kept), and a
 * running server keeps answering through the proxy while the hub is down.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { BrowserSession } from "./browser-session";
import { docker, inspectContainer, waitForHealthyHub } from "./engine";
import { HubApi } from "./hub-api";
import { assertQuietPreview, up } from "./pulumi";
import { editedStackFile, prefix, stackSkip } from "./stack";
import { uniqueName } from "./user-names";

const api = new HubApi();

/** Polls a user's server through the proxy until `stop` resolves; returns [ok, failed] counts. */
async function pollServer(name: string, stop: Promise<unknown>): Promise<[number, number]> {
  let done = false;
  void stop.finally(() => (done = true));
  let ok = 0;
  let failed = 0;
  for (let i = 0; !done && i < 3000; i++) {
    try {
      const res = await api.request(`/user/${encodeURIComponent(name)}/api/status`);
      if (res.status === 200) ok++;
      else failed++;
      await res.arrayBuffer();
    } catch {
      failed++;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return [ok, failed];
}

describe("persistence", () => {
  const worker = uniqueName("keep");
  const person = uniqueName("cookie");
  const password = "Cookie-Passw0rd-1";
  const browser = new BrowserSession();

  before(async () => {
    await api.createUser(worker);
    await api.startServer(worker);
    assert.equal((await api.putFile(worker, "work/keep.txt", "precious")).status, 201);
    // where the file browser opens: the home itself
    assert.equal((await api.putFile(worker, "at-the-root.txt", "saved at the root")).status, 201);
    await browser.signUp(person, password);
    await (await BrowserSession.admin()).authorize(person);
    await browser.login(person, password);
    assert.equal(await browser.whoami(), person);
  });

  it("work survives stopping and starting the server, also a file saved at the root of the home", async () => {
    await api.stopServer(worker);
    await api.startServer(worker);
    assert.equal(await api.getFile(worker, "work/keep.txt"), "precious");
    assert.equal(await api.getFile(worker, "at-the-root.txt"), "saved at the root");
    const contents = await api.server(worker, "/contents");
    assert.ok(
      contents.content.some((e: any) => e.name === ".bashrc" || e.name === ".profile" || e.name === "work"),
      "the home came from the image",
    );
  });

  it("a hub restart keeps the running server answering, the work and the login", { skip: stackSkip }, async () => {
    const restart = docker
      .getContainer(`${prefix()}-hub`)
      .restart({ t: 10 })
      .then(() => waitForHealthyHub(api.env.url));
    const [ok, failed] = await pollServer(worker, restart);
    await restart;
    assert.ok(ok > 10, `only ${ok} answers while the hub restarted`);
    assert.equal(failed, 0, "the server kept answering through the proxy");
    assert.equal((await api.user(worker)).servers[""].ready, true);
    assert.equal(await api.getFile(worker, "work/keep.txt"), "precious");
    assert.equal(await browser.whoami(), person, "still logged in after the restart");
  });

  it("a config change replaces the hub but not the proxy, the servers, the work or the logins", { skip: stackSkip }, async () => {
    const hubBefore = (await inspectContainer(`${prefix()}-hub`)).Id;
    const proxyBefore = (await inspectContainer(`${prefix()}-proxy`)).Id;
    const file = editedStackFile((config) => {
      config["jupyterhub:spawner"].environment = { GMAP_E2E_GENERATION: "2" };
    });
    const change = up({ configFile: file });
    const [, failed] = await pollServer(worker, change);
    const applied = await change;
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    assert.notEqual((await inspectContainer(`${prefix()}-hub`)).Id, hubBefore, "the hub container was replaced");
    assert.equal((await inspectContainer(`${prefix()}-proxy`)).Id, proxyBefore, "the proxy was kept");
    assert.equal(failed, 0, "the server kept answering through the proxy");
    assert.equal((await api.user(worker)).servers[""].ready, true);
    assert.equal(await api.getFile(worker, "work/keep.txt"), "precious");
    assert.equal(await browser.whoami(), person, "still logged in after the replacement");
    const restored = await up();
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    await assertQuietPreview("right after the hub was replaced");
    await api.stopServer(worker);
  });
});
