/**
 * HTTPS out of the box (hub.tls): deploys its own stack (Pulumi.e2e-tls.yaml, prefix gmap-tls)
 * with `hub.tls.mode: acme` against Let's Encrypt's test server Pebble (test/standins/pebble),
 * which the test starts on the stack's front network as soon as `pulumi up` has created it.
 * Pebble validates the host name for real (HTTP-01 against the front proxy's alias); everything
 * is served on loopback (https://hub.gmap-tls.test:18443, the test resolves the name to
 * 127.0.0.1 and trusts Pebble's root).
 *
 * Then: the certificate chains to Pebble's root; HTTP redirects to HTTPS; HSTS; only the front
 * proxy publishes ports; login (Secure cookies), spawn and a kernel websocket over HTTPS; a hub
 * replacement, a front proxy restart and a front proxy replacement keep the certificate (no new
 * order at Pebble); `pulumi preview` is quiet. Last, `files` mode with a test CA, the certificate
 * and key set with `pulumi config set --secret`, and no key in plaintext in the state export,
 * the containers' environment, labels and command lines, or the logs. Removes everything at the
 * end, the retained certificate volume included. Skipped against a hub deployed elsewhere.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium } from "playwright-core";
import { labelKeys } from "../../components/names";
import { artifactsDir, saveContainerLogs } from "./artifacts";
import { BrowserSession } from "./browser-session";
import { chromiumArgs, chromiumPath, gotoDespiteNetworkChange } from "./chromium";
import { containerLogsOrWhy, docker, requireEngine } from "./engine";
import { HubApi } from "./hub-api";
import type { HubEnv } from "./hub-env";
import { Pebble } from "./pebble";
import {
  assertPlansNoChange,
  ensureStack,
  output,
  preview,
  pulumi,
  pulumiOk,
  setSecretFromStdin,
  stackHub,
  up as pulumiUp,
  upOk,
} from "./pulumi";
import { removeStack } from "./remove-stack";
import { editedStackFile, stackSkip as skip } from "./stack";
import { plainGet, published, served as servedAt, spkiPin } from "./tls-probes";
import { waitFor } from "./wait";
import { testCa } from "../unit/tls-fixtures";

const STACK = "e2e-tls";
const PREFIX = "gmap-tls";
const HOST = "hub.gmap-tls.test";
const HTTPS_PORT = 18443;
const HTTP_PORT = 18080;
/** Pebble, its management API (its roots) published on loopback for the test. */
const PEBBLE = new Pebble(`${PREFIX}-pebble`, PREFIX, 18015);
const FRONT = `${PREFIX}-front-proxy`;

/** The certificate the front proxy serves for HOST, verified against `ca`. */
const served = (ca: string[]) => servedAt(HTTPS_PORT, HOST, ca);

