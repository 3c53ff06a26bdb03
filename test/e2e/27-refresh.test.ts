/**
 * Scenario 27: `pulumi refresh` is safe. With user servers running (containers and networks the hub
 * made, which the stack does not declare), reading every resource of the stack back from the engine
 * finds exactly what the state says, and the preview after it is quiet: a refresh never plans a
 * change that the next `pulumi up` would then make.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HubApi } from "./hub-api";
import { assertQuietPreview, refreshPreview } from "./pulumi";
import { stackSkip } from "./stack";
import { uniqueName } from "./user-names";

const api = new HubApi();

describe("pulumi refresh", { skip: stackSkip }, () => {
  const users = [uniqueName("refresh1"), uniqueName("refresh2")];

  before(async () => {
    for (const user of users) {
      await api.createUser(user);
      await api.startServer(user);
    }
  });

  after(async () => {
    for (const user of users) await api.stopServer(user).catch(() => undefined);
  });

  it("finds no drift with servers running, and the next preview is quiet", async () => {
    const run = await refreshPreview();
    assert.equal(run.code, 0, `pulumi refresh found drift:\n${(run.stdout + run.stderr).slice(-4000)}`);
    assert.match(run.stdout, /unchanged/);
    await assertQuietPreview("after a refresh with servers running");
  });
});
