/**
 * Scenario 6: switching the default notebook image is one config edit. Applying it replaces the
 * hub only; new spawns use the new image; user data is intact; everything else is untouched.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { HubApi, uniqueName } from "./client";
import { docker, editedStackFile, inspectContainer, localSkip, localUp, prefix } from "./local";

const api = new HubApi();

async function snapshot() {
  const p = prefix();
  const volumes = await Promise.all(["hub-data", "shared", "archive"].map((v) => docker.getVolume(`${p}-${v}`).inspect()));
  const images = await Promise.all(["localhost/notebook-minimal:5.5.1", "localhost/notebook-gispy:5.5.1"].map((i) => docker.getImage(i).inspect()));
  return {
    hub: (await inspectContainer(`${p}-hub`)).Id,
    proxy: (await inspectContainer(`${p}-proxy`)).Id,
    network: (await docker.getNetwork(p).inspect()).Id,
    volumes: volumes.map((v) => `${v.Name}@${(v as typeof v & { CreatedAt?: string }).CreatedAt}`),
    images: images.map((i) => i.Id),
  };
}

describe("switching the default image by config", { skip: localSkip }, () => {
  after(async () => {
    const restored = await localUp();
    assert.equal(restored.code, 0, restored.stderr);
  });

  it("applies the edit: hub replaced, new spawns use the new image, data and the rest untouched", async () => {
    const name = uniqueName("switch");
    await api.createUser(name);
    await api.startServer(name);
    assert.equal((await api.runPython(name, "import os; print(os.environ['GMAP_IMAGE'])")).trim(), "minimal");
    assert.equal((await api.putFile(name, "work/notes.txt", "before the switch")).status, 201);
    await api.stopServer(name);

    const before = await snapshot();
    const applied = await localUp({ configFile: editedStackFile((c) => (c["jupyterhub:defaultImage"] = "gispy")) });
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stderr, /replaced\s+Container gmap-e2e-hub/);
    assert.doesNotMatch(applied.stderr, /(replaced|created)\s+(Container gmap-e2e-proxy|Network|Volume)/);
    const afterEdit = await snapshot();
    assert.notEqual(afterEdit.hub, before.hub);
    assert.deepEqual({ ...afterEdit, hub: "" }, { ...before, hub: "" }, "proxy, network, volumes and images untouched");

    const settings = await api.startServer(name);
    assert.equal(settings.ready, true);
    assert.equal((await api.runPython(name, "import os; print(os.environ['GMAP_IMAGE'])")).trim(), "gispy", "a new spawn uses the new default");
    assert.equal(await api.getFile(name, "work/notes.txt"), "before the switch", "the user's work is intact");
    await api.stopServer(name);
  });
});
