/**
 * Monitoring on the real engine, with its own stack (Pulumi.e2e-monitoring.yaml, port 18060,
 * measurements every 5 seconds): Prometheus scrapes the hub and the exporter; two users' servers
 * show in the measurements within two scrape intervals and a stopped one drops out; user servers
 * cannot reach Prometheus or the exporter; an admin sees the dashboards in Chromium and a user who
 * is not an admin is refused; Prometheus keeps its data through a hub replacement; `npm run report`
 * lists both users with their server time, and its page renders in Chromium (screenshots kept in
 * test-artifacts/).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { escapeUserName } from "../../components/identity";
import { artifactsDir, saveContainerLogs } from "./artifacts";
import { BrowserSession } from "./browser-session";
import { chromiumArgs, chromiumPath } from "./chromium";
import { command, show } from "./commands";
import { dockerExec, inspectContainer, requireEngine } from "./engine";
import { HubApi } from "./hub-api";
import { ensureStack, output, pulumiEnv, stackHub, up } from "./pulumi";
import { removeStack } from "./remove-stack";
import { editedStackFile, stackSkip as skip } from "./stack";
import { waitFor, waitForHub } from "./wait";

const STACK = "e2e-monitoring";
const PREFIX = "gmap-e2e-mon";
const PROMETHEUS = `${PREFIX}-prometheus`;
/** monitoring.scrapeInterval of the stack file. */
const INTERVAL_MS = 5_000;
const ADMIN = "mon-admin";
const ADA = "mon-ada";
const BOB = "mon-bob";
const CAROL = "mon-carol";
/** Bytes of the file written into ada's home. */
const BALLAST = 8 * 1024 * 1024;

/** An instant query in the stack's Prometheus (promtool, in its container): the result vector. */
async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  return JSON.parse(await dockerExec(PROMETHEUS, ["promtool", "query", "instant", "-o", "json", "http://localhost:9090", expr]));
}

/** The single value of a query's result, or undefined when it has none. */
async function scalar(expr: string): Promise<number | undefined> {
  const result = await query(expr);
  return result.length === 1 ? Number(result[0]!.value[1]) : undefined;
}

/** Waits until `check` holds, polling every second; returns the milliseconds it took. */
async function within(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  await waitFor(what, async () => ((await check()) ? true : undefined), timeoutMs, 1000);
  return Date.now() - t0;
}

