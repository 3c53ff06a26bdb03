/**
 * Scenario 13: network isolation. Each user server has a network of its own, shared only with the
 * hub and the proxy: from inside a user's server, another user's server (by address or by
 * container name) and the proxy's REST API cannot be reached, the hub API can; the servers answer
 * through the proxy, also after a hub restart and after a hub replacement by a config change
 * (the new hub joins the running servers' networks again); stopping a server removes its network.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { docker, inspectContainer, userContainer, waitForHealthyHub } from "./engine";
import { HubApi } from "./hub-api";
import { assertQuietPreview, up } from "./pulumi";
import { editedStackFile, prefix, stackSkip } from "./stack";
import { uniqueName } from "./user-names";
import { waitFor } from "./wait";
import { labelKeys } from "../../components/names";
import { escapeUserName } from "../../components/identity";

const api = new HubApi();

/** What a connection attempt from inside a user's server gave: "open", or the error. */
const PROBE = `
import json, socket
def probe(host, port):
    try:
        socket.create_connection((host, port), timeout=4).close()
        return "open"
    except Exception as e:
        return type(e).__name__ + ": " + str(e)
`;

async function probe(user: string, targets: [string, number][]): Promise<string[]> {
  const code = `${PROBE}\nprint(json.dumps([probe(h, p) for h, p in ${JSON.stringify(targets)}]))`;
  const out = await api.runPython(user, code, 90_000);
  return JSON.parse(out.trim().split("\n").pop()!);
}

/** The hub API as the server sees it (JUPYTERHUB_API_URL, i.e. http://hub:8081/hub/api): the status code. */
async function hubApiFrom(user: string): Promise<string> {
  const code = [
    "import os, urllib.request",
    "url = os.environ['JUPYTERHUB_API_URL']",
    "print(url, urllib.request.urlopen(url, timeout=10).status)",
  ].join("\n");
  return (await api.runPython(user, code, 60_000)).trim();
}

async function networkMembers(name: string): Promise<string[]> {
  const info = await docker.getNetwork(name).inspect();
  return Object.values(info.Containers ?? {})
    .map((c: any) => c.Name as string)
    .sort();
}