describe("HTTPS out of the box (own stack Pulumi.e2e-tls.yaml, Pebble as ACME server)", { skip }, () => {
  let configFile = "";
  let roots: string[] = [];
  let hub: HubEnv;
  let api: HubApi;
  let firstSerial = "";
  let adminPassword = "";

  /** `pulumi up` with a copy of the stack file edited by `edit` (which adds Pebble's CA root: `withCaRoot`). */
  async function up(edit: (config: Record<string, any>) => void): Promise<void> {
    configFile = editedStackFile(edit, STACK);
    await upOk({ stack: STACK, configFile });
  }

  let minica = "";
  const withCaRoot = (edit?: (config: Record<string, any>) => void) => (config: Record<string, any>) => {
    config["jupyterhub:hub"].tls.acme.caRoot = minica;
    edit?.(config);
  };

  /** Waits (bounded) until the hub's API answers 200 over HTTPS through the front proxy. */
  async function hubAnswers(): Promise<void> {
    await waitFor("the hub's API over HTTPS", async () => ((await api.request("/hub/api")).status === 200 ? true : undefined), 180_000);
  }

  const assertQuietPreview = async (when: string) => assertPlansNoChange(await preview({ stack: STACK, configFile }), when);

  before(
    async () => {
      await requireEngine();
      // leftovers of an interrupted run (Pebble carries the stack's prefix label too)
      await removeStack(STACK);
      minica = await PEBBLE.minica();
      configFile = editedStackFile(withCaRoot(), STACK);
      await ensureStack(STACK);
      let finished = false;
      const deploying = pulumiUp({ stack: STACK, configFile }).finally(() => (finished = true));
      const pebble = PEBBLE.startWhenNetworkExists(`${PREFIX}-front`, () => finished);
      const run = await deploying;
      await pebble;
      assert.equal(run.code, 0, `pulumi up ${STACK} failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
      // Pebble makes a new root at every start: the one to trust comes from its management API
      const root = await PEBBLE.management("roots/0", minica);
      roots = [root];
      const { url, token } = await stackHub({ stack: STACK });
      hub = { url, token, connect: { ca: root, address: "127.0.0.1" } };
      api = new HubApi(hub);
      adminPassword = ((await output("adminPasswords", { stack: STACK })) as Record<string, string>)["tls-admin"]!;
    },
    { timeout: 20 * 60_000 },
  );

  after(async () => {
    await saveContainerLogs([PEBBLE.name, FRONT, `${PREFIX}-hub`, `${PREFIX}-proxy`], 5000);
    // Pebble first: the front network cannot go while it is connected
    await PEBBLE.remove();
    const problems = await removeStack(STACK);
    assert.deepEqual(problems, [], "the test stack is removed");
  });

  it("obtains a certificate for the public host name that chains to Pebble's root", async () => {
    const cert = await waitFor(
      "the front proxy to serve Pebble's certificate",
      async () => {
        const s = await served(roots);
        return s.authorized ? s : undefined;
      },
      180_000,
      1000,
    );
    assert.equal(cert.names, `DNS:${HOST}`);
    assert.match(cert.issuer, /^Pebble Intermediate CA/);
    firstSerial = cert.serial;
    assert.deepEqual(await PEBBLE.issued(), [firstSerial], "one order, one certificate");
    const logs = await containerLogsOrWhy(FRONT, 5000);
    assert.match(logs, /"challenge":"(http-01|tls-alpn-01)"/, "Pebble validated the host name for real");
    await hubAnswers();
  });

  it("redirects HTTP to HTTPS at the public URL, sends HSTS, and only the front proxy publishes ports", async () => {
    assert.deepEqual(await plainGet(HTTP_PORT, HOST, "/hub/login?next=%2Fhub%2Fhome"), {
      status: 308,
      location: `https://${HOST}:${HTTPS_PORT}/hub/login?next=%2Fhub%2Fhome`,
    });
    const res = await api.request("/hub/login");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("strict-transport-security"), "max-age=31536000");
    assert.deepEqual(await published(FRONT), [`127.0.0.1:${HTTPS_PORT}->443/tcp`, `127.0.0.1:${HTTP_PORT}->80/tcp`].sort());
    assert.deepEqual(await published(`${PREFIX}-proxy`), [], "configurable-http-proxy is reached through the front proxy only");
    assert.deepEqual(await published(`${PREFIX}-hub`), []);
  });

  it("logs in with Secure cookies, spawns, and runs a kernel over a wss:// websocket", async () => {
    const session = new BrowserSession(hub);
    await session.login("tls-admin", adminPassword);
    assert.equal(await session.whoami(), "tls-admin");
    const cookies = await session.jar.getCookies(`${hub.url}/hub/`);
    const names = cookies.map((c) => c.key).sort();
    assert.ok(names.includes("jupyterhub-hub-login") && names.includes("_xsrf"), names.join(" "));
    for (const c of cookies) assert.equal(c.secure, true, `cookie ${c.key} is Secure`);

    await api.startServer("tls-admin", {}, 240_000);
    const lab = await waitFor(
      "JupyterLab over HTTPS",
      async () => {
        const page = await session.get("/user/tls-admin/lab");
        return page.status === 200 ? page : undefined;
      },
      60_000,
    );
    assert.match(lab.text, /JupyterLab/);
    const serverCookies = await session.jar.getCookies(`${hub.url}/user/tls-admin/`);
    const own = serverCookies.filter((c) => c.key.startsWith("jupyterhub-user-tls-admin"));
    assert.ok(own.length > 0, serverCookies.map((c) => c.key).join(" "));
    // the server's login cookie (from the hub's cookie options); its _xsrf token is no credential and follows jupyter-server
    for (const c of own) assert.equal(c.secure, true, `cookie ${c.key} of the user server is Secure`);
    assert.equal((await api.runPython("tls-admin", "print(6 * 7)")).trim(), "42", "kernel websocket through Caddy and the proxy");
  });

  it(
    "in a real browser trusting the test root: log in and reach JupyterLab over HTTPS",
    { skip: chromiumPath() ? false : "Chromium is not installed (test/infra/engine.sh installs it)" },
    async () => {
      // Chromium takes public keys of certificates the server presents: Pebble's intermediate, which its root signed
      const intermediate = await PEBBLE.management("intermediates/0", minica);
      assert.ok(new X509Certificate(intermediate).verify(new X509Certificate(roots[0]!).publicKey), "the intermediate chains to the root");
      const browser = await chromium.launch({
        executablePath: chromiumPath(),
        headless: true,
        args: [
          ...chromiumArgs,
          `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
          // trust what Pebble's intermediate (under the root the test trusts) signed, nothing else
          `--ignore-certificate-errors-spki-list=${spkiPin(intermediate)}`,
        ],
      });
      try {
        const page = await browser.newPage();
        // Chromium aborts a navigation when the host's interfaces change (Docker creating networks): once more then
        await gotoDespiteNetworkChange(page, `http://${HOST}:${HTTP_PORT}/hub/login`);
        assert.equal(new URL(page.url()).protocol, "https:", "the browser was redirected to HTTPS");
        await page.fill("#username_input", "tls-admin");
        await page.fill("#password_input", adminPassword);
        await Promise.all([page.waitForURL(/\/(hub\/(home|spawn)|user\/)/, { timeout: 60_000 }), page.click("#login_submit")]);
        await page.goto(`${hub.url}/user/tls-admin/lab`);
        await page.locator("#jp-main-dock-panel").waitFor({ state: "visible", timeout: 120_000 });
        fs.mkdirSync(artifactsDir, { recursive: true });
        await page.screenshot({ path: path.join(artifactsDir, "jupyterlab-https.png") });
      } finally {
        await browser.close();
      }
    },
  );

  it("keeps the certificate across a hub replacement, a front proxy restart and a front proxy replacement", async () => {
    const hubBefore = (await docker.getContainer(`${PREFIX}-hub`).inspect()).Id;
    const frontBefore = (await docker.getContainer(FRONT).inspect()).Id;
    await up(withCaRoot((c) => (c["jupyterhub:spawner"].httpTimeout = 121)));
    assert.notEqual((await docker.getContainer(`${PREFIX}-hub`).inspect()).Id, hubBefore, "the hub was replaced");
    assert.equal((await docker.getContainer(FRONT).inspect()).Id, frontBefore, "the front proxy stayed");
    await hubAnswers();
    assert.equal((await served(roots)).serial, firstSerial);

    await docker.getContainer(FRONT).restart({ t: 5 });
    const afterRestart = await waitFor("the front proxy to serve again", async () => (await served(roots)).serial || undefined, 60_000);
    assert.equal(afterRestart, firstSerial, "a restart serves the stored certificate");

    await up(withCaRoot((c) => ((c["jupyterhub:hub"].tls.hstsMaxAge = 600), (c["jupyterhub:spawner"].httpTimeout = 121))));
    assert.notEqual((await docker.getContainer(FRONT).inspect()).Id, frontBefore, "the front proxy was replaced");
    const afterReplace = await waitFor("the new front proxy to serve", async () => (await served(roots)).serial || undefined, 60_000);
    assert.equal(afterReplace, firstSerial, "a replacement serves the certificate from the retained volume");
    assert.equal((await api.request("/hub/login")).headers.get("strict-transport-security"), "max-age=600");
    assert.deepEqual(await PEBBLE.issued(), [firstSerial], "no new order at Pebble");
    assert.equal((await api.request("/hub/api")).status, 200);
    await assertQuietPreview("after up");
  });

  it("files mode: the operator's certificate from a test CA; the key never in plaintext", async () => {
    const ca = testCa("GMAP e2e test CA");
    const leaf = ca.issue(HOST);
    const keyBody = leaf.key.split("\n").filter((l) => l && !l.startsWith("-----"))[0]!;
    configFile = editedStackFile((c) => {
      const tlsConfig = c["jupyterhub:hub"].tls;
      delete tlsConfig.acme;
      tlsConfig.mode = "files";
    }, STACK);
    // as an operator: secrets set with `pulumi config set --secret`, encrypted in the stack file
    for (const [key, pem] of [
      ["tlsCertificate", leaf.certificate],
      ["tlsKey", leaf.key],
    ] as const) {
      // multi-line values from standard input, as `pulumi config set --secret tlsKey < privkey.pem`
      setSecretFromStdin(key, pem, { stack: STACK, configFile });
    }
    const stackText = fs.readFileSync(configFile, "utf8");
    assert.ok(!stackText.includes(keyBody), "the stack file holds the key encrypted");
    assert.match(stackText, /tlsKey:\s*\n\s*secure: /);

    const run = await pulumiUp({ stack: STACK, configFile });
    assert.equal(run.code, 0, `pulumi up (files) failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
    assert.ok(!(run.stdout + run.stderr).includes(keyBody), "pulumi up's output shows no key");
    const cert = await waitFor(
      "the operator's certificate",
      async () => {
        const s = await served([ca.certificate]);
        return s.authorized ? s : undefined;
      },
      60_000,
    );
    assert.equal(cert.issuer, "GMAP e2e test CA");
    assert.equal((await new HubApi({ ...hub, connect: { ca: ca.certificate, address: "127.0.0.1" } }).request("/hub/api")).status, 200);

    const exported = await pulumiOk(["stack", "export", "--stack", STACK]);
    assert.ok(!exported.stdout.includes(keyBody), "the state export holds the key only encrypted");
    assert.ok(!exported.stdout.includes("PRIVATE KEY"), "no private key in plaintext in the state");
    const outputs = await pulumi(["stack", "output", "--json", "--stack", STACK]);
    assert.ok(!outputs.stdout.includes(keyBody));
    for (const c of await docker.listContainers({ all: true, filters: { label: [`${labelKeys.prefix}=${PREFIX}`] } })) {
      const info = await docker.getContainer(c.Id).inspect();
      const visible = JSON.stringify([info.Config.Env, info.Config.Labels, info.Config.Cmd, info.Config.Entrypoint, info.Args]);
      assert.ok(!visible.includes(keyBody) && !visible.includes("PRIVATE KEY"), `${info.Name} shows no key`);
      assert.ok(!(await containerLogsOrWhy(c.Id, 5000)).includes("PRIVATE KEY"), `${info.Name} logs no key`);
    }
    await assertQuietPreview("after up in files mode");
  });
});
