import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { installMocks, recorded, byType, types } from "./mocks";
installMocks();
import { parseConfig } from "../../components/config";
import { blockedRanges } from "../../components/config/sections/egress";
import { egressGuardEnv, egressRules } from "../../components/egress";
import { egressChains } from "../../components/names";
import { refused } from "./config-problems";
import { deploy } from "./deploy-component";

const chains = egressChains("gmap");
const rulesOf = (spawner: Record<string, unknown> = {}) => {
  const c = parseConfig({ spawner });
  return egressRules(c.spawner.egress, c.spawner.networkPool, chains).split("\n");
};

describe("spawner.egress", () => {
  it("restricts by default: DNS open, nothing allowed", () => {
    assert.deepEqual(parseConfig({}).spawner.egress, { restrict: true, dns: true, allow: [] });
  });

  it("the chains are the stack's own, within iptables' 28 characters", () => {
    const long = egressChains("a-very-long-prefix-of-a-stack-that-goes-on");
    for (const name of [...Object.values(chains), ...Object.values(long)]) assert.ok(name.length <= 28, name);
    assert.notEqual(chains.forward, long.forward);
    assert.deepEqual(egressChains("gmap"), chains);
  });

  it("forwarded packets: the pool and replies return, then every blocked range is refused", () => {
    const rules = rulesOf();
    const fwd = rules.filter((r) => r.startsWith(`-A ${chains.forward} `));
    assert.equal(fwd[0], `-A ${chains.forward} -d 10.251.0.0/16 -j RETURN`);
    assert.equal(fwd[1], `-A ${chains.forward} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`);
    assert.deepEqual(
      fwd.filter((r) => r.endsWith(`-j ${chains.deny}`)),
      blockedRanges.map((range) => `-A ${chains.forward} -d ${range} -j ${chains.deny}`),
    );
    assert.ok(fwd.includes(`-A ${chains.forward} -p udp --dport 53 -j RETURN`));
    assert.ok(fwd.includes(`-A ${chains.forward} -p tcp --dport 53 -j RETURN`));
  });

  it("packets to the Docker host itself: all refused but replies, DNS and the allow-list", () => {
    const input = rulesOf({ egress: { allow: [{ to: "10.0.0.5/32", ports: [9100] }] } }).filter((r) => r.startsWith(`-A ${chains.input} `));
    assert.deepEqual(input, [
      `-A ${chains.input} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
      `-A ${chains.input} -d 10.0.0.5/32 -p tcp --dport 9100 -j RETURN`,
      `-A ${chains.input} -d 10.0.0.5/32 -p udp --dport 9100 -j RETURN`,
      `-A ${chains.input} -p udp --dport 53 -j RETURN`,
      `-A ${chains.input} -p tcp --dport 53 -j RETURN`,
      `-A ${chains.input} -j ${chains.deny}`,
    ]);
  });

  it("allow entries open a range on all ports, or on ports and port ranges, before the blocked ranges", () => {
    const rules = rulesOf({ egress: { dns: false, allow: [{ to: "192.168.10.0/24" }, { to: "10.1.2.3/32", ports: [443, "8000-8100"] }] } });
    const fwd = rules.filter((r) => r.startsWith(`-A ${chains.forward} `));
    const at = (r: string) => fwd.indexOf(`-A ${chains.forward} ${r}`);
    assert.ok(at("-d 192.168.10.0/24 -j RETURN") > 0);
    assert.ok(at("-d 10.1.2.3/32 -p tcp --dport 8000:8100 -j RETURN") > 0);
    assert.ok(at("-d 10.1.2.3/32 -p udp --dport 443 -j RETURN") > 0);
    assert.ok(at("-d 10.1.2.3/32 -p udp --dport 443 -j RETURN") < at(`-d 10.0.0.0/8 -j ${chains.deny}`));
    assert.equal(
      fwd.find((r) => r.includes("--dport 53")),
      undefined,
      "dns: false opens no DNS port",
    );
  });

  it("one iptables-restore transaction that flushes and refills only the stack's chains", () => {
    const rules = rulesOf();
    assert.equal(rules[0], "*filter");
    assert.equal(rules.at(-2), "COMMIT");
    for (const chain of Object.values(chains)) {
      assert.ok(rules.includes(`:${chain} - [0:0]`));
      assert.ok(rules.includes(`-F ${chain}`));
    }
    assert.ok(
      rules.every((r) => !/^-[AIF] (INPUT|FORWARD|DOCKER-USER)\b/.test(r)),
      "the guard's script adds the jumps, once",
    );
    assert.ok(rules.includes(`-A ${chains.deny} -p tcp -j REJECT --reject-with tcp-reset`));
  });

  it("refuses ranges that are not networks, ports out of range, and the allow-list without restrict", () => {
    refused({ spawner: { egress: { allow: [{ to: "192.168.10.1/24" }] } } }, "jupyterhub:spawner.egress.allow[0].to", /host bits are zero/);
    refused({ spawner: { egress: { allow: [{ to: "example.org" }] } } }, "jupyterhub:spawner.egress.allow[0].to", /IPv4 range/);
    refused({ spawner: { egress: { allow: [{ to: "10.0.0.0/8", ports: [0] }] } } }, "jupyterhub:spawner.egress.allow[0].ports[0]", /port/);
    refused(
      { spawner: { egress: { allow: [{ to: "10.0.0.0/8", ports: ["9000-8000"] }] } } },
      "jupyterhub:spawner.egress.allow[0].ports[0]",
      /port/,
    );
    refused({ spawner: { egress: { allow: [{ to: "10.0.0.0/8", ports: [] }] } } }, "jupyterhub:spawner.egress.allow[0].ports", /.+/);
    refused(
      { spawner: { egress: { restrict: false, allow: [{ to: "10.0.0.0/8" }] } } },
      "jupyterhub:spawner.egress.allow",
      /restrict: true/,
    );
  });

  it("swarm mode keeps the servers off the managers, where the rules would hold the hub too", () => {
    const swarm = (serverConstraints: string[]) => ({
      engine: { mode: "swarm", serverConstraints },
      spawner: { workVolume: { enabled: false } },
    });
    refused(swarm([]), "jupyterhub:engine.serverConstraints", /node\.role==worker/);
    refused(swarm(["node.labels.memory==big"]), "jupyterhub:engine.serverConstraints", /hub's and the proxy's too/);
    for (const keep of ["node.role==worker", "node.role != manager"]) parseConfig(swarm(["node.labels.memory==big", keep]));
    parseConfig({ engine: { mode: "swarm" }, spawner: { workVolume: { enabled: false }, egress: { restrict: false } } });
  });
});

describe("the egress guard", () => {
  it("runs with four capabilities in the host's network and pids, restarts always, waits until the rules are in place", async () => {
    await deploy("eg", { prefix: "eg", spawner: { egress: { allow: [{ to: "192.168.10.0/24", ports: [443] }] } } });
    const guard = byType(types.container, "eg-egress")[0]!.inputs;
    assert.equal(guard.name, "eg-egress");
    assert.deepEqual(guard.capabilities, {
      drops: ["ALL"],
      adds: ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE"],
    });
    assert.equal(guard.privileged, undefined);
    assert.equal(guard.networkMode, "host");
    assert.equal(guard.pidMode, "host");
    assert.equal(guard.restart, "always");
    assert.equal(guard.user, "0");
    assert.equal(guard.wait, true);
    assert.equal(guard.entrypoints[4], "/bin/sh");
    assert.match(guard.entrypoints[2], /exec nsenter --target "\$engine" --mount/);
    assert.match(guard.healthcheck.tests.join(" "), /-C DOCKER-USER .*-C INPUT/);
    const c = parseConfig({ prefix: "eg", spawner: { egress: { allow: [{ to: "192.168.10.0/24", ports: [443] }] } } });
    const env = egressGuardEnv(c.spawner.egress, "10.251.0.0/16", egressChains("eg"));
    assert.deepEqual(
      guard.envs,
      Object.entries(env).map(([key, value]) => `${key}=${value}`),
    );
    assert.equal(env.EGRESS_INTERFACE, undefined, "the host's guard matches the pool");
    // the proxy's image, so that a hub upgrade (hub.baseImage) leaves the guard alone
    assert.equal(guard.image, `sha256:id-of-${c.proxy.image}`);
    assert.equal(guard.image, byType(types.container, "eg-proxy")[0]!.inputs.image);
  });

  it("is not deployed with restrict: false", async () => {
    await deploy("open", { prefix: "open", spawner: { egress: { restrict: false } } });
    assert.equal(byType(types.container, "open-egress").length, 0);
    assert.ok(recorded.some((r) => r.name === "open-hub"));
  });

  it("in swarm mode is a global service on the nodes that may run servers, in each node's network and filesystem", async () => {
    const spawner = { workVolume: { enabled: false }, egress: { allow: [{ to: "192.168.10.0/24" }] } };
    await deploy("sw", { prefix: "sw", engine: { mode: "swarm", serverConstraints: ["node.role==worker"] }, spawner });
    assert.equal(byType(types.container, "sw-egress").length, 0, "no guard container on the manager");
    const [guard] = byType(types.service, "sw-egress");
    assert.ok(guard, "the guard service");
    const { name, mode, taskSpec } = guard.inputs;
    const spec = taskSpec.containerSpec;
    assert.equal(name, "sw-egress");
    assert.deepEqual(mode, { global: true });
    assert.deepEqual(taskSpec.placement.constraints, ["node.role==worker"]);
    assert.deepEqual(taskSpec.networksAdvanceds, [{ name: "host-network-id" }]);
    // the proxy's image: the stack's own, not one users' servers run
    assert.equal(spec.image, parseConfig({}).proxy.image);
    assert.deepEqual(spec.commands.slice(0, 4), ["chroot", "/host", "/bin/sh", "-c"]);
    assert.deepEqual(spec.mounts, [{ type: "bind", source: "/", target: "/host", readOnly: true }]);
    assert.deepEqual([spec.capDrops, spec.capAdds], [["ALL"], ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_CHROOT"]]);
    assert.equal(spec.user, "0");
    assert.deepEqual(spec.healthcheck.tests.slice(0, 3), ["CMD", "chroot", "/host"]);
    const c = parseConfig({ prefix: "sw", spawner });
    assert.deepEqual(spec.env, { ...egressGuardEnv(c.spawner.egress, "10.251.0.0/16", egressChains("sw"), "docker_gwbridge") });
    assert.equal(spec.env.EGRESS_INTERFACE, "docker_gwbridge");
    assert.match(spec.env.EGRESS_RULES, /-d 192\.168\.10\.0\/24 -j RETURN/);
  });
});
