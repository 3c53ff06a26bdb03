/** monitoring: the config, Prometheus's configuration, the settings and the containers of a monitored stack. */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { byType, installMocks, recorded, redacted, types } from "./mocks";

installMocks("jupyterhub", "unit");

import { parseConfig, type StackConfigInput } from "../../components/config";
import { stackImages } from "../../components/config/sections/registries";
import { endpoints, hubPaths, monitoring } from "../../components/names";
import { hubMetricsPath, prometheusConfig, prometheusFlags } from "../../components/prometheus";
import { hubSettings, monitoringSettings } from "../../components/settings";
import { refused } from "./config-problems";
import { deploy, optionsOf } from "./deploy-component";

const monitored: StackConfigInput = { prefix: "mon", monitoring: { enabled: true } };

describe("monitoring config", () => {
  it("is off by default, and then hands the hub nothing", () => {
    const config = parseConfig({});
    assert.equal(config.monitoring.enabled, false);
    assert.equal(hubSettings(config, "unit", {}, {}).monitoring, undefined);
    assert.ok(!stackImages(config).some((i) => i.path[0] === "monitoring"));
  });

  it("refuses each wrong value by key", () => {
    refused({ monitoring: { enabled: true, retention: "30 days" } }, "jupyterhub:monitoring.retention", /duration such as 30d/);
    refused({ monitoring: { retentionSize: "10G" } }, "jupyterhub:monitoring.retentionSize", /size such as 10GB/);
    refused({ monitoring: { scrapeInterval: 1 } }, "jupyterhub:monitoring.scrapeInterval", /5/);
    refused({ monitoring: { memLimit: "1GB" } }, "jupyterhub:monitoring.memLimit", /write "1G"/);
    refused({ monitoring: { enabled: true, dashboards: true } }, "jupyterhub:monitoring.dashboards", /unknown key/);
  });

  it("is refused in swarm mode, where the servers run on other engines", () => {
    refused(
      { engine: { mode: "swarm", serverConstraints: ["node.role==worker"] }, monitoring: { enabled: true } },
      "jupyterhub:monitoring.enabled",
      /swarm/,
    );
  });

  it("reserves the monitoring's service names", () => {
    for (const name of [monitoring.prometheusService.name, monitoring.exporterService.name]) {
      refused(
        {
          services: [
            { name: "ok", scopes: ["read:users"] },
            { name, scopes: ["read:users"] },
          ],
        },
        "jupyterhub:services[1].name",
        /reserved/,
      );
    }
  });

  it("counts Prometheus's image among the stack's images (pinning, requireDigests)", () => {
    const config = parseConfig(monitored as Record<string, unknown>);
    assert.deepEqual(
      stackImages(config).find((i) => i.path[0] === "monitoring"),
      { path: ["monitoring", "image"], ref: config.monitoring.image },
    );
    assert.match(config.monitoring.image, /^quay\.io\/prometheus\/prometheus:v\d+\.\d+\.\d+$/);
  });
});

describe("Prometheus's configuration", () => {
  it("scrapes the hub under its base URL with its own token, the exporter and itself", () => {
    const config = parseConfig({ hub: { publicUrl: "https://hub.example.org/gmap/" }, monitoring: { enabled: true, scrapeInterval: 30 } });
    assert.equal(hubMetricsPath(config), "/gmap/hub/metrics");
    const parsed = JSON.parse(prometheusConfig(config));
    assert.deepEqual(parsed.global, { evaluation_interval: "30s", scrape_interval: "30s", scrape_timeout: "10s" });
    const jobs = Object.fromEntries(parsed.scrape_configs.map((j: { job_name: string }) => [j.job_name, j]));
    assert.deepEqual(Object.keys(jobs).sort(), ["gmap", "hub", "prometheus"]);
    assert.equal(jobs.hub.metrics_path, "/gmap/hub/metrics");
    assert.deepEqual(jobs.hub.authorization, { credentials_file: monitoring.prometheusToken, type: "Bearer" });
    assert.deepEqual(jobs.hub.static_configs, [{ targets: [`${endpoints.hubAlias}:${endpoints.hubPort}`] }]);
    assert.deepEqual(jobs.gmap.static_configs, [{ targets: [`${endpoints.exporterAlias}:${endpoints.exporterPort}`] }]);
    assert.equal(hubMetricsPath(parseConfig({})), "/hub/metrics");
  });

  it("keeps the data for the retention, bounded by size when one is given", () => {
    const flags = prometheusFlags(parseConfig({ monitoring: { retention: "12w", retentionSize: "20GB" } }));
    assert.ok(flags.includes("--storage.tsdb.retention.time=12w"));
    assert.ok(flags.includes("--storage.tsdb.retention.size=20GB"));
    assert.ok(flags.includes(`--storage.tsdb.path=${monitoring.prometheusData}`));
    assert.ok(!prometheusFlags(parseConfig({})).some((f) => f.includes("retention.size")));
  });
});

