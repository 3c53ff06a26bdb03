import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig, withoutSecrets } from "../../components/config";
import { spawnerDriverOptions, spawnerMounts } from "../../components/mounts";
import { hubSettings, swarmSettings } from "../../components/settings";
import { problemsOf } from "./config-problems";
import { runProgram } from "./run-program";

const homes = { source: { type: "driver", driver: "gmap-sharedfs" } };
const swarm = (extra: Record<string, unknown> = {}) => ({
  engine: { mode: "swarm", serverConstraints: ["node.role==worker"] },
  spawner: { workVolume: homes, egress: { restrict: false } },
  ...extra,
});
const has = (problems: string[], key: string, text: RegExp) =>
  assert.ok(
    problems.some((p) => p.startsWith(`jupyterhub:${key}: `) && text.test(p)),
    `expected ${key} ~ ${text}, got:\n${problems.join("\n")}`,
  );

describe("engine.mode swarm", () => {
  it("host is the default, and host stacks' settings carry no swarm section", () => {
    const c = parseConfig({});
    assert.equal(c.engine.mode, "host");
    assert.equal(swarmSettings(c), undefined);
    assert.equal(hubSettings(withoutSecrets(c), "dev", {}, {}).spawner.swarm, undefined);
  });

  it("refuses node-local storage and homes, naming the key and why", () => {
    const problems = problemsOf({
      engine: { mode: "swarm" },
      storage: [
        { name: "scratch", source: { type: "volume" }, mountPath: "/mnt/scratch" },
        { name: "isis", source: { type: "host", path: "/srv/isis" }, mountPath: "/mnt/isis", readOnly: true },
      ],
    });
    has(problems, "storage[0].source.type", /a Docker volume lives on one node/);
    has(problems, "storage[1].source.type", /a host directory exists on one node only/);
    has(problems, "spawner.workVolume.source", /homes must live on the network/);
  });

  it("accepts network storage, or no homes at all", () => {
    parseConfig(
      swarm({
        storage: [
          { name: "isis", source: { type: "nfs", server: "nas", export: "/isis" }, mountPath: "/mnt/isis", readOnly: true },
          { name: "team", source: { type: "driver", driver: "rclone", options: { remote: "s3:team" } }, mountPath: "/home/jovyan/team" },
        ],
      }),
    );
    parseConfig({ engine: { mode: "swarm" }, spawner: { workVolume: { enabled: false }, egress: { restrict: false } } });
  });

  it("placement constraints are checked, and only taken in swarm mode", () => {
    has(problemsOf(swarm({ engine: { mode: "swarm", serverConstraints: ["role=worker"] } })), "engine.serverConstraints[0]", /node\.role/);
    has(problemsOf({ engine: { serverConstraints: ["node.role==worker"] } }), "engine.serverConstraints", /need engine.mode swarm/);
    const image = { name: "isis", displayName: "ISIS", image: "example.org/isis:9", constraints: ["node.labels.memory==big"] };
    has(problemsOf({ images: [image] }), "images[0].constraints", /need engine.mode swarm/);
  });

  it("homes on NFS need {username}; on CIFS they need credentials under shareCredentials.user", () => {
    has(
      problemsOf({ spawner: { workVolume: { source: { type: "nfs", server: "nas", export: "/homes" } } } }),
      "spawner.workVolume.source.export",
      /\{username\}/,
    );
    has(
      problemsOf({ spawner: { workVolume: { source: { type: "cifs", server: "nas", share: "homes/{username}" } } } }),
      "spawner.workVolume.source",
      /shareCredentials\.user/,
    );
    parseConfig({
      spawner: { workVolume: { source: { type: "cifs", server: "nas", share: "homes/{username}" } } },
      shareCredentials: { user: { username: "hub", password: "pw" } },
    });
  });

  it("the spawner creates every network volume on the node it needs it, with its driver", () => {
    const c = parseConfig(
      swarm({
        images: [
          { name: "minimal", displayName: "Minimal", image: "example.org/minimal:1" },
          { name: "isis", displayName: "ISIS", image: "example.org/isis:9", constraints: [" node.labels.memory==big "] },
        ],
        storage: [{ name: "isis", source: { type: "nfs", server: "nas", export: "/isis" }, mountPath: "/mnt/isis", readOnly: true }],
      }),
    );
    // the NFS share's volumes carry the version of its options, a plugin's keep their names (their data may live under them)
    const versions = { isis: "0a0a0a0a" };
    const mounts = spawnerMounts(c, versions);
    const byName = Object.fromEntries(mounts.map((m) => [m.name, m]));
    assert.deepEqual(
      { driverOptions: byName.user!.driverOptions, driver: byName.user!.driver, source: byName.user!.source },
      { driverOptions: true, driver: "gmap-sharedfs", source: "jupyterhub-user-{username}" },
    );
    assert.equal(byName.isis!.source, "jupyterhub-isis-0a0a0a0a");
    assert.equal(byName.isis!.driverOptions, true, "a shared NFS volume is created by each node in swarm mode");
    assert.equal(byName.isis!.driver, undefined, "NFS uses Docker's local driver");
    assert.deepEqual(spawnerDriverOptions(c), { isis: { type: "nfs", device: ":/isis", o: "addr=nas,ro" }, user: {} });
    assert.deepEqual(swarmSettings(c), { constraints: ["node.role==worker"], imageConstraints: { isis: ["node.labels.memory==big"] } });
    const settings = hubSettings(withoutSecrets(c), "dev", {}, versions);
    assert.deepEqual(
      settings.spawner.images.map((i) => Object.keys(i).sort()),
      [
        ["displayName", "image", "name"],
        ["displayName", "image", "name"],
      ],
    );
  });

  it("in host mode a shared NFS volume stays a stack volume and the homes a volume of the host", () => {
    const c = parseConfig({
      storage: [{ name: "isis", source: { type: "nfs", server: "nas", export: "/isis" }, mountPath: "/mnt/isis", readOnly: true }],
    });
    const byName = Object.fromEntries(spawnerMounts(c, { isis: "0a0a0a0a" }).map((m) => [m.name, m]));
    assert.equal(byName.isis!.driverOptions, false);
    assert.equal(byName.user!.driverOptions, false);
    assert.deepEqual(spawnerDriverOptions(c), {});
  });

  it("the program declares an attachable overlay network, one global pre-pull service per image and the egress guards", () => {
    const { resources } = runProgram("e2e-swarm");
    const network = resources.find((r) => r.type === "docker:index/network:Network" && r.inputs.name === "gmap-swarm")!;
    // a volume plugin's volume keeps its name (its data may live under it): no version of its options
    assert.deepEqual(
      resources.filter((r) => r.type === "docker:index/volume:Volume").map((r) => r.inputs.name),
      ["gmap-swarm-hub-data", "gmap-swarm-archive"],
    );
    assert.equal(network.inputs.driver, "overlay");
    assert.equal(network.inputs.attachable, true);
    const services = resources.filter((r) => r.type === "docker:index/service:Service");
    assert.deepEqual(
      services
        .map((s) => [s.inputs.name, s.inputs.mode, s.inputs.taskSpec.containerSpec.image, s.inputs.taskSpec.placement.constraints])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      [
        // the egress guard on every node that may run servers, in the proxy's image
        ["gmap-swarm-egress", { global: true }, "localhost/configurable-http-proxy:5.1.0", ["node.role==worker"]],
        [
          "gmap-swarm-pull-gispy",
          { global: true },
          "10.216.0.2:5000/gmap/notebook-gispy:5.5.1",
          ["node.role==worker", "node.labels.gmap-node==w2"],
        ],
        ["gmap-swarm-pull-minimal", { global: true }, "10.216.0.2:5000/gmap/notebook-minimal:5.5.1", ["node.role==worker"]],
      ],
    );
    // every node pulls the notebook images with the registry's credentials: a secret, whole
    for (const s of services.filter((s) => s.inputs.taskSpec.containerSpec.image.startsWith("10.216.0.2:5000/")))
      assert.match(String(s.inputs.auth), /^\[secret [0-9a-f]{12}\]$/);
    const hub = resources.find((r) => r.type === "docker:index/container:Container" && r.inputs.name === "gmap-swarm-hub")!;
    assert.ok(hub, "the hub stays a container on the manager");
    const host = runProgram("e2e");
    assert.equal(host.resources.filter((r) => r.type === "docker:index/service:Service").length, 0);
    assert.equal(
      host.resources.find((r) => r.type === "docker:index/network:Network" && r.inputs.name === "gmap-e2e")!.inputs.driver,
      "bridge",
    );
  });
});
