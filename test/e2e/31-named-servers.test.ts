/**
 * Scenario 31: named servers (spawner.namedServers, culler.removeNamedServers). The e2e stack is
 * deployed with named servers on (one per user besides the default) and the culler deleting idle
 * ones. A user runs the default server with the minimal image and a named server "gis" with the
 * GISPy image: each is its own container on its own network and answers at its own URL through the
 * proxy; both see the same home; a second named server is refused with JupyterHub's reason;
 * another user's server reaches neither; stopping the named server leaves the default one answering
 * on its network; a hub replacement keeps both; the idle culler, run as the hub configured it (with
 * a timeout of one second), deletes the idle named server and stops the default one, and the home
 * stays. In a browser, a user adds a named server on the home page, chooses its image in the spawn
 * form, and stops and deletes it there. `pulumi destroy` with a named server running: scenario 10.
 * The stack file is restored afterwards.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chromium } from "playwright-core";
import { escapeUserName } from "../../components/identity";
import { BrowserSession } from "./browser-session";
import { chromiumArgs, chromiumPath } from "./chromium";
import { docker, dockerExec, inspectContainer, waitForHealthyHub } from "./engine";
import { HubApi } from "./hub-api";
import { assertQuietPreview, up } from "./pulumi";
import { editedStackFile, prefix, stackSkip } from "./stack";
import { uniqueName } from "./user-names";
import { waitFor } from "./wait";

const api = new HubApi();
const owner = uniqueName("named");
const other = uniqueName("other");

/** The e2e stack file with named servers on, and `edit` besides. */
const withNamedServers = (edit: (config: Record<string, any>) => void = () => undefined) =>
  editedStackFile((config) => {
    config["jupyterhub:spawner"] = { ...config["jupyterhub:spawner"], namedServers: { enabled: true, limit: 1 } };
    config["jupyterhub:culler"] = { ...config["jupyterhub:culler"], removeNamedServers: true };
    edit(config);
  });

/** Runs the hub's idle culler once more with its own command and token, idle past one second, for `seconds`. */
const CULL_ONCE = (seconds: number) => `
import os, subprocess, sys
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv = [a.decode() for a in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0") if a]
    except OSError:
        continue
    if "jupyterhub_idle_culler" in argv:
        env = dict(v.split("=", 1) for v in open(f"/proc/{pid}/environ", "rb").read().decode().split("\\0") if "=" in v)
        break
else:
    sys.exit("the hub runs no idle culler")
argv = [a for a in argv if not a.startswith(("--timeout=", "--cull-every="))] + ["--timeout=1", "--cull-every=5"]
print(" ".join(a for a in argv if a.startswith("--")), flush=True)
try:
    subprocess.run(argv, env=env, timeout=${seconds})
except subprocess.TimeoutExpired:
    pass
`;

