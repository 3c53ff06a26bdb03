/**
 * Swarm mode (engine.mode swarm) on a real three-node Docker Swarm: the cluster of
 * test/infra/swarm-cluster.sh (a manager and two workers, each its own dockerd in its own network
 * namespace on this machine, the hub's images loaded into the manager) and its network volume
 * stand-in (a volume plugin whose volumes every node sees); the notebook images in the private
 * registry stand-in of test/infra/registry.sh. The stack Pulumi.e2e-swarm.yaml (prefix gmap-swarm)
 * is deployed with the real `pulumi up` on the manager. Proven here:
 *
 * - the workers pull the notebook images from the registry with the stack's credentials: the
 *   pre-pull services before anyone spawns (`pulumi up` waits for them), and a worker that lacks
 *   an image for a user's server, with the credentials the hub sends;
 * - ten users spawned at once land on both workers and never on the manager (node.role==worker),
 *   and servers of the image constrained to w2 land on w2 only;
 * - each server's process limit (the task's Limits.Pids, applied by the node's engine) stops a
 *   loop of processes while the hub answers; its processes run with no-new-privileges and the
 *   start-up's capabilities only; its log is bounded;
 * - the egress guards run on both workers and not on the manager; from a server, a public host and
 *   DNS answer while a LAN host, the metadata address and the node's own address are refused (test
 *   hosts in a namespace on the cluster's switch, routes checked before sending); with the guards
 *   moved off every node the same targets answer and a new server fails to start (its node runs no
 *   guard), and the targets are refused again once the guards are back;
 * - each user finds their files after the server is stopped and started on another node; the
 *   read-only archive is readable and not writable;
 * - a node drained by the operator moves no data: its servers stop (Swarm shuts their tasks
 *   down; the hub notices), their users start again on the other worker and find their files, and
 *   new spawns avoid the drained node;
 * - `pulumi up` with a changed hub setting replaces the hub while the servers keep running and
 *   answering, and a second preview is quiet;
 * - `pulumi destroy` removes the user services and keeps the homes.
 *
 * Needs root (namespaces, engines). The cluster is removed at the end unless E2E_KEEP_SWARM=1.
 * Skipped against a hub deployed elsewhere.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import Docker from "dockerode";
import { labelKeys } from "../../components/names";
import { HubApi } from "./hub-api";
import { assertProcessLoopStops } from "./process-limit";
import { probeCode, SwarmTestHosts, swarmTestHosts } from "./test-hosts";
import type { HubEnv } from "./hub-env";
import { assertQuietPreview, destroy, ensureStack, pulumi, stackHub, up } from "./pulumi";
import { editedStackFile, projectDir, stackSkip as skip } from "./stack";
import { push, REGISTRY, registrySh, startRegistry } from "./registry";
import { waitFor, waitForHub } from "./wait";

const STACK = "e2e-swarm";
const PREFIX = "gmap-swarm";
const NODES = ["m", "w1", "w2"] as const;
type Node = (typeof NODES)[number];
const socket = (node: Node) => `/run/gmapsw/${node}/docker.sock`;
const engines = Object.fromEntries(NODES.map((n) => [n, new Docker({ socketPath: socket(n) })])) as Record<Node, Docker>;
const manager = engines.m;
/** The nodes' addresses on the cluster's switch (test/infra/swarm-cluster.sh). */
const NODE_ADDRESSES: Record<Node, string> = { m: "10.213.0.10", w1: "10.213.0.11", w2: "10.213.0.12" };
const SHARE = "/var/lib/gmapsw/share";
/** The notebook images, pushed to the registry stand-in, which every node pulls them from. */
const IMAGES = { minimal: "localhost/notebook-minimal:5.5.1", gispy: "localhost/notebook-gispy:5.5.1" } as const;
const registryRef = (image: keyof typeof IMAGES) => `${REGISTRY}/gmap/notebook-${image}:5.5.1`;
/** The registry password that Pulumi.e2e-swarm.yaml holds, encrypted (a test fixture). */
const REGISTRY_PASSWORD = "gmap-swarm-registry-e2e";
const MANAGER_ONLY = ["localhost/jupyterhub:5.5.1"];
/** The proxy's image, which the egress guards run in on the workers too (a node pulls it from its registry; here it is loaded). */
const EVERY_NODE = ["localhost/configurable-http-proxy:5.1.0"];
/** spawner.pidsLimit as shipped (Pulumi.e2e-swarm.yaml leaves it). */
const PIDS_LIMIT = 1024;
const USERS = Array.from({ length: 10 }, (_, i) => `swarmuser${i}`);

