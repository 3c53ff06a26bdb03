/**
 * Scenario 22: the hub's process dies (SIGKILL from the host, as the OOM killer does) while servers
 * are starting. After Docker restarts it, no server is pending forever: each is either running and
 * answering, or stopped with nothing of it left on the engine (container, network); each user can
 * start again, and after they stop nothing remains.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { names } from "../../components/names";
import { escapeUserName } from "../../components/identity";
import { docker, inspectContainer, waitForHealthyHub } from "./engine";
import { HubApi } from "./hub-api";
import { prefix, stackSkip } from "./stack";
import { uniqueName } from "./user-names";
import { waitFor } from "./wait";

const api = new HubApi();

/** The user's server container and network on the engine, by name (absent: undefined). */
async function leftovers(user: string): Promise<string[]> {
  const n = names(prefix());
  const escaped = escapeUserName(user);
  const container = n.userContainerTemplate.replace("{username}", escaped);
  const network = n.userNetworkTemplate.replace("{username}", escaped);
  const found: string[] = [];
  if ((await docker.listContainers({ all: true, filters: { name: [`^/${container}$`] } })).length > 0) found.push(`container ${container}`);
  if ((await docker.listNetworks({ filters: { name: [network] } })).some((x) => x.Name === network)) found.push(`network ${network}`);
  return found;
}

/** "ready" or "stopped" once the hub has settled the user's server; undefined while it is pending. */
async function settled(user: string): Promise<"ready" | "stopped" | undefined> {
  const server = (await api.user(user)).servers?.[""];
  if (!server) return "stopped";
  return server.ready && !server.pending ? "ready" : undefined;
}

describe("a hub crash while servers start", { skip: stackSkip }, () => {
  const users = [1, 2, 3, 4].map((i) => uniqueName(`crash${i}`));
  const hub = () => names(prefix()).hubContainer;

  before(async () => {
    for (const user of users) await api.createUser(user);
  });

  after(async () => {
    for (const user of users) await api.stopServer(user).catch(() => undefined);
  });

  it("leaves no server pending and nothing half-made; everyone can start again", async () => {
    // all four spawns at once; the requests end when the hub dies (the proxy answers 503, or nothing answers: 0)
    const killed = await inspectContainer(hub());
    const posts = users.map((user) =>
      api.request(`/hub/api/users/${encodeURIComponent(user)}/server`, { method: "POST", body: "{}" }).then(
        (res) => res.status,
        () => 0,
      ),
    );
    // the spawns are under way: a first server container exists (bounded: 30 s); the others are at
    // earlier steps (network, joins, container)
    await waitFor(
      "a first server container",
      async () => ((await Promise.all(users.map(leftovers))).some((l) => l.some((x) => x.startsWith("container"))) ? true : undefined),
      30_000,
      50,
    );
    execFileSync("kill", ["-KILL", String(killed.State.Pid)]);
    const answered = await Promise.all(posts);
    assert.ok(
      answered.some((status) => status !== 201 && status !== 202),
      `the hub died before it answered every start (${answered.join(", ")}): the crash happened during the spawns`,
    );
    await waitFor(
      "the hub to restart",
      async () => ((await inspectContainer(hub())).State.Pid !== killed.State.Pid ? true : undefined),
      60_000,
    );
    await waitForHealthyHub(process.env.HUB_URL!);

    const outcome: Record<string, string> = {};
    for (const user of users) outcome[user] = await waitFor(`${user}'s server to be settled`, () => settled(user), 180_000);
    console.log(`after the crash: ${JSON.stringify(outcome)}`);
    for (const user of users) {
      if (outcome[user] === "ready") {
        assert.equal((await api.request(`/user/${encodeURIComponent(user)}/api/status`)).status, 200, `${user}'s adopted server answers`);
      } else {
        assert.deepEqual(await leftovers(user), [], `nothing left of ${user}'s interrupted spawn`);
      }
    }

    for (const user of users) await api.startServer(user);
    for (const user of users) assert.equal((await api.request(`/user/${encodeURIComponent(user)}/api/status`)).status, 200);
    for (const user of users) await api.stopServer(user);
    for (const user of users) assert.deepEqual(await leftovers(user), [], `nothing left of ${user}'s server after it stopped`);
  });
});
