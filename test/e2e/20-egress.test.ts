/**
 * Scenario 20: where a user server may connect (spawner.egress; the e2e stack allows
 * 192.168.213.10/32 on port 8443). From inside a user server, against hosts this test makes on this
 * machine (test-hosts.ts: a namespace reached only by the pool's packets, routes checked before any
 * packet is sent): the public host, the hub, DNS and the allowed port answer; the LAN host's other
 * ports, the metadata server and the Docker host's own addresses refuse. Stopping the guard lifts the
 * rules (and shows the test hosts really answer), starting it puts them back for the running server;
 * after an engine restart, which loses the rules as a reboot does, the guard installs them again
 * before the next server starts.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../../components/config";
import { egressChains, names } from "../../components/names";
import { escapeUserName } from "../../components/identity";
import { docker, dockerExec, inspectContainer, userContainer, waitForHealthy, waitForHealthyHub } from "./engine";
import { HubApi } from "./hub-api";
import { prefix, projectDir, stackSkip } from "./stack";
import { probeCode, TestHosts, testHosts } from "./test-hosts";
import { uniqueName } from "./user-names";

const api = new HubApi();
const pool = parseConfig({}).spawner.networkPool;

const iptables = (...args: string[]) => execFileSync("iptables", ["-w", "10", ...args], { encoding: "utf8", timeout: 30_000 });
const ourChains = () =>
  iptables("-S")
    .split("\n")
    .filter((l) => Object.values(egressChains(prefix())).some((c) => l.includes(c)));

/** Stops the engine (and its containerd) and starts it again, as a host restart would (test/infra/engine.sh restart). */
function restartEngine(): void {
  execFileSync("bash", ["test/infra/engine.sh", "restart"], { cwd: projectDir, stdio: "inherit", timeout: 240_000 });
}

describe("where a user server may connect", { skip: stackSkip }, () => {
  const hosts = new TestHosts();
  const user = uniqueName("egress");
  const guard = () => names(prefix()).egressGuard;
  let server = { name: "", address: "", bridge: "", gateway: "" };

  async function startServer() {
    await api.startServer(user);
    const c = (await userContainer(escapeUserName(user)))!;
    const net = Object.entries(c.NetworkSettings.Networks).find(([n]) => n.startsWith(`${prefix()}-u-`))![1];
    server = { name: c.Name.slice(1), address: net.IPAddress, bridge: `br-${net.NetworkID.slice(0, 12)}`, gateway: net.Gateway };
  }

  /** The probe's results, after checking that each test host is routed to the test namespace. */
  async function probe(targets: readonly string[]): Promise<Record<string, string>> {
    for (const target of targets) {
      const host = target.split(":")[0]!;
      if (Object.values(testHosts).includes(host as never)) hosts.assertRoutedHere(host, server.address, server.bridge);
    }
    return JSON.parse(await dockerExec(server.name, ["python3", "-c", probeCode(targets)]));
  }

  const mainGateway = async () => (await docker.getNetwork(prefix()).inspect()).IPAM?.Config?.[0]?.Gateway as string;
  const blocked = async () => [
    `${testHosts.lan}:8444`,
    `${testHosts.metadata}:80`,
    `${server.gateway}:18765`,
    `${await mainGateway()}:18765`,
  ];

  before(async () => {
    hosts.up(pool);
    await api.createUser(user);
    await startServer();
    hosts.listenOnHost([`${server.gateway}:18765`, `${await mainGateway()}:18765`]);
  });

  after(async () => {
    await api.stopServer(user).catch(() => undefined);
    hosts.down(pool);
  });

  it("the guard is healthy and its rules come first for the pool", async () => {
    await waitForHealthy(guard(), 60_000);
    const chains = egressChains(prefix());
    assert.match(iptables("-S", "DOCKER-USER").split("\n")[1] ?? "", new RegExp(`-s ${pool} -j ${chains.forward}$`));
    assert.match(iptables("-S", "INPUT"), new RegExp(`-A INPUT -s ${pool} -j ${chains.input}`));
  });

  it("reaches the public host, the hub, DNS and the allowed port; refuses the LAN, the metadata server and the Docker host", async () => {
    const got = await probe([`${testHosts.public}:80`, "hub:8081", `${testHosts.lan}:53`, `${testHosts.lan}:8443`, ...(await blocked())]);
    const open = Object.keys(got).slice(0, 4);
    const refused = Object.keys(got).slice(4);
    assert.deepEqual(got, Object.fromEntries([...open.map((t) => [t, "open"]), ...refused.map((t) => [t, "refused"])]));
  });

  it("stopping the guard lifts the rules, for running servers too; starting it puts them back", async () => {
    await docker.getContainer(guard()).stop();
    assert.deepEqual(ourChains(), [], "the stopped guard removed its chains and jumps");
    const open = await probe(await blocked());
    assert.deepEqual(
      Object.values(open),
      ["open", "open", "open", "open"],
      `without the rules every test host answers: ${JSON.stringify(open)}`,
    );
    await docker.getContainer(guard()).start();
    await waitForHealthy(guard(), 60_000);
    assert.deepEqual(Object.values(await probe(await blocked())), ["refused", "refused", "refused", "refused"]);
  });

  it("after an engine restart (every rule lost, as in a reboot) the guard is back before the hub starts a server", async () => {
    await api.stopServer(user);
    restartEngine();
    await waitForHealthyHub(process.env.HUB_URL!);
    const state = await inspectContainer(guard());
    assert.equal(state.State.Running, true, "the guard restarts with the engine (restart: always)");
    await waitForHealthy(guard(), 60_000);
    await startServer();
    hosts.listenOnHost([`${server.gateway}:18766`]);
    const got = await probe([`${testHosts.public}:80`, `${testHosts.lan}:8444`, `${testHosts.metadata}:80`, `${server.gateway}:18766`]);
    assert.deepEqual(Object.values(got), ["open", "refused", "refused", "refused"], JSON.stringify(got));
  });
});
