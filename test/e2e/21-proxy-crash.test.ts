/**
 * Scenario 21: the proxy's process dies as the kernel kills it (SIGKILL from the host, as the OOM
 * killer does); Docker starts it again with no routes; the hub's route check (proxy.routeCheckSeconds,
 * 5 s by default) puts every route back: each running server answers through the public URL again
 * within 15 s of the proxy answering, and the hub's log says what it restored.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { names } from "../../components/names";
import { containerLogs, inspectContainer } from "./engine";
import { HubApi } from "./hub-api";
import { prefix, stackSkip } from "./stack";
import { uniqueName } from "./user-names";
import { waitFor } from "./wait";

const api = new HubApi();

/** The status of a request to a user's server through the public URL (0 when nothing answers). */
async function serverStatus(user: string): Promise<number> {
  try {
    const res = await api.request(`/user/${encodeURIComponent(user)}/api/status`, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

describe("a proxy crash costs seconds", { skip: stackSkip }, () => {
  const users = [uniqueName("route-a"), uniqueName("route-b")];
  const proxy = () => names(prefix()).proxyContainer;

  before(async () => {
    for (const user of users) {
      await api.createUser(user);
      await api.startServer(user);
    }
  });

  after(async () => {
    for (const user of users) await api.stopServer(user).catch(() => undefined);
  });

  it("every running server answers through the proxy again within 15 s of the proxy's restart", async () => {
    for (const user of users) assert.equal(await serverStatus(user), 200, `${user}'s server answers before the crash`);
    const before = await inspectContainer(proxy());
    execFileSync("kill", ["-KILL", String(before.State.Pid)]);

    // the proxy answers again (any HTTP status) once Docker restarted it
    await waitFor(
      "the restarted proxy",
      async () => {
        const now = await inspectContainer(proxy());
        return now.State.Running && now.State.Pid !== before.State.Pid && (await serverStatus(users[0]!)) !== 0 ? true : undefined;
      },
      60_000,
      250,
    );
    const answering = Date.now();
    for (const user of users) {
      await waitFor(`${user}'s route`, async () => ((await serverStatus(user)) === 200 ? true : undefined), 30_000, 250);
    }
    const restored = (Date.now() - answering) / 1000;
    assert.ok(restored <= 15, `routes came back ${restored.toFixed(1)} s after the proxy answered`);
    assert.equal((await inspectContainer(proxy())).RestartCount, before.RestartCount + 1);

    const hubLog = await containerLogs(names(prefix()).hubContainer);
    const recent = hubLog.split("\n").filter((l) => /Adding missing route/.test(l));
    for (const user of users)
      assert.ok(
        recent.some((l) => l.includes(`/user/${user}/`)),
        `the hub says it restored ${user}'s route`,
      );
  });
});
