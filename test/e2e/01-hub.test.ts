/** Scenarios 1 and 2: the hub and proxy are up, and the reference deployment's acceptance flow. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspectContainer } from "./engine";
import { HubApi } from "./hub-api";
import { assertQuietPreview } from "./pulumi";
import { prefix, stackSkip } from "./stack";
import { uniqueName } from "./user-names";

const api = new HubApi();

describe("hub and proxy", () => {
  it("the hub API answers through the proxy with the pinned JupyterHub version", async () => {
    const res = await fetch(`${api.env.url}/hub/api`);
    assert.equal(res.status, 200);
    assert.match((await res.json()).version, /^5\.5\.\d+$/);
  });

  it("the hub reports healthy", async () => {
    assert.equal((await fetch(`${api.env.url}/hub/health`)).status, 200);
  });

  it("the hub container is healthy and the proxy runs in its own container", { skip: stackSkip }, async () => {
    const hub = await inspectContainer(`${prefix()}-hub`);
    assert.equal(hub.State.Health?.Status, "healthy");
    assert.equal(hub.HostConfig.RestartPolicy?.Name, "unless-stopped");
    const proxy = await inspectContainer(`${prefix()}-proxy`);
    assert.equal(proxy.State.Running, true);
    assert.deepEqual(Object.keys(hub.NetworkSettings.Networks), [prefix()]);
    assert.deepEqual(hub.HostConfig.PortBindings ?? {}, {}, "only the proxy publishes a port");
    assert.ok(proxy.NetworkSettings.Ports?.["8000/tcp"]?.[0]?.HostIp === "127.0.0.1");
  });

  it("pulumi preview right after pulumi up plans no change", { skip: stackSkip }, async () => {
    await assertQuietPreview("right after pulumi up");
  });

  it("refuses API calls without a token", async () => {
    assert.equal((await fetch(`${api.env.url}/hub/api/users`)).status, 403);
  });
});

describe("acceptance flow of the reference deployment", () => {
  it("service token -> create user -> start server -> ready -> server API -> contents", async () => {
    const name = uniqueName("accept");
    await api.createUser(name);
    const server = await api.startServer(name);
    assert.equal(server.ready, true);
    const status = await api.server(name, "");
    assert.ok(status.version, "the single-user server reports its version");
    const contents = await api.server(name, "/contents");
    assert.ok(Array.isArray(contents.content), "the contents API lists the home directory");
    assert.ok(
      contents.content.some((e: any) => e.name === "work" && e.type === "directory"),
      "the work volume is mounted",
    );
    await api.stopServer(name);
  });
});
