/**
 * Scenario 7: the operator's post-auth and pre-spawn hooks (test/e2e/hooks/*.py, shipped into the
 * hub) and the container start hook (test/e2e/hooks/start.sh) have observable effects.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BrowserSession } from "./browser-session";
import { HubApi } from "./hub-api";
import { uniqueName } from "./user-names";

const api = new HubApi();

describe("hooks", () => {
  it("post-auth, pre-spawn and start hooks run, in that order, for a user who logged in", async () => {
    const name = uniqueName("hooked");
    const password = "Hook-Passw0rd-1";
    const user = new BrowserSession();
    await user.signUp(name, password);
    await (await BrowserSession.admin()).authorize(name);
    await user.login(name, password);
    assert.equal(await user.whoami(), name);

    await api.startServer(name);
    const out = await api.runPython(name, "import os; print(os.environ['GMAP_PRE_SPAWN_USER'], os.environ['GMAP_POST_AUTH_SEEN'])");
    assert.equal(out.trim(), `${name} yes`, "the pre-spawn hook saw the post-auth hook's record");
    assert.equal(await api.getFile(name, "gmap-start-hook.txt"), `1000 ${name} yes\n`, "the start hook ran as the notebook user");
    const link = await api.server(name, "/contents/isis-data");
    assert.equal(link.type, "directory", "the start hook linked the archive into the home directory");
    await api.stopServer(name);
  });

  it("a user who never logged in (created through the API) is told apart by the pre-spawn hook", async () => {
    const name = uniqueName("apionly");
    await api.createUser(name);
    await api.startServer(name);
    assert.equal(await api.getFile(name, "gmap-start-hook.txt"), `1000 ${name} no\n`);
    await api.stopServer(name);
  });
});
