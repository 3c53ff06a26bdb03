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
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import * as tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import got from "got";
import { chromium } from "playwright-core";
import { labelKeys } from "../../components/names";
import { BrowserSession, chromiumArgs, chromiumPath, HubApi, type HubEnv, waitFor } from "./client";
import {
  docker,
  editedStackFile,
  ensureStack,
  output,
  preview,
  projectDir,
  pulumi,
  pulumiEnv,
  pulumiOk,
  removeStack,
  stackHub,
  stackSkip as skip,
  up as pulumiUp,
  requireEngine,
} from "./stack";
import { testCa } from "../unit/tls-fixtures";

const STACK = "e2e-tls";
const PREFIX = "gmap-tls";
const HOST = "hub.gmap-tls.test";
const HTTPS_PORT = 18443;
const HTTP_PORT = 18080;
const PEBBLE_IMAGE = "localhost/pebble:2.10.3";
const PEBBLE = `${PREFIX}-pebble`;
/** Pebble's management API (its roots) published on loopback for the test. */
const PEBBLE_MANAGEMENT_PORT = 18015;
const FRONT = `${PREFIX}-front-proxy`;
const artifacts = path.join(projectDir, "test-artifacts");

async function containerLogs(name: string): Promise<string> {
  try {
    const buf = (await docker.getContainer(name).logs({ stdout: true, stderr: true, tail: 5000 })) as unknown as Buffer;
    return buf.toString("utf8");
  } catch (e) {
    return `(no logs: ${(e as Error).message})`;
  }
}

/** The certificates Pebble issued (one per finalized order). */
async function issuedAtPebble(): Promise<string[]> {
  return [...(await containerLogs(PEBBLE)).matchAll(/Issued certificate serial ([0-9a-f]+)/g)].map((m) => m[1]!);
}

/** Pebble's directory certificate root (minica), from the image. */
async function pebbleMinica(): Promise<string> {
  const c = await docker.createContainer({ Image: PEBBLE_IMAGE, Cmd: ["true"], Labels: { [labelKeys.prefix]: PREFIX } });
  try {
    const tar = (await c.getArchive({ path: "/etc/pebble/certs/pebble.minica.pem" })) as unknown as NodeJS.ReadableStream;
    const chunks: Buffer[] = [];
    for await (const chunk of tar) chunks.push(Buffer.from(chunk as Buffer));
    const text = Buffer.concat(chunks).toString("latin1");
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/.exec(text)?.[0];
    if (!pem) throw new Error("no certificate in the pebble image's minica file");
    return pem;
  } finally {
    await c.remove({ force: true });
  }
}

/** Starts Pebble on the front network once `pulumi up` has created it (bounded by `done`). */
async function startPebbleWhenNetworkExists(done: () => boolean): Promise<void> {
  const network = `${PREFIX}-front`;
  for (let i = 0; i < 6000 && !done(); i++) {
    try {
      await docker.getNetwork(network).inspect();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const c = await docker.createContainer({
    name: PEBBLE,
    Image: PEBBLE_IMAGE,
    Labels: { [labelKeys.prefix]: PREFIX, [labelKeys.component]: "e2e-pebble" },
    ExposedPorts: { "15000/tcp": {} },
    HostConfig: {
      NetworkMode: network,
      PortBindings: { "15000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(PEBBLE_MANAGEMENT_PORT) }] },
    },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: ["pebble"] } } },
  });
  await c.start();
}

interface Served {
  readonly authorized: boolean;
  readonly error?: string;
  readonly serial: string;
  readonly names: string;
  readonly issuer: string;
}

/** The certificate the front proxy serves for HOST, verified against `ca`. */
function served(ca: string[]): Promise<Served> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port: HTTPS_PORT, servername: HOST, ca, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] },
      () => {
        const cert = socket.getPeerCertificate();
        resolve({
          authorized: socket.authorized,
          error: socket.authorizationError ? String(socket.authorizationError) : undefined,
          serial: cert.serialNumber?.toLowerCase() ?? "",
          names: cert.subjectaltname ?? "",
          issuer: [cert.issuer?.CN ?? ""].flat().join(","),
        });
        socket.end();
      },
    );
    socket.setTimeout(10_000, () => socket.destroy(new Error("TLS handshake timed out")));
    socket.on("error", reject);
  });
}

