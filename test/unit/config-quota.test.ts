/** spawner.workVolume.quota and storage[].quota: per-user host directories with a size limit (Btrfs), the rules and the hub's settings; /tmp and the writable layer. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../components/config";
import { spawnerMounts } from "../../components/mounts";
import { refused } from "./config-problems";

const GiB = 2 ** 30;
const homes = { type: "host", path: "/srv/gmap/homes/{username}" };
const withQuota = (quota: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  ...extra,
  spawner: { workVolume: { source: homes, quota: { filesystem: "btrfs", size: "10G", ...quota } } },
});

describe("the homes' quota", () => {
  it("gives the hub the limit in bytes, per group, on the homes' per-user bind mount", () => {
    const config = parseConfig(
      withQuota(
        { groups: { "mission-team": "200G", "summer-school": "2G" } },
        { groups: [{ name: "mission-team" }, { name: "summer-school" }] },
      ),
    );
    const home = spawnerMounts(config, {}).find((m) => m.name === "user")!;
    assert.deepEqual(
      { type: home.type, source: home.source, perUser: home.perUser, driverOptions: home.driverOptions, quota: home.quota },
      {
        type: "bind",
        source: "/srv/gmap/homes/{username}",
        perUser: true,
        driverOptions: false,
        quota: { filesystem: "btrfs", bytes: 10 * GiB, groups: { "mission-team": 200 * GiB, "summer-school": 2 * GiB } },
      },
    );
  });

  it("is absent from the settings without a quota", () => {
    assert.ok(spawnerMounts(parseConfig({}), {}).every((m) => m.quota === undefined));
  });

  it("holds per-user storage in host directories too", () => {
    const scratch = {
      name: "scratch",
      source: { type: "host", path: "/srv/gmap/scratch/{username}" },
      mountPath: "/scratch",
      perUser: true,
    };
    const config = parseConfig({ storage: [{ ...scratch, quota: { filesystem: "btrfs", size: "50G" } }] });
    assert.deepEqual(spawnerMounts(config, {}).find((m) => m.name === "scratch")!.quota, {
      filesystem: "btrfs",
      bytes: 50 * GiB,
      groups: {},
    });
    refused(
      {
        storage: [
          { ...scratch, perUser: false, source: { type: "host", path: "/srv/gmap/scratch" }, quota: { filesystem: "btrfs", size: "5G" } },
        ],
      },
      "jupyterhub:storage[0].quota",
      /set perUser: true/,
    );
    refused(
      { storage: [{ ...scratch, source: { type: "volume" }, quota: { filesystem: "btrfs", size: "5G" } }] },
      "jupyterhub:storage[0].quota",
      /host/,
    );
  });

  it("needs the homes in a host directory", () => {
    refused(
      { spawner: { workVolume: { quota: { filesystem: "btrfs", size: "10G" } } } },
      "jupyterhub:spawner.workVolume.quota",
      /source to \{type: host/,
    );
    refused(
      {
        spawner: {
          workVolume: {
            source: { type: "nfs", server: "files", export: "/homes/{username}" },
            quota: { filesystem: "btrfs", size: "10G" },
          },
        },
      },
      "jupyterhub:spawner.workVolume.quota",
      /host directory/,
    );
  });

  it("refuses sizes Btrfs cannot hold or that are written another way, by key", () => {
    refused(withQuota({ size: "10g" }), "jupyterhub:spawner.workVolume.quota.size", /write "10G"/);
    refused(withQuota({ size: "8M" }), "jupyterhub:spawner.workVolume.quota.size", /below 16M/);
    refused(withQuota({ size: "1.5G" }), "jupyterhub:spawner.workVolume.quota.size", /whole number/);
    refused(withQuota({ filesystem: "xfs" }), "jupyterhub:spawner.workVolume.quota.filesystem", /"btrfs" is the quota this stack enforces/);
  });

  it("refuses groups the stack does not know", () => {
    refused(withQuota({ groups: { nobody: "20G" } }), "jupyterhub:spawner.workVolume.quota.groups.nobody", /nobody/);
  });

  it("keeps homes in host directories out of swarm mode", () => {
    refused(
      { engine: { mode: "swarm" }, spawner: { egress: { restrict: false }, workVolume: { source: homes } } },
      "jupyterhub:spawner.workVolume.source.type",
      /host directory exists on one node only/,
    );
  });
});

describe("/tmp and the writable layer", () => {
  it("are sizes in the config, refused by key when written another way or too small", () => {
    const config = parseConfig({ spawner: { tmpSize: "2G", writableLayerSize: "20G" } });
    assert.deepEqual([config.spawner.tmpSize, config.spawner.writableLayerSize], ["2G", "20G"]);
    refused({ spawner: { tmpSize: "2gb" } }, "jupyterhub:spawner.tmpSize", /write "2G"/);
    refused({ spawner: { writableLayerSize: "16M" } }, "jupyterhub:spawner.writableLayerSize", /below 64M/);
  });

  it("stay out of swarm mode (services take neither)", () => {
    const swarm = { engine: { mode: "swarm" }, spawner: { egress: { restrict: false }, tmpSize: "1G" } };
    refused(swarm, "jupyterhub:spawner.tmpSize", /Swarm services take neither/);
  });
});