function cluster(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("bash", [path.join(projectDir, "test/infra/swarm-cluster.sh"), ...args], { timeout: 20 * 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`swarm-cluster.sh ${args.join(" ")}: ${error.message}\n${String(stderr).slice(-3000)}`));
      else resolve(String(stdout));
    });
  });
}

/** The node ("m", "w1", "w2") whose running task serves a user's server. */
async function nodeOf(user: string): Promise<Node | undefined> {
  const tasks = await manager.listTasks({ filters: { service: [`${PREFIX}-user-${user}`], "desired-state": ["running"] } });
  const running = tasks.find((t) => t.Status?.State === "running");
  if (!running) return undefined;
  const node = await manager.getNode(running.NodeID!).inspect();
  return node.Spec?.Labels?.["gmap-node"] as Node | undefined;
}

async function nodeId(node: Node): Promise<string> {
  return (await engines[node].info()).Swarm.NodeID as string;
}

async function setAvailability(node: Node, availability: "active" | "drain"): Promise<void> {
  const n = manager.getNode(await nodeId(node));
  const info = await n.inspect();
  await n.update({ version: info.Version.Index, ...info.Spec, Availability: availability });
}

describe("swarm mode on a three-node cluster", { skip, timeout: 40 * 60_000 }, () => {
  let env: HubEnv;
  let firstUp = "";
  let api: HubApi;
  const placed = new Map<string, Node>();

  before(async () => {
    assert.equal(process.getuid?.(), 0, "the swarm tests create network namespaces and Docker engines: run them as root");
    await cluster(["up"]);
    await cluster(["load", "--manager", ...MANAGER_ONLY]);
    await cluster(["load", ...EVERY_NODE]);
    await startRegistry(REGISTRY_PASSWORD);
    await registrySh(["swarm-routes"]);
    for (const image of ["minimal", "gispy"] as const) await push(IMAGES[image], registryRef(image).slice(REGISTRY.length + 1));
    // the program and the pulumi CLI talk to the manager's engine, as on a real manager node
    process.env.DOCKER_HOST = `unix://${socket("m")}`;
    await destroy({ stack: STACK });
    await ensureStack(STACK);
    const run = await up({ stack: STACK });
    assert.equal(run.code, 0, `pulumi up failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
    firstUp = `${run.stdout}\n${run.stderr}`;
    env = await stackHub({ stack: STACK });
    await waitForHub(env.url);
    api = new HubApi(env);
  });

  after(async () => {
    if (process.env.DOCKER_HOST) {
      const d = await destroy({ stack: STACK });
      if (d.code !== 0) process.stderr.write(`pulumi destroy ${STACK} failed:\n${(d.stdout + d.stderr).slice(-3000)}\n`);
      await pulumi(["stack", "rm", "--yes", "--force", "--preserve-config", "--stack", STACK]);
    }
    if (process.env.E2E_KEEP_SWARM !== "1") {
      await cluster(["down"]);
      await registrySh(["down"]);
    }
  });

  it("has the notebook images on every worker when `pulumi up` returns: the workers pulled them from the registry with the credentials", async () => {
    assert.match(firstUp, /images on every node that may run them \(3 pre-pull tasks running\)/);
    for (const name of ["minimal", "gispy"] as const) {
      // no wait: `pulumi up` waited for the pre-pulls
      const list = await manager.listTasks({ filters: { service: [`${PREFIX}-pull-${name}`], "desired-state": ["running"] } });
      const running = list.filter((t) => t.Status?.State === "running");
      const nodes = await Promise.all(running.map(async (t) => (await manager.getNode(t.NodeID!).inspect()).Spec?.Labels?.["gmap-node"]));
      assert.deepEqual(nodes.sort(), name === "gispy" ? ["w2"] : ["w1", "w2"]);
      for (const node of nodes as Node[]) {
        // (the service names the image by its digest: the node pulled it so)
        const digests = (await engines[node].listImages()).flatMap((i) => i.RepoDigests ?? []);
        assert.ok(
          digests.some((d) => d.startsWith(`${REGISTRY}/gmap/notebook-${name}@sha256:`)),
          `${name} on ${node} came from the registry: ${digests.join(", ")}`,
        );
      }
    }
  });

  it("a worker without the image pulls it for a user's server with the credentials the hub sends", async () => {
    // the gispy pre-pull gone and its image removed from w2, the only node that may run it
    await manager.getService(`${PREFIX}-pull-gispy`).remove();
    await waitFor("the gispy pre-pull's container gone from w2", async () =>
      (await engines.w2.listContainers({ all: true, filters: { label: [`com.docker.swarm.service.name=${PREFIX}-pull-gispy`] } }))
        .length === 0
        ? true
        : undefined,
    );
    for (const image of await engines.w2.listImages()) {
      if ([...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].some((r) => r.includes("/gmap/notebook-gispy"))) {
        // by id: every tag and digest of the image at once
        await engines.w2.getImage(image.Id).remove({ force: true });
      }
    }
    const gispyOnW2 = async () =>
      (await engines.w2.listImages()).some((i) =>
        [...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])].some((r) => r.includes("/gmap/notebook-gispy")),
      );
    assert.equal(await gispyOnW2(), false, "w2 has no gispy image left");
    await api.createUser("swarmpull");
    await api.startServer("swarmpull", { image: "gispy" });
    assert.equal(await nodeOf("swarmpull"), "w2");
    assert.equal(await gispyOnW2(), true, "w2 pulled the image for the server");
    await api.stopServer("swarmpull");
    // `pulumi up --refresh` finds the pre-pull gone and makes it again
    const restored = await pulumi(["up", "--yes", "--skip-preview", "--refresh", "--stack", STACK]);
    assert.equal(restored.code, 0, (restored.stdout + restored.stderr).slice(-4000));
    const again = await manager.listTasks({ filters: { service: [`${PREFIX}-pull-gispy`], "desired-state": ["running"] } });
    assert.equal(again.filter((t) => t.Status?.State === "running").length, 1);
  });

  it("spreads ten users over both workers, never the manager; the constrained image runs on w2 only", async () => {
    for (const user of USERS) await api.createUser(user);
    await Promise.all(USERS.map((user, i) => api.startServer(user, i === 0 ? { image: "gispy" } : {})));
    for (const user of USERS) {
      const node = await nodeOf(user);
      assert.ok(node, `${user} has no running task`);
      placed.set(user, node);
    }
    const used = new Set(placed.values());
    assert.ok(!used.has("m"), "a server ran on the manager");
    assert.deepEqual([...used].sort(), ["w1", "w2"], `servers landed on ${[...used].join(", ")} only`);
    assert.equal(placed.get(USERS[0]!), "w2", "the gispy server must run on w2");
    // every server answers through the proxy on the manager, across the overlay network
    for (const user of USERS) {
      const res = await api.putFile(user, "hello.txt", `hello from ${user}`);
      assert.ok(res.ok, `${user}: saving a file answered ${res.status}`);
    }
  });

  it("bounds each server's processes, log and privileges as in host mode", async () => {
    const user = USERS[1]!;
    const spec = (await manager.getService(`${PREFIX}-user-${user}`).inspect()).Spec;
    assert.equal(spec.TaskTemplate.Resources.Limits.Pids, PIDS_LIMIT);
    assert.deepEqual(spec.TaskTemplate.LogDriver, { Name: "json-file", Options: { "max-size": "10m", "max-file": "3" } });
    assert.deepEqual(spec.TaskTemplate.ContainerSpec.CapabilityDrop, ["ALL"]);
    // the server's processes: the start-up's capabilities only, and no-new-privileges (from its command)
    const status = await api.runPython(user, 'print(open("/proc/self/status").read())');
    assert.match(status, /^CapBnd:\s*00000000200000fb$/m);
    assert.match(status, /^NoNewPrivs:\s*1$/m);
    // the node's engine applied the process limit and the log bound to the task's container
    const node = await nodeOf(user);
    assert.ok(node, `${user} has no running task`);
    const [task] = await engines[node].listContainers({ filters: { label: [`com.docker.swarm.service.name=${PREFIX}-user-${user}`] } });
    assert.ok(task, `no container of ${user}'s task on ${node}`);
    const host = (await engines[node].getContainer(task.Id).inspect()).HostConfig;
    assert.equal(host.PidsLimit, PIDS_LIMIT);
    assert.deepEqual(host.LogConfig, { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } });
    // a loop of processes stops there, and the hub answers meanwhile
    await assertProcessLoopStops(api, user, PIDS_LIMIT, env.url);
  });

  it("a server reaches the public host and DNS; its node's egress guard refuses the LAN, the metadata server and the node itself", async () => {
    // one guard task on each worker (servers' nodes), none on the manager; a task runs once its
    // healthcheck finds the rules in place, and stops running once the guard removed them
    const guard = manager.getService(`${PREFIX}-egress`);
    const guards = async () => {
      const tasks = await manager.listTasks({ filters: { service: [`${PREFIX}-egress`] } });
      const running = tasks.filter((t) => t.Status?.State === "running");
      return Promise.all(running.map(async (t) => (await manager.getNode(t.NodeID!).inspect()).Spec?.Labels?.["gmap-node"] as string));
    };
    assert.deepEqual((await guards()).sort(), ["w1", "w2"]);
    const user = USERS[1]!;
    const node = await nodeOf(user);
    assert.ok(node, `${user} has no running task`);
    const ns = `gmapsw-${node}`;
    const own = `${NODE_ADDRESSES[node]}:18765`;
    const hosts = new SwarmTestHosts();
    hosts.up(["gmapsw-w1", "gmapsw-w2"]);
    try {
      hosts.listenIn(ns, [own]);
      const open = [`${swarmTestHosts.public}:80`, `${swarmTestHosts.lan}:53`];
      const blocked = [`${swarmTestHosts.lan}:8444`, `${swarmTestHosts.metadata}:80`, own];
      const probe = async (targets: string[]) => {
        for (const target of targets) {
          const host = target.split(":")[0]!;
          if (Object.values(swarmTestHosts).includes(host as never)) hosts.assertRoutedHere(ns, host);
        }
        return JSON.parse(await api.runPython(user, probeCode(targets))) as Record<string, string>;
      };
      const verdicts = (got: Record<string, string>) => Object.values(got).join(",");
      const got = await probe([...open, ...blocked]);
      assert.equal(verdicts(got), "open,open,refused,refused,refused", JSON.stringify(got));
      // the test can tell: with the guards moved off every node (they remove their rules as they
      // stop) the blocked targets answer the running server; back, they are refused again
      const { Spec: spec, Version: version } = await guard.inspect();
      const nowhere = structuredClone(spec);
      nowhere.TaskTemplate.Placement.Constraints = [...spec.TaskTemplate.Placement.Constraints, "node.labels.gmap-node==nowhere"];
      await guard.update({ version: version.Index, ...nowhere });
      await waitFor("the guards to stop", async () => ((await guards()).length === 0 ? true : undefined), 60_000);
      assert.equal(verdicts(await probe(blocked)), "open,open,open");
      // and meanwhile no new server starts: its node runs no guard
      await api.createUser("swarmnoguard");
      assert.match(await api.spawnFailure("swarmnoguard"), /no egress guard running \(gmap-swarm-egress\)/);
      await guard.update({ version: (await guard.inspect()).Version.Index, ...spec });
      await waitFor("the guards to be in place again", async () => ((await guards()).length === 2 ? true : undefined), 90_000);
      assert.equal(verdicts(await probe(blocked)), "refused,refused,refused");
    } finally {
      hosts.down(["gmapsw-w1", "gmapsw-w2"]);
    }
  });

  it("reads the shared archive and cannot write to it", async () => {
    fs.mkdirSync(path.join(SHARE, `${PREFIX}-archive`), { recursive: true });
    fs.writeFileSync(path.join(SHARE, `${PREFIX}-archive`, "kernels.txt"), "naif0012.tls\n");
    const user = USERS[1]!;
    const out = await api.runPython(
      user,
      [
        "import os",
        "print(open(os.environ['ISISDATA'] + '/kernels.txt').read().strip())",
        "try:",
        "    open('/mnt/isis/data/x', 'w')",
        "    print('writable')",
        "except OSError as e:",
        "    print('read-only', e.errno)",
      ].join("\n"),
    );
    assert.match(out, /naif0012\.tls/);
    assert.match(out, /read-only 30/);
  });

  it("a user's files follow the user to another node", async () => {
    const user = USERS.find((u, i) => i > 0 && placed.get(u) === "w1") ?? USERS[1]!;
    const from = placed.get(user)!;
    const to: Node = from === "w1" ? "w2" : "w1";
    await api.stopServer(user);
    // keep the server off its old node for this start only
    await setAvailability(from, "drain");
    try {
      await api.startServer(user);
      assert.equal(await nodeOf(user), to);
    } finally {
      await setAvailability(from, "active");
    }
    assert.equal(await api.getFile(user, "hello.txt"), `hello from ${user}`);
    placed.set(user, to);
  });

  it("a named server is a service of its own beside the user's default one, on the same home", async () => {
    const user = USERS[1]!;
    await api.startNamed(user, "gis", { image: "gispy" });
    const names = (await manager.listServices({ filters: { label: [`${labelKeys.prefix}=${PREFIX}`] } })).map((s) => s.Spec?.Name);
    assert.ok(names.includes(`${PREFIX}-user-${user}--gis`) && names.includes(`${PREFIX}-user-${user}`), names.join(", "));
    assert.equal(await api.getFile(user, "hello.txt", "gis"), `hello from ${user}`);
    // deleted: its service and network go, the default server answers on
    await api.stopNamed(user, "gis", true);
    const after = (await manager.listServices({ filters: { name: [`${PREFIX}-user-${user}--gis`] } })).map((s) => s.Spec?.Name);
    assert.deepEqual(after, []);
    assert.ok((await api.server(user, "/status")).started, `${user}'s default server answers`);
  });

  it("draining a node moves no data: its servers stop, start again on the other worker, new spawns avoid it", async () => {
    const drained: Node = "w1";
    const victims = USERS.filter((u) => placed.get(u) === drained);
    assert.ok(victims.length > 0, "no server on w1 to drain");
    const homes = fs
      .readdirSync(SHARE)
      .filter((d) => d.startsWith(`${PREFIX}-user-`) && d !== `${PREFIX}-user-swarmlate`)
      .sort();
    await setAvailability(drained, "drain");
    try {
      // the hub notices at its next poll of each server (JupyterHub polls every 30 s)
      for (const user of victims) {
        await waitFor(
          `${user}'s server on the drained node to stop`,
          async () => ((await api.user(user)).servers?.[""] ? undefined : true),
          150_000,
          2000,
        );
      }
      for (const user of victims) {
        await api.startServer(user);
        assert.equal(await nodeOf(user), "w2", `${user} must start on w2 while w1 drains`);
        assert.equal(await api.getFile(user, "hello.txt"), `hello from ${user}`);
        placed.set(user, "w2");
      }
      const late = "swarmlate";
      await api.createUser(late);
      await api.startServer(late);
      assert.equal(await nodeOf(late), "w2");
      await api.stopServer(late);
    } finally {
      await setAvailability(drained, "active");
    }
    // the homes stayed where they were: the same directories on the network volume
    const after = fs
      .readdirSync(SHARE)
      .filter((d) => d.startsWith(`${PREFIX}-user-`) && d !== `${PREFIX}-user-swarmlate`)
      .sort();
    assert.deepEqual(after, homes);
  });

  it("pulumi up replaces the hub while the servers keep running; the next preview is quiet", async () => {
    const before = new Map<string, string>();
    for (const user of USERS) {
      const tasks = await manager.listTasks({ filters: { service: [`${PREFIX}-user-${user}`], "desired-state": ["running"] } });
      before.set(user, tasks[0]!.ID!);
    }
    const oldHub = (await manager.getContainer(`${PREFIX}-hub`).inspect()).Id;
    const file = editedStackFile((c) => {
      c["jupyterhub:hub"].logLevel = "DEBUG";
    }, STACK);
    const run = await up({ stack: STACK, configFile: file });
    assert.equal(run.code, 0, `pulumi up failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
    assert.notEqual((await manager.getContainer(`${PREFIX}-hub`).inspect()).Id, oldHub, "the hub was not replaced");
    await waitForHub(env.url);
    for (const user of USERS) {
      const tasks = await manager.listTasks({ filters: { service: [`${PREFIX}-user-${user}`], "desired-state": ["running"] } });
      assert.equal(tasks[0]?.ID, before.get(user), `${user}'s server was restarted`);
      assert.equal(await api.getFile(user, "hello.txt"), `hello from ${user}`);
    }
    const rerun = await up({ stack: STACK });
    assert.equal(rerun.code, 0, (rerun.stdout + rerun.stderr).slice(-4000));
    await waitForHub(env.url);
    await assertQuietPreview("after pulumi up in swarm mode", { stack: STACK });
  });

  it("pulumi destroy removes the user services and keeps the homes", async () => {
    const d = await destroy({ stack: STACK });
    assert.equal(d.code, 0, (d.stdout + d.stderr).slice(-4000));
    const services = await manager.listServices({ filters: { label: [`${labelKeys.prefix}=${PREFIX}`] } });
    assert.deepEqual(
      services.map((s) => s.Spec?.Name),
      [],
    );
    for (const user of USERS) {
      assert.equal(fs.readFileSync(path.join(SHARE, `${PREFIX}-user-${user}`, "hello.txt"), "utf8"), `hello from ${user}`);
    }
  });
});
