/** spawner.namedServers and culler.removeNamedServers: the config, its refusals, and what the hub receives. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig, withoutSecrets } from "../../components/config";
import { hubSettings } from "../../components/settings";
import { refused } from "./config-problems";

const settingsOf = (raw: Record<string, unknown>) => hubSettings(withoutSecrets(parseConfig(raw)), "unit", {}, {});

describe("named servers", () => {
  it("are off by default, and the hub's settings stay without them", () => {
    assert.deepEqual(parseConfig({}).spawner.namedServers, { enabled: false, limit: 2 });
    const settings = settingsOf({});
    assert.equal(settings.spawner.namedServers, undefined);
    assert.equal(settings.culler.removeNamedServers, false);
  });

  it("give the hub the limit and the names of a named server's container and network", () => {
    const settings = settingsOf({ spawner: { namedServers: { enabled: true, limit: 3 } } });
    assert.deepEqual(settings.spawner.namedServers, {
      limit: 3,
      containerNameTemplate: "jupyterhub-user-{username}--{servername}",
      networkTemplate: "jupyterhub-u-{username}--{servername}",
    });
    // the default server's names stay: servers started before named servers were turned on are found
    assert.equal(settings.spawner.containerNameTemplate, "jupyterhub-user-{username}");
    assert.equal(settings.spawner.networkTemplate, "jupyterhub-u-{username}");
  });

  it("refuse a limit under 1 and the culler deleting named servers that cannot exist", () => {
    refused({ spawner: { namedServers: { enabled: true, limit: 0 } } }, "jupyterhub:spawner.namedServers.limit", /at least 1/);
    refused({ culler: { removeNamedServers: true } }, "jupyterhub:culler.removeNamedServers", /spawner\.namedServers\.enabled: true/);
    const settings = settingsOf({ spawner: { namedServers: { enabled: true } }, culler: { removeNamedServers: true } });
    assert.equal(settings.culler.removeNamedServers, true);
  });

  it("need a network each: spawner.maxServers past what spawner.networkPool holds is refused", () => {
    refused(
      { spawner: { networkPool: "10.251.0.0/24", maxServers: 17 } },
      "jupyterhub:spawner.maxServers",
      /17 servers need 17 networks, and spawner.networkPool 10.251.0.0\/24 holds 16/,
    );
    assert.equal(parseConfig({ spawner: { networkPool: "10.251.0.0/24", maxServers: 16 } }).spawner.maxServers, 16);
  });
});
