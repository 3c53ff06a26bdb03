/** Bounded logs of every container of the stack (logs) and the process limit of user servers (spawner.pidsLimit). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { byType, installMocks, recorded, types } from "./mocks";

installMocks("jupyterhub", "unit");

import { parseConfig, withoutSecrets } from "../../components/config";
import { hubSettings } from "../../components/settings";
import { refused } from "./config-problems";
import { deploy } from "./deploy-component";

const service = "docker:index/service:Service";

describe("logs", () => {
  it("bounds every log to 3 files of 10m by default", () => {
    assert.deepEqual(parseConfig({}).logs, { maxSize: "10m", maxFiles: 3 });
  });

  it("refuses sizes Docker's json-file driver would not take as meant, and file counts out of range", () => {
    for (const maxSize of ["10", "10M", "10mb", "0m", "1.5m", "10 m", "1t"]) {
      refused({ logs: { maxSize } }, "jupyterhub:logs.maxSize", /a whole number and k, m or g/);
    }
    refused({ logs: { maxFiles: 0 } }, "jupyterhub:logs.maxFiles", /Too small/i);
    refused({ logs: { maxFiles: 101 } }, "jupyterhub:logs.maxFiles", /Too big/i);
    refused({ logs: { maxAge: 3 } }, "jupyterhub:logs.maxAge", /unknown key/);
  });

  it("puts the same bound on the hub, the proxy, the front proxy, the database, the egress guard and the pre-pull services", async () => {
    await deploy("logs", {
      prefix: "logs",
      logs: { maxSize: "2m", maxFiles: 4 },
      hub: { publicUrl: "https://hub.example.org", bindAddress: "0.0.0.0", tls: { mode: "acme", acme: { email: "ops@example.org" } } },
    });
    await deploy("logs2", {
      prefix: "logs2",
      logs: { maxSize: "2m", maxFiles: 4 },
      hub: { database: { type: "postgres" } },
      engine: { mode: "swarm", serverConstraints: ["node.role==worker"] },
      spawner: { workVolume: { source: { type: "driver", driver: "gmap-sharedfs" } } },
    });
    const containers = [...byType(types.container, "logs-"), ...byType(types.container, "logs2-")];
    const names = containers.map((c) => c.inputs.name).sort();
    assert.deepEqual(names, ["logs-egress", "logs-front-proxy", "logs-hub", "logs-proxy", "logs2-hub", "logs2-postgres", "logs2-proxy"]);
    for (const c of containers) {
      assert.equal(c.inputs.logDriver, "json-file", c.inputs.name);
      assert.deepEqual(c.inputs.logOpts, { "max-size": "2m", "max-file": "4" }, c.inputs.name);
    }
    const services = recorded.filter((r) => r.type === service && r.name.startsWith("logs2"));
    assert.deepEqual(
      services.map((s) => s.inputs.name),
      ["logs2-pull-minimal", "logs2-egress"],
      "swarm mode pre-pulls the images and guards the nodes' egress",
    );
    for (const s of services) {
      assert.deepEqual(s.inputs.taskSpec.logDriver, { name: "json-file", options: { "max-size": "2m", "max-file": "4" } });
    }
  });
});

describe("spawner.pidsLimit", () => {
  it("limits every user server to 1024 processes and threads by default", () => {
    assert.equal(parseConfig({}).spawner.pidsLimit, 1024);
  });

  it("refuses limits a notebook server cannot work under, and non-integers", () => {
    refused({ spawner: { pidsLimit: 10 } }, "jupyterhub:spawner.pidsLimit", /at least 64/);
    refused({ spawner: { pidsLimit: 100.5 } }, "jupyterhub:spawner.pidsLimit", /int/i);
  });

  it("reaches the hub with the user servers' log options", () => {
    const config = parseConfig({ spawner: { pidsLimit: 300 }, logs: { maxSize: "1m", maxFiles: 2 } });
    const { spawner } = hubSettings(withoutSecrets(config), "unit", {}, {});
    assert.equal(spawner.pidsLimit, 300);
    assert.deepEqual(spawner.logOptions, { "max-size": "1m", "max-file": "2" });
  });
});