describe("named servers", { skip: stackSkip }, () => {
  const escaped = escapeUserName(owner);
  const container = (server = "") => `${prefix()}-user-${escaped}${server ? `--${server}` : ""}`;
  const network = (server = "") => `${prefix()}-u-${escaped}${server ? `--${server}` : ""}`;
  const answers = async (server = "") => (await api.request(`${api.serverPath(owner, server)}api/status`)).status;

  before(async () => {
    const applied = await up({ configFile: withNamedServers() });
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    await waitForHealthyHub(api.env.url);
    await api.createUser(owner);
    await api.createUser(other);
    await api.startServer(other);
  });

  after(async () => {
    await api.stopServer(other).catch(() => undefined);
    await api.stopServer(owner).catch(() => undefined);
    await api.stopNamed(owner, "gis", true).catch(() => undefined);
    const restored = await up();
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    await waitForHealthyHub(api.env.url);
    await assertQuietPreview("after restoring the e2e stack file");
  });

  it("a user runs the default server and a named one with another image, each its own container and network, each at its own URL", async () => {
    await api.startServer(owner, { image: "minimal" });
    await api.startNamed(owner, "gis", { image: "gispy" });
    const [main, gis] = await Promise.all([inspectContainer(container()), inspectContainer(container("gis"))]);
    assert.equal(main.Config.Image, "localhost/notebook-minimal:5.5.1");
    assert.equal(gis.Config.Image, "localhost/notebook-gispy:5.5.1");
    assert.deepEqual(Object.keys(main.NetworkSettings.Networks), [network()]);
    assert.deepEqual(Object.keys(gis.NetworkSettings.Networks), [network("gis")]);
    assert.deepEqual([await answers(), await answers("gis")], [200, 200]);
  });

  it("both servers work in the same home", async () => {
    assert.equal((await api.putFile(owner, "from-default.txt", "written by the default server")).status, 201);
    assert.equal(await api.getFile(owner, "from-default.txt", "gis"), "written by the default server");
    assert.equal((await api.putFile(owner, "from-gis.txt", "written by gis", "gis")).status, 201);
    assert.equal(await api.getFile(owner, "from-gis.txt"), "written by gis");
  });

  it("past the limit one more named server is refused with the reason", async () => {
    const res = await api.request(`/hub/api/users/${encodeURIComponent(owner)}/servers/third`, { method: "POST", body: "{}" });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /maximum of 1 named servers/);
  });

  it("another user's server reaches neither of them", async () => {
    const addresses = await Promise.all(
      ["", "gis"].map(async (s) => (await inspectContainer(container(s))).NetworkSettings.Networks[network(s)]!.IPAddress),
    );
    const code = [
      "import json, socket",
      "def probe(host):",
      "    try:",
      "        socket.create_connection((host, 8888), timeout=4).close()",
      "        return 'open'",
      "    except OSError as e:",
      "        return type(e).__name__",
      `print(json.dumps([probe(h) for h in ${JSON.stringify(addresses)}]))`,
    ].join("\n");
    const results = JSON.parse((await api.runPython(other, code, 60_000)).trim().split("\n").pop()!) as string[];
    assert.equal(results.length, 2);
    for (const r of results) assert.notEqual(r, "open", `${addresses.join(", ")}: ${results.join(", ")}`);
  });

  it("stopping the named server leaves the default one answering on its network", async () => {
    await api.stopNamed(owner, "gis");
    assert.equal(await answers(), 200);
    const members = Object.values((await docker.getNetwork(network()).inspect()).Containers ?? {}).map((c: any) => c.Name as string);
    assert.deepEqual(members.sort(), [`${prefix()}-hub`, `${prefix()}-proxy`, container()].sort());
    await assert.rejects(docker.getContainer(container("gis")).inspect(), /no such container/i);
    await assert.rejects(docker.getNetwork(network("gis")).inspect(), /not found/i);
    // stopped, not deleted: it starts again (the image is chosen again, as the spawn form asks for it)
    await api.startNamed(owner, "gis", { image: "gispy" });
    assert.equal((await inspectContainer(container("gis"))).Config.Image, "localhost/notebook-gispy:5.5.1");
    assert.equal(await api.getFile(owner, "from-default.txt", "gis"), "written by the default server");
  });

  it("a hub replacement keeps both servers and their routes", async () => {
    const hubBefore = (await inspectContainer(`${prefix()}-hub`)).Id;
    const applied = await up({
      configFile: withNamedServers((config) => {
        config["jupyterhub:spawner"].environment = { GMAP_E2E_GENERATION: "named" };
      }),
    });
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    assert.notEqual((await inspectContainer(`${prefix()}-hub`)).Id, hubBefore, "the hub container was replaced");
    await waitForHealthyHub(api.env.url);
    await waitFor(
      "both servers through the new hub's proxy routes",
      async () => ((await answers()) === 200 && (await answers("gis")) === 200 ? true : undefined),
      60_000,
    );
    const servers = (await api.user(owner)).servers;
    assert.equal(servers[""].ready, true);
    assert.equal(servers.gis.ready, true);
  });

  it("the idle culler deletes the idle named server and stops the default one; the home stays", async () => {
    await api.stopServer(other);
    const out = await dockerExec(`${prefix()}-hub`, ["python3", "-c", CULL_ONCE(25)]);
    assert.match(out, /--remove-named-servers=true/, "the hub's culler deletes named servers (culler.removeNamedServers)");
    const user = await api.hub(`/users/${encodeURIComponent(owner)}?include_stopped_servers`);
    assert.ok(!("gis" in user.servers), `the named server is deleted: ${JSON.stringify(Object.keys(user.servers))}`);
    assert.ok(!user.servers[""]?.ready, "the default server is stopped");
    for (const s of ["", "gis"]) await assert.rejects(docker.getContainer(container(s)).inspect(), /no such container/i);
    assert.ok(await docker.getVolume(`${prefix()}-user-${escaped}`).inspect(), "the home stays");
    await api.startServer(owner);
    assert.equal(await api.getFile(owner, "from-gis.txt"), "written by gis");
  });

  it("in a browser a user adds a named server on the home page, chooses its image, then stops and deletes it there", async () => {
    const executablePath = chromiumPath();
    assert.ok(executablePath, "Chromium is installed (test/infra/engine.sh)");
    const name = uniqueName("named-web");
    const password = "Named-Servers-Passw0rd";
    await new BrowserSession().signUp(name, password);
    await (await BrowserSession.admin()).authorize(name);
    const browser = await chromium.launch({ executablePath, headless: true, args: chromiumArgs });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`${api.env.url}/hub/login`);
      await page.fill("#username_input", name);
      await page.fill("#password_input", password);
      await Promise.all([page.waitForURL(/\/hub\/(spawn|home)/, { timeout: 60_000 }), page.click("#login_submit")]);
      await page.goto(`${api.env.url}/hub/home`);
      await page.fill(".new-server-name", "gis");
      await Promise.all([page.waitForURL(/\/hub\/spawn\/[^/]+\/gis/, { timeout: 60_000 }), page.click(".new-server-btn")]);
      await page.locator("select#gmap-image").selectOption("gispy");
      await page.click("#spawn_form button[type=submit]");
      await page.waitForURL(new RegExp(`/user/${name}/gis/`), { timeout: 240_000 });
      assert.equal((await api.user(name)).servers.gis?.ready, true);
      const escapedWeb = escapeUserName(name);
      assert.equal((await inspectContainer(`${prefix()}-user-${escapedWeb}--gis`)).Config.Image, "localhost/notebook-gispy:5.5.1");

      await page.goto(`${api.env.url}/hub/home`);
      await page.click("#stop-gis");
      await waitFor("the stop from the home page", async () => ((await api.user(name)).servers?.gis ? undefined : true), 120_000);
      await page.reload();
      // the home page asks "Are you sure ...?" first
      page.once("dialog", (dialog) => void dialog.accept());
      await page.click("#delete-gis");
      await page.locator('tr[data-server-name="gis"]').waitFor({ state: "detached", timeout: 60_000 });
      await waitFor(
        "the deletion from the home page",
        async () => ("gis" in (await api.hub(`/users/${encodeURIComponent(name)}?include_stopped_servers`)).servers ? undefined : true),
        60_000,
      );
    } finally {
      await browser.close();
      await api.stopNamed(name, "gis", true).catch(() => undefined);
    }
  });
});