/** A plain HTTP request to the front proxy's HTTP port. */
function plainGet(pathAndQuery: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port: HTTP_PORT, path: pathAndQuery, headers: { Host: `${HOST}:${HTTP_PORT}` }, timeout: 10_000 },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, location: res.headers.location });
      },
    );
    req.on("error", reject);
  });
}

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
    const run = await pulumiUp({ stack: STACK, configFile });
    assert.equal(run.code, 0, `pulumi up ${STACK} failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
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

  async function assertQuietPreview(when: string) {
    const p = await preview({ stack: STACK, configFile });
    assert.equal(p.code, 0, p.stdout + p.stderr);
    assert.deepEqual(
      p.changes.map((s) => `${s.op} ${s.type} ${s.name} [${s.replaceKeys.join(",")}]`),
      [],
      `pulumi preview ${when} plans changes`,
    );
  }

  before(
    async () => {
      await requireEngine();
      // leftovers of an interrupted run (Pebble carries the stack's prefix label too)
      await removeStack(STACK);
      minica = await pebbleMinica();
      configFile = editedStackFile(withCaRoot(), STACK);
      await ensureStack(STACK);
      let finished = false;
      const deploying = pulumiUp({ stack: STACK, configFile }).finally(() => (finished = true));
      const pebble = startPebbleWhenNetworkExists(() => finished);
      const run = await deploying;
      await pebble;
      assert.equal(run.code, 0, `pulumi up ${STACK} failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
      // Pebble makes a new root at every start: the one to trust comes from its management API
      const root = await got(`https://localhost:${PEBBLE_MANAGEMENT_PORT}/roots/0`, {
        https: { certificateAuthority: minica },
        timeout: { request: 10_000 },
      }).text();
      roots = [root];
      const { url, token } = await stackHub({ stack: STACK });
      hub = { url, token, connect: { ca: root, address: "127.0.0.1" } };
      api = new HubApi(hub);
      adminPassword = ((await output("adminPasswords", { stack: STACK })) as Record<string, string>)["tls-admin"]!;
    },
    { timeout: 20 * 60_000 },
  );

  after(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    for (const c of [PEBBLE, FRONT, `${PREFIX}-hub`, `${PREFIX}-proxy`]) {
      fs.writeFileSync(path.join(artifacts, `${c}.log`), await containerLogs(c));
    }
    // Pebble first: the front network cannot go while it is connected
    await docker
      .getContainer(PEBBLE)
      .remove({ force: true })
      .catch(() => undefined);
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
    assert.deepEqual(await issuedAtPebble(), [firstSerial], "one order, one certificate");
    const logs = await containerLogs(FRONT);
    assert.match(logs, /"challenge":"(http-01|tls-alpn-01)"/, "Pebble validated the host name for real");
    await hubAnswers();
  });

  it("redirects HTTP to HTTPS at the public URL, sends HSTS, and only the front proxy publishes ports", async () => {
    assert.deepEqual(await plainGet("/hub/login?next=%2Fhub%2Fhome"), {
      status: 308,
      location: `https://${HOST}:${HTTPS_PORT}/hub/login?next=%2Fhub%2Fhome`,
    });
    const res = await api.request("/hub/login");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("strict-transport-security"), "max-age=31536000");
    const published = async (name: string) =>
      Object.entries(
        ((await docker.getContainer(name).inspect()).HostConfig.PortBindings ?? {}) as Record<
          string,
          { HostIp: string; HostPort: string }[] | null
        >,
      )
        .flatMap(([port, binds]) => (binds ?? []).map((b) => `${b.HostIp}:${b.HostPort}->${port}`))
        .sort();
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
      const intermediate = await got(`https://localhost:${PEBBLE_MANAGEMENT_PORT}/intermediates/0`, {
        https: { certificateAuthority: minica },
        timeout: { request: 10_000 },
      }).text();
      assert.ok(new X509Certificate(intermediate).verify(new X509Certificate(roots[0]!).publicKey), "the intermediate chains to the root");
      const spki = new X509Certificate(intermediate).publicKey.export({ type: "spki", format: "der" });
      const { createHash } = await import("node:crypto");
      const browser = await chromium.launch({
        executablePath: chromiumPath(),
        headless: true,
        args: [
          ...chromiumArgs,
          `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
          // trust what Pebble's intermediate (under the root the test trusts) signed, nothing else
          `--ignore-certificate-errors-spki-list=${createHash("sha256").update(spki).digest("base64")}`,
        ],
      });
      try {
        const page = await browser.newPage();
        // Chromium aborts a navigation when the host's interfaces change (Docker creating networks): once more then
        for (let attempt = 1; ; attempt++) {
          try {
            await page.goto(`http://${HOST}:${HTTP_PORT}/hub/login`);
            break;
          } catch (e) {
            if (attempt >= 3 || !/ERR_NETWORK_CHANGED/.test(String(e))) throw e;
          }
        }
        assert.equal(new URL(page.url()).protocol, "https:", "the browser was redirected to HTTPS");
        await page.fill("#username_input", "tls-admin");
        await page.fill("#password_input", adminPassword);
        await Promise.all([page.waitForURL(/\/(hub\/(home|spawn)|user\/)/, { timeout: 60_000 }), page.click("#login_submit")]);
        await page.goto(`${hub.url}/user/tls-admin/lab`);
        await page.locator("#jp-main-dock-panel").waitFor({ state: "visible", timeout: 120_000 });
        fs.mkdirSync(artifacts, { recursive: true });
        await page.screenshot({ path: path.join(artifacts, "jupyterlab-https.png") });
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
    assert.deepEqual(await issuedAtPebble(), [firstSerial], "no new order at Pebble");
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
      execFileSync("pulumi", ["config", "set", "--secret", key, "--stack", STACK, "--config-file", configFile, "--non-interactive"], {
        cwd: projectDir,
        env: pulumiEnv(),
        input: pem,
        stdio: ["pipe", "pipe", "pipe"],
        timeout: 60_000,
      });
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
      assert.ok(!(await containerLogs(c.Id)).includes("PRIVATE KEY"), `${info.Name} logs no key`);
    }
    await assertQuietPreview("after up in files mode");
  });
});
