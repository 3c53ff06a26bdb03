/** spawner: the value rules of memLimit, cpuLimit and networkPool. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../components/config";
import { problemsOf, refused } from "./config-problems";

describe("spawner.memLimit", () => {
  it("accepts what JupyterHub's ByteSpecification and Docker accept", () => {
    for (const memLimit of ["6M", "512M", "4G", "1.5G", "6144K", "1T"]) {
      assert.equal(parseConfig({ spawner: { memLimit } }).spawner.memLimit, memLimit);
    }
  });

  it("refuses plain numbers, suggesting a unit", () => {
    refused({ spawner: { memLimit: "512" } }, "jupyterhub:spawner.memLimit", /"512" has no unit.*write "512M"/);
    refused({ spawner: { memLimit: "4096" } }, "jupyterhub:spawner.memLimit", /write "4096M"/);
  });

  it("refuses zero and limits under Docker's 6 MiB minimum", () => {
    refused({ spawner: { memLimit: "0" } }, "jupyterhub:spawner.memLimit", /leave spawner.memLimit unset/);
    refused({ spawner: { memLimit: "0G" } }, "jupyterhub:spawner.memLimit", /leave spawner.memLimit unset/);
    refused({ spawner: { memLimit: "5M" } }, "jupyterhub:spawner.memLimit", /minimum memory limit of 6M/);
    refused({ spawner: { memLimit: "6143K" } }, "jupyterhub:spawner.memLimit", /minimum memory limit of 6M/);
    refused({ spawner: { memLimit: "3" } }, "jupyterhub:spawner.memLimit", /give at least 6M/);
  });

  it("refuses units JupyterHub does not take, suggesting the spelling it does", () => {
    refused({ spawner: { memLimit: "4g" } }, "jupyterhub:spawner.memLimit", /write "4G"/);
    refused({ spawner: { memLimit: "512MB" } }, "jupyterhub:spawner.memLimit", /write "512M"/);
    refused({ spawner: { memLimit: "2 Gb" } }, "jupyterhub:spawner.memLimit", /write "2G"/);
    refused({ spawner: { memLimit: "4GiB" } }, "jupyterhub:spawner.memLimit", /looks like "4G"/);
    refused({ spawner: { memLimit: "nanG" } }, "jupyterhub:spawner.memLimit", /looks like "4G"/);
    refused({ spawner: { memLimit: "99999T" } }, "jupyterhub:spawner.memLimit", /more than 1024T/);
  });
});

describe("spawner.cpuLimit", () => {
  it("accepts 0.01 to 1024 CPUs", () => {
    for (const cpuLimit of [0.01, 0.5, 2, 1024]) assert.equal(parseConfig({ spawner: { cpuLimit } }).spawner.cpuLimit, cpuLimit);
  });

  it("refuses quotas Docker refuses and more than 1024 CPUs", () => {
    refused({ spawner: { cpuLimit: 0.001 } }, "jupyterhub:spawner.cpuLimit", /at least 0\.01/);
    refused({ spawner: { cpuLimit: 0 } }, "jupyterhub:spawner.cpuLimit", /at least 0\.01/);
    refused({ spawner: { cpuLimit: 2048 } }, "jupyterhub:spawner.cpuLimit", /at most 1024/);
  });
});

describe("spawner.networkPool", () => {
  it("takes an IPv4 network address of a /24 or larger range, 10.251.0.0/16 by default", () => {
    assert.equal(parseConfig({}).spawner.networkPool, "10.251.0.0/16");
    assert.equal(parseConfig({ spawner: { networkPool: "192.168.64.0/20" } }).spawner.networkPool, "192.168.64.0/20");
    for (const bad of ["10.251.0.1/16", "10.251.0.0/25", "10.0.0.0/7", "10.251.0.0", "fd00::/64"]) {
      assert.ok(
        problemsOf({ spawner: { networkPool: bad } }).some((p) => p.startsWith("jupyterhub:spawner.networkPool")),
        bad,
      );
    }
  });
});