describe("network isolation", { skip: stackSkip }, () => {
  const alice = uniqueName("iso-a");
  const bob = uniqueName("iso-b");
  const net = (user: string) => `${prefix()}-u-${escapeUserName(user)}`;
  const containerName = (user: string) => `${prefix()}-user-${escapeUserName(user)}`;
  const hubApi = "http://hub:8081/hub/api 200";

  /** Both servers answer through the proxy, and alice's still reaches the hub API. */
  async function serversWork(): Promise<void> {
    for (const user of [alice, bob]) assert.ok((await api.server(user, "/status")).started, `${user} answers through the proxy`);
    assert.equal(await hubApiFrom(alice), hubApi);
  }

  before(async () => {
    await api.createUser(alice);
    await api.createUser(bob);
    await Promise.all([api.startServer(alice), api.startServer(bob)]);
  });

  after(async () => {
    await Promise.all([api.stopServer(alice), api.stopServer(bob)]);
  });

  it("each server is alone on its own network with the hub and the proxy", async () => {
    for (const user of [alice, bob]) {
      const c = (await userContainer(escapeUserName(user)))!;
      assert.deepEqual(Object.keys(c.NetworkSettings.Networks), [net(user)], `${user} joins only its own network`);
      assert.deepEqual(await networkMembers(net(user)), [`${prefix()}-hub`, `${prefix()}-proxy`, containerName(user)].sort());
      const info = await docker.getNetwork(net(user)).inspect();
      assert.equal(info.Labels?.[labelKeys.component], "user-network");
      assert.equal(info.Labels?.[labelKeys.prefix], prefix());
      assert.equal(info.Internal, false, "the outside world stays reachable");
      assert.equal(info.Driver, "bridge");
      const subnet = info.IPAM?.Config?.[0]?.Subnet ?? "";
      assert.match(subnet, /^10\.251\.\d+\.\d+\/28$/, "a /28 of spawner.networkPool (default 10.251.0.0/16)");
    }
    // the stack's main network holds the hub and the proxy only
    assert.deepEqual(await networkMembers(prefix()), [`${prefix()}-hub`, `${prefix()}-proxy`]);
  });

  it("a server reaches neither another user's server nor the proxy API, but the hub API", async () => {
    const bobIp = (await userContainer(escapeUserName(bob)))!.NetworkSettings.Networks[net(bob)]!.IPAddress;
    const proxy = await inspectContainer(`${prefix()}-proxy`);
    const proxyOnAlice = proxy.NetworkSettings.Networks[net(alice)]!.IPAddress;
    const proxyMain = proxy.NetworkSettings.Networks[prefix()]!.IPAddress;
    assert.ok(bobIp && proxyOnAlice && proxyMain);
    const targets: [string, number][] = [
      [bobIp, 8888],
      [containerName(bob), 8888],
      [proxyOnAlice, 8001],
      [proxyMain, 8001],
      [`${prefix()}-proxy`, 8001],
      ["proxy", 8001],
      ["hub", 8081],
      [proxyOnAlice, 8000],
    ];
    const results = await probe(alice, targets);
    const shown = targets.map(([h, p], i) => `${h}:${p} -> ${results[i]}`).join("\n");
    console.log(shown);
    for (let i = 0; i < 6; i++) assert.notEqual(results[i], "open", `reachable from alice's server:\n${shown}`);
    assert.equal(results[6], "open", shown);
    assert.equal(results[7], "open", `the proxy's public port, as from outside:\n${shown}`);
    assert.equal(await hubApiFrom(alice), hubApi);
    // the hub still reaches bob's server and the proxy API (it routes bob's server)
    assert.ok((await api.server(bob, "/status")).started);
  });

  it("after a hub restart the servers still answer and still reach the hub", async () => {
    await docker.getContainer(`${prefix()}-hub`).restart({ t: 10 });
    await waitForHealthyHub(api.env.url);
    await serversWork();
    assert.equal((await api.user(alice)).servers[""].ready, true);
  });

  it("after a hub replacement by a config change the new hub joins the running servers' networks", async () => {
    const hubBefore = (await inspectContainer(`${prefix()}-hub`)).Id;
    const file = editedStackFile((config) => {
      config["jupyterhub:spawner"].environment = { GMAP_E2E_GENERATION: "isolation" };
    });
    const applied = await up({ configFile: file });
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    const hubAfter = await inspectContainer(`${prefix()}-hub`);
    assert.notEqual(hubAfter.Id, hubBefore, "the hub container was replaced");
    await waitForHealthyHub(api.env.url);
    for (const user of [alice, bob]) {
      // JupyterHub polls the running servers at start-up (init_spawners); the poll reconnects
      await waitFor(
        `the new hub on ${net(user)}`,
        async () => ((await networkMembers(net(user))).includes(`${prefix()}-hub`) ? true : undefined),
        60_000,
      );
    }
    await serversWork();
    assert.equal((await api.user(bob)).servers[""].ready, true);
    const restored = await up();
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    await waitForHealthyHub(api.env.url);
    await serversWork();
    await assertQuietPreview("after the hub replacements with servers on their own networks");
  });

  it("stopping a server removes its network", async () => {
    await api.stopServer(bob);
    await waitFor(
      `${net(bob)} to be removed`,
      async () => ((await docker.listNetworks({ filters: { name: [net(bob)] } })).length === 0 ? true : undefined),
      60_000,
    );
    assert.ok((await networkMembers(net(alice))).includes(containerName(alice)), "alice's network stays");
    assert.equal(await hubApiFrom(alice), hubApi);
  });
});