describe("monitoring: metrics, dashboards and usage reports", { skip }, () => {
  let api: HubApi;
  let adminPassword: string;
  let browser: Browser | undefined;

  before(async () => {
    await requireEngine();
    await removeStack(STACK);
    await ensureStack(STACK);
    const run = await up({ stack: STACK });
    assert.equal(run.code, 0, `pulumi up failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
    const env = await stackHub({ stack: STACK });
    await waitForHub(env.url);
    api = new HubApi(env);
    adminPassword = ((await output("adminPasswords", { stack: STACK })) as Record<string, string>)[ADMIN]!;
  });

  after(async () => {
    await browser?.close();
    await saveContainerLogs([`${PREFIX}-hub`, `${PREFIX}-exporter`, PROMETHEUS]).catch(() => undefined);
    assert.deepEqual(await removeStack(STACK), [], "cleaning up");
  });

  it("scrapes the hub (with its token), the exporter and itself", async () => {
    await within(
      "every target up",
      async () => {
        const up = await query("up");
        return ["hub", "gmap", "prometheus"].every((job) => up.some((s) => s.metric.job === job && s.value[1] === "1"));
      },
      60_000,
    );
    // the hub's own metrics, read with the gmap-prometheus service's token
    assert.equal(await scalar("jupyterhub_running_servers"), 0);
    assert.equal(await scalar("count(gmap_server_running)"), undefined, "no server yet");
    assert.ok(((await scalar("gmap_host_memory_bytes")) ?? 0) > 0, "the exporter measures the host");
    assert.equal(await scalar('sum(gmap_exporter_errors_total{source="hub"})'), 0, "the exporter reads the hub's API");
  });

  it("shows two users' running servers and each one's memory within two scrape intervals, and a stopped server drops out", async () => {
    for (const user of [ADA, BOB]) await api.createUser(user);
    await Promise.all([api.startServer(ADA), api.startServer(BOB, { image: "gispy" })]);
    let last = "";
    const seen = await within(
      "two running servers and both users' memory in Prometheus",
      async () => {
        const running = await query("gmap_server_running");
        const memory = await query("gmap_server_memory_bytes");
        last = JSON.stringify({ running, memory, hub: await query("jupyterhub_running_servers") });
        return (
          (await scalar("count(gmap_server_running)")) === 2 &&
          [ADA, BOB].every((u) => running.some((s) => s.metric.user === u)) &&
          [ADA, BOB].every((u) => memory.some((s) => s.metric.user === u && Number(s.value[1]) > 0))
        );
      },
      60_000,
    ).catch((e: Error) => assert.fail(`${e.message}; last seen: ${last}`));
    // two intervals (the exporter's measurement, then Prometheus's scrape), and the queries' own time
    assert.ok(seen <= 2 * INTERVAL_MS + 3_000, `seen after ${seen} ms`);
    const running = await query("gmap_server_running");
    // (Prometheus drops empty labels: the default server has no server label)
    assert.deepEqual(running.map((s) => [s.metric.user, s.metric.server ?? "", s.metric.image]).sort(), [
      [ADA, "", "localhost/notebook-minimal:5.5.1"],
      [BOB, "", "localhost/notebook-gispy:5.5.1"],
    ]);
    // spawner.memLimit 512M: each server's limit, labelled by user
    assert.equal(await scalar(`gmap_server_memory_limit_bytes{user="${ADA}"}`), 512 * 1024 * 1024);
    assert.deepEqual(await query(`gmap_user_group{user="${ADA}"}`).then((r) => r.map((s) => s.metric.group)), ["mission-team"]);
    // CPU and network counters per server too
    for (const metric of [
      "gmap_server_cpu_seconds_total",
      "gmap_server_network_receive_bytes_total",
      "gmap_server_network_transmit_bytes_total",
    ]) {
      assert.ok(((await scalar(`${metric}{user="${ADA}"}`)) ?? 0) > 0, metric);
    }
    // a file of known size in ada's home, measured later (homes every monitoring.homeUsageInterval)
    await api.runPython(ADA, `open("ballast.bin", "wb").write(b"g" * ${BALLAST})`, 60_000);

    await api.stopServer(BOB);
    const gone = await within(
      "bob's server out of the measurements",
      async () => {
        const running = await query("gmap_server_running");
        last = JSON.stringify(running);
        return running.length === 1 && running[0]!.metric.user === ADA;
      },
      60_000,
    ).catch((e: Error) => assert.fail(`${e.message}; last seen: ${last}`));
    assert.ok(gone <= 2 * INTERVAL_MS + 3_000, `dropped out after ${gone} ms`);
    assert.equal((await query(`gmap_server_running{user="${ADA}"}`)).length, 1, "ada's server still measured");
  });

  it("keeps Prometheus and the exporter out of the user servers' reach", async () => {
    const addressOn = async (container: string) =>
      (await inspectContainer(container)).NetworkSettings.Networks[`${PREFIX}-monitoring`]?.IPAddress;
    const targets: [string, number][] = [
      [(await addressOn(PROMETHEUS))!, 9090],
      [(await addressOn(`${PREFIX}-exporter`))!, 9101],
      ["prometheus", 9090],
      ["exporter", 9101],
    ];
    assert.ok(
      targets.every(([h]) => h),
      "Prometheus and the exporter have addresses on the monitoring network",
    );
    const ada = await inspectContainer(`${PREFIX}-user-${escapeUserName(ADA)}`);
    assert.deepEqual(Object.keys(ada.NetworkSettings.Networks), [`${PREFIX}-u-${escapeUserName(ADA)}`]);
    const code = [
      "import json, socket",
      "def probe(host, port):",
      "    try:",
      "        socket.create_connection((host, port), timeout=4).close()",
      "        return 'open'",
      "    except Exception as e:",
      "        return type(e).__name__",
      `print(json.dumps([probe(h, p) for h, p in ${JSON.stringify(targets)}]))`,
    ].join("\n");
    const fromServer = JSON.parse((await api.runPython(ADA, code, 90_000)).trim().split("\n").pop()!) as string[];
    assert.ok(
      fromServer.every((r) => r !== "open"),
      `a user server reached the monitoring: ${JSON.stringify(targets)} -> ${fromServer}`,
    );
    // the same probe from the hub, which is on the monitoring network, reaches both: the probe can tell
    const fromHub = JSON.parse(await dockerExec(`${PREFIX}-hub`, ["python3", "-c", code])) as string[];
    assert.deepEqual(fromHub, ["open", "open", "open", "open"]);
  });

  it("shows the dashboards to an admin in the browser, and refuses a user who is not an admin", async () => {
    const executablePath = chromiumPath();
    assert.ok(executablePath, "Chromium is installed (test/infra/engine.sh)");
    browser = await chromium.launch({ executablePath, headless: true, args: chromiumArgs });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${api.env.url}/hub/login?next=${encodeURIComponent("/hub/monitoring/")}`);
    await page.fill("#username_input", ADMIN);
    await page.fill("#password_input", adminPassword);
    await Promise.all([page.waitForURL(/\/hub\/monitoring\/$/, { timeout: 60_000 }), page.click("#login_submit")]);
    await Promise.all([page.waitForURL(/\/hub\/monitoring\/hub/, { timeout: 30_000 }), page.click('a[href$="/hub/monitoring/hub"]')]);
    // the last hour: this stack's measurements are minutes old
    await page.click('#gmap-range [data-range="1h"]');
    // the "Servers running" panel draws its chart (its state text empties once there is data)
    const panelDrawn = (title: string) =>
      page.waitForFunction(
        (t) => {
          const panel = [...document.querySelectorAll(".gmap-panel")].find((p) => p.querySelector("h2")?.textContent === t);
          return panel !== undefined && panel.querySelector(".gmap-state")?.textContent === "";
        },
        title,
        { timeout: 60_000 },
      );
    await panelDrawn("Servers running");
    await page.screenshot({ path: path.join(artifactsDir, "monitoring-dashboard-hub.png"), fullPage: true });
    await page.goto(`${api.env.url}/hub/monitoring/host#range=1h`);
    await panelDrawn("Top users by memory");
    await page.screenshot({ path: path.join(artifactsDir, "monitoring-dashboard-host.png"), fullPage: true });
    assert.deepEqual(errors, [], "no script errors");

    // a signed-up, authorized user who is not an admin
    const password = "Monitoring-Passw0rd";
    const carol = new BrowserSession(api.env);
    await carol.signUp(CAROL, password);
    const admin = new BrowserSession(api.env);
    await admin.login(ADMIN, adminPassword);
    await admin.authorize(CAROL);
    await carol.login(CAROL, password);
    assert.equal(await carol.whoami(), CAROL);
    // as a page's script asks: with the session's XSRF token (whoami above fetched it)
    const asScript = async (session: BrowserSession) => ({
      "Sec-Fetch-Mode": "cors",
      "X-XSRFToken": (await session.jar.getCookies(`${api.env.url}/hub/`)).find((c) => c.key === "_xsrf")!.value,
    });
    const queryPath = "/hub/monitoring/api/query_range?query=up&start=1&end=2&step=1";
    for (const p of ["/hub/monitoring/", "/hub/monitoring/hub"]) assert.equal((await carol.get(p)).status, 403, p);
    assert.equal((await carol.get(queryPath, await asScript(carol))).status, 403, "the query API refuses her");
    assert.equal(await admin.whoami(), ADMIN);
    assert.equal((await admin.get(queryPath, await asScript(admin))).status, 200, "the query API answers an admin");
    assert.equal((await admin.get(queryPath, { "Sec-Fetch-Mode": "cors" })).status, 403, "but not a script without the page's token");
  });

  it("keeps Prometheus and its measurements through a hub replacement", async () => {
    const before = await inspectContainer(PROMETHEUS);
    const scrapesBefore = (await scalar('count_over_time(up{job="hub"}[1h])'))!;
    const configFile = editedStackFile((c) => {
      c["jupyterhub:hub"].logLevel = "DEBUG";
    }, STACK);
    const hubBefore = (await inspectContainer(`${PREFIX}-hub`)).Id;
    const run = await up({ stack: STACK, configFile });
    assert.equal(run.code, 0, `pulumi up failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
    assert.notEqual((await inspectContainer(`${PREFIX}-hub`)).Id, hubBefore, "the hub was replaced");
    const afterwards = await inspectContainer(PROMETHEUS);
    assert.equal(afterwards.Id, before.Id, "Prometheus is the same container");
    assert.ok(((await scalar('count_over_time(up{job="hub"}[1h])')) ?? 0) >= scrapesBefore, "no measurement lost");
    await within("the new hub scraped", async () => (await scalar('up{job="hub"}')) === 1, 60_000);
  });

  it("measures each user's home", async () => {
    // the exporter measures the homes when it starts (it was replaced with the hub's settings) and every 60 s
    await within(
      "ada's home measured with her file",
      async () => ((await scalar(`gmap_home_bytes{user="${ADA}"}`)) ?? 0) >= BALLAST,
      90_000,
    );
    assert.ok(((await scalar(`gmap_home_bytes{user="${BOB}"}`)) ?? BALLAST) < BALLAST, "bob's home is measured on its own");
  });

  it("writes a usage report that lists both users with their server time, whose page renders in Chromium", async () => {
    const out = fs.mkdtempSync(path.join(artifactsDir, "monitoring-report-"));
    const run = await command("npm", ["run", "-s", "report", "--", STACK, "--since", "1d", "--out", out], 5 * 60_000, pulumiEnv());
    assert.equal(run.code, 0, show(run));
    const files = run.stdout.trim().split("\n").slice(-2);
    const csv = files.find((f) => f.endsWith(".csv"))!;
    const html = files.find((f) => f.endsWith(".html"))!;
    assert.ok(fs.existsSync(csv) && fs.existsSync(html), show(run));
    const [header, ...rows] = fs.readFileSync(csv, "utf8").trim().split(/\r?\n/);
    assert.equal(header, "date,user,groups,server_hours,peak_memory_bytes,images");
    const hours = (user: string) => rows.filter((r) => r.split(",")[1] === user).reduce((sum, r) => sum + Number(r.split(",")[3]), 0);
    for (const user of [ADA, BOB]) assert.ok(hours(user) > 0, `${user} has server time: ${rows.join("\n")}`);
    assert.ok(
      rows.some((r) => r.startsWith(`${new Date().toISOString().slice(0, 10)},${ADA},mission-team,`)),
      `ada's row names her group:\n${rows.join("\n")}`,
    );

    const page = await browser!.newPage({ viewport: { width: 1280, height: 1600 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith("file:")) requests.push(r.url());
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`file://${html}`);
    await page.waitForSelector('html[data-charts-ready="true"]', { timeout: 30_000 });
    assert.ok((await page.locator("canvas").count()) >= 4, "the page draws its charts");
    const text = await page.locator("body").innerText();
    for (const user of [ADA, BOB]) assert.ok(text.includes(user), `the page lists ${user}`);
    await page.screenshot({ path: path.join(artifactsDir, "monitoring-report.png"), fullPage: true });
    assert.deepEqual(requests, [], "the page is self-contained");
    assert.deepEqual(errors, [], "no script errors");
  });
});
