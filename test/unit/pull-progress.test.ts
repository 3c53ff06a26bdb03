/** Long pulls made visible (components/pull-progress.ts), the swarm pre-pulls waited for (components/node-tasks-wait.ts) and the engine the program pulls on (components/docker-engine.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { engineClient } from "../../components/docker-engine";
import { bytes, PullTally } from "../../components/pull-progress";
import { nodeTasksState, prePullWording } from "../../components/node-tasks-wait";

describe("pull progress", () => {
  it("writes sizes as people read them", () => {
    assert.equal(bytes(512), "512 B");
    assert.equal(bytes(5 * 2 ** 20), "5.0 MiB");
    assert.equal(bytes(312 * 2 ** 20), "312 MiB");
    assert.equal(bytes(1.4 * 2 ** 30), "1.4 GiB");
  });

  it("sums the layers' bytes from the engine's events; layers already there count as done", () => {
    const tally = new PullTally();
    tally.add({ status: "Pulling from gmap/isis", id: "8.3" });
    tally.add({ status: "Already exists", id: "a" });
    tally.add({ status: "Pulling fs layer", id: "b" });
    tally.add({ status: "Pulling fs layer", id: "c" });
    tally.add({ status: "Downloading", id: "b", progressDetail: { current: 100 * 2 ** 20, total: 400 * 2 ** 20 } });
    tally.add({ status: "Downloading", id: "c", progressDetail: { current: 2 ** 20, total: 1024 * 2 ** 20 } });
    assert.equal(tally.summary(), "101 MiB of 1.4 GiB, 1 of 3 layers");
    tally.add({ status: "Download complete", id: "b" });
    tally.add({ status: "Extracting", id: "b", progressDetail: { current: 5, total: 10 } });
    tally.add({ status: "Pull complete", id: "b" });
    assert.equal(tally.summary(), "401 MiB of 1.4 GiB, 2 of 3 layers");
    tally.add({ status: "Digest: sha256:abc" });
    tally.add({ status: "Status: Downloaded newer image for x" });
    assert.equal(tally.downloaded(), 401 * 2 ** 20);
  });
});

describe("the swarm pre-pull's state", () => {
  const state = (...args: [string, Record<string, unknown>, Parameters<typeof nodeTasksState>[2], (id: string) => string]) =>
    nodeTasksState(...args, prePullWording.failing);
  const host = (id: string) => id.toUpperCase();
  const task = (node: string, image: string, state: string, createdAt: string, desired = "running", err?: string) => ({
    NodeID: node,
    CreatedAt: createdAt,
    DesiredState: desired,
    Spec: { ContainerSpec: { Image: image } },
    Status: { State: state, ...(err ? { Err: err } : {}) },
  });

  it("is done when every node runs the image the service names now", () => {
    const s = state("isis", { Image: "isis@2" }, [task("w1", "isis@2", "running", "2026-01-01T00:00:02Z")], host);
    assert.deepEqual(s, { nodes: ["isis on W1: there"], pending: 0 });
  });

  it("waits for a node still running the older image while an update rolls out", () => {
    const s = state(
      "isis",
      { Image: "isis@2" },
      [
        task("w1", "isis@2", "running", "2026-01-01T00:00:02Z"),
        task("w1", "isis@1", "shutdown", "2026-01-01T00:00:01Z", "shutdown"),
        task("w2", "isis@1", "running", "2026-01-01T00:00:01Z"),
      ],
      host,
    );
    assert.equal(s.pending, 1);
    assert.ok(s.nodes.includes("isis on W2: an older version, updating"), s.nodes.join("; "));
  });

  it("counts failures in a row only: a node that failed under an old password and runs now is done", () => {
    const past = [
      task("w1", "isis@2", "rejected", "2026-01-01T00:00:01Z", "shutdown", "unauthorized"),
      task("w1", "isis@2", "rejected", "2026-01-01T00:00:02Z", "shutdown", "unauthorized"),
      task("w1", "isis@2", "rejected", "2026-01-01T00:00:03Z", "shutdown", "unauthorized"),
    ];
    assert.match(state("isis", { Image: "isis@2" }, past, host).failed ?? "", /node W1 cannot pull isis: unauthorized/);
    const now = state("isis", { Image: "isis@2" }, [...past, task("w1", "isis@2", "running", "2026-01-01T00:00:04Z")], host);
    assert.equal(now.failed, undefined);
    assert.equal(now.pending, 0);
    const once = state("isis", { Image: "isis@2" }, [past[2]!, task("w1", "isis@2", "preparing", "2026-01-01T00:00:04Z")], host);
    assert.deepEqual([once.failed, once.pending, once.nodes], [undefined, 1, ["isis on W1: pulling"]]);
  });

  it("waits for a node whose task runs the same image with an older spec (a guard's new rules)", () => {
    const guard = (env: string) => ({ Image: "proxy@1", Env: [`EGRESS_RULES=${env}`], Labels: { a: "1", b: "2" } });
    const running = { ...task("w1", "proxy@1", "running", "2026-01-01T00:00:01Z"), Spec: { ContainerSpec: guard("old") } };
    assert.equal(state("guard", guard("new"), [running], host).pending, 1);
    // the same spec with its keys in another order is the same
    const reordered = { Labels: { b: "2", a: "1" }, Env: ["EGRESS_RULES=old"], Image: "proxy@1" };
    assert.equal(state("guard", reordered, [running], host).pending, 0);
  });

  it("says when no node takes the service (its constraints fit none yet)", () => {
    assert.equal(state("isis", { Image: "isis@2" }, [], host).unplaced, "no node may run it");
    const waiting = {
      DesiredState: "running",
      Spec: { ContainerSpec: { Image: "isis@2" } },
      Status: { State: "pending", Err: "no suitable node" },
    };
    assert.equal(state("isis", { Image: "isis@2" }, [waiting], host).unplaced, "no suitable node");
    const paused = state(
      "isis",
      { Image: "isis@2" },
      [task("w1", "isis@2", "running", "2026-01-01T00:00:02Z"), task("w2", "isis@2", "pending", "2026-01-01T00:00:02Z")],
      host,
    );
    assert.deepEqual([paused.pending, paused.unplaced], [0, "W2: the node takes no new task"]);
  });
});

describe("the engine a stack's docker: settings name", () => {
  it("follows unix, tcp (TLS from the materials or port 2376) and ssh hosts; not the Docker CLI's own options", () => {
    const modem = (s: Parameters<typeof engineClient>[0]) => {
      const c = engineClient(s);
      assert.ok("docker" in c, JSON.stringify(c));
      return (c.docker as unknown as { modem: Record<string, unknown> }).modem;
    };
    assert.equal(modem({ host: "unix:///run/gmapsw/m/docker.sock" }).socketPath, "/run/gmapsw/m/docker.sock");
    assert.deepEqual([modem({ host: "tcp://10.0.0.5:2376" }).protocol, modem({ host: "tcp://10.0.0.5:2375" }).protocol], ["https", "http"]);
    const tls = modem({ host: "tcp://10.0.0.5:2377", caMaterial: "CA", certMaterial: "CERT", keyMaterial: "KEY" });
    assert.deepEqual([tls.protocol, tls.ca, tls.cert, tls.key], ["https", "CA", "CERT", "KEY"]);
    const ssh = modem({ host: "ssh://ops@hub.example.org:2222" });
    assert.deepEqual([ssh.protocol, ssh.host, ssh.port, ssh.username], ["ssh", "hub.example.org", 2222, "ops"]);
    assert.deepEqual(engineClient({ host: "ssh://ops@hub", sshOpts: ["-o", "ProxyJump=bastion"] }), { unsupported: "docker:sshOpts" });
    assert.deepEqual(engineClient({ context: "remote" }), { unsupported: "docker:context" });
  });
});
