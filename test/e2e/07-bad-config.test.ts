/** Scenario 8: a bad config is refused with keyed errors before any Docker object exists. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { docker, editedStackFile, localSkip, localUp } from "./local";

describe("bad config", { skip: localSkip }, () => {
  it("is refused with every problem by key, and creates nothing", async () => {
    const runId = "e2e-bad-config";
    const file = editedStackFile((c) => {
      c["jupyterhub:prefix"] = "gmap-e2e-bad";
      c["jupyterhub:hub"].port = 0;
      c["jupyterhub:images"][0].image = "localhost/notebook-minimal";
      c["jupyterhub:defaultImage"] = "isis";
      c["jupyterhub:storage"][0].mountPath = "shared";
    });
    const applied = await localUp({ runId, configFile: file });
    assert.notEqual(applied.code, 0);
    for (const key of ["jupyterhub:hub.port", "jupyterhub:images[0].image", "jupyterhub:storage[0].mountPath"]) {
      assert.ok(applied.stderr.includes(key), `missing ${key} in:\n${applied.stderr}`);
    }
    const owned = { filters: { label: [`org.europlanet-gmap.harness=${runId}`] } };
    assert.deepEqual((await docker.listContainers({ all: true, ...owned })).length, 0);
    assert.deepEqual((await docker.listNetworks(owned)).length, 0);
    assert.deepEqual((await docker.listVolumes(owned)).Volumes?.length ?? 0, 0);
    const named = await docker.listContainers({ all: true, filters: { name: ["gmap-e2e-bad"] } });
    assert.equal(named.length, 0);
  });
});