describe("a monitored stack", () => {
  before(async () => {
    await deploy("mon", monitored);
  });
  const container = (name: string) => byType(types.container, "mon").find((c) => c.inputs.name === name)!;
  const networksOf = (name: string) =>
    container(name)
      .inputs.networksAdvanced.map((n: { name: string }) => n.name)
      .sort();

  it("puts Prometheus and the exporter on an internal network of their own, which the hub joins and no user server does", () => {
    const network = byType(types.network, "mon").find((n) => n.inputs.name === "mon-monitoring")!;
    assert.equal(network.inputs.internal, true);
    assert.deepEqual(networksOf("mon-prometheus"), ["mon-monitoring"]);
    assert.deepEqual(networksOf("mon-exporter"), ["mon-monitoring"]);
    assert.deepEqual(networksOf("mon-hub"), ["mon", "mon-monitoring"]);
    for (const name of ["mon-prometheus", "mon-exporter"])
      assert.equal(container(name).inputs.ports, undefined, `${name} publishes nothing`);
    const settings = JSON.parse(container("mon-hub").inputs.uploads.find((u: { file: string }) => u.file === hubPaths.settings).content);
    assert.ok(!JSON.stringify(settings.spawner).includes("mon-monitoring"), "user servers never join the monitoring network");
    assert.deepEqual(settings.monitoring, monitoringSettings(parseConfig(monitored as Record<string, unknown>)));
  });

  it("keeps Prometheus's data in a retained volume, bounded in memory", () => {
    const volume = byType(types.volume, "mon").find((v) => v.inputs.name === "mon-hub-prometheus")!;
    assert.equal(optionsOf(volume)?.retainOnDelete, true);
    const prometheus = container("mon-prometheus");
    assert.deepEqual(prometheus.inputs.volumes, [{ volumeName: "mon-hub-prometheus", containerPath: monitoring.prometheusData }]);
    assert.equal(prometheus.inputs.memory, 1024);
    assert.deepEqual(prometheus.inputs.command, prometheusFlags(parseConfig(monitored as Record<string, unknown>)));
  });

  it("runs the exporter in the hub's image with the hub's settings, the Docker socket and its own token", () => {
    const exporter = container("mon-exporter");
    const hubImage = byType(types.image, "mon")[0]!;
    assert.equal(hubImage.inputs.imageName, "mon-hub:local");
    assert.deepEqual(exporter.inputs.command, ["python3", "-m", "gmap_hub.monitoring.exporter"]);
    assert.deepEqual(exporter.inputs.volumes, [{ hostPath: "/var/run/docker.sock", containerPath: hubPaths.dockerSocket }]);
    const files = exporter.inputs.uploads.map((u: { file: string; permissions: string }) => [u.file, u.permissions]);
    assert.deepEqual(files, [
      [hubPaths.settings, "0644"],
      [monitoring.exporterToken, "0600"],
    ]);
    const hubSettingsFile = container("mon-hub").inputs.uploads.find((u: { file: string }) => u.file === hubPaths.settings).content;
    assert.equal(exporter.inputs.uploads[0].content, hubSettingsFile, "the very settings the hub reads");
  });

  it("gives the hub Chart.js for the dashboards", () => {
    const chart = container("mon-hub").inputs.uploads.find((u: { file: string }) => u.file === monitoring.chartJsFile);
    assert.ok(chart && chart.content.length > 100_000 && /Chart\.js v4/.test(chart.content));
  });

  it("keeps Prometheus as it is when the hub's settings change (a hub replacement leaves it running)", async () => {
    await deploy("alt", { ...monitored, hub: { logLevel: "DEBUG" }, culler: { timeout: 7200 } });
    const prometheusOf = (name: string) => byType(types.container, name).find((c) => c.inputs.name === "mon-prometheus")!;
    const hubOf = (name: string) => byType(types.container, name).find((c) => c.inputs.name === "mon-hub")!;
    assert.notDeepEqual(redacted(hubOf("alt").raw), redacted(hubOf("mon-").raw), "the hub's inputs change");
    // the same inputs but the token (each of the two test stacks generates its own)
    const withoutToken = (name: string) => {
      const inputs = structuredClone(prometheusOf(name).inputs);
      for (const u of inputs.uploads) if (u.file === monitoring.prometheusToken) u.content = "(token)";
      return inputs;
    };
    assert.deepEqual(withoutToken("alt"), withoutToken("mon-"));
  });

  it("keeps the monitoring's tokens out of every plain input", () => {
    const hub = container("mon-hub");
    const secrets = JSON.parse(hub.inputs.uploads.find((u: { file: string }) => u.file === hubPaths.secrets).content);
    const tokens = [secrets.monitoringTokens.prometheus, secrets.monitoringTokens.exporter];
    assert.equal(new Set(tokens).size, 2);
    for (const r of recorded.filter((r) => r.name.startsWith("mon"))) {
      const plain = JSON.stringify(redacted(r.raw));
      for (const token of tokens) assert.ok(!plain.includes(token), `${r.type} ${r.name} carries a token in plain text`);
    }
    const prometheus = container("mon-prometheus").inputs.uploads.find((u: { file: string }) => u.file === monitoring.prometheusToken);
    assert.equal(prometheus.content, secrets.monitoringTokens.prometheus);
  });
});
