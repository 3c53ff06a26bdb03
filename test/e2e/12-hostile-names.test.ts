/**
 * Scenario 12: hostile user names, through native sign-up and through the API. Each one is either
 * refused (no account, no hub user, no container, no volume) or gets its own server and volume:
 * names spelled like another name's Docker escape never share anything with it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeUserName } from "../../components/identity";
import { BrowserSession } from "./browser-session";
import { docker, userContainer } from "./engine";
import { HubApi } from "./hub-api";
import { prefix, stackSkip } from "./stack";

const api = new HubApi();
const PASSWORD = "Hostile-Passw0rd-2026";

/** Names the hub must refuse: control characters, multi-byte, too long, path-, shell- and prefix-like. */
const refused = [
  "ctrl\u0001name",
  "tab\tname",
  "new\nline",
  "nul\u0000byte",
  "trailing ",
  "ünïcødé",
  "日本語ユーザー",
  "x".repeat(49),
  "../../etc",
  "a/b",
  "$(reboot)",
  "`id`",
  "x;rm -rf",
  "native:admin",
  "github:mallory",
  "-dash",
  "%2e%2e",
  "back\\slash",
];

async function hubUserExists(name: string): Promise<boolean> {
  const res = await api.request(`/hub/api/users/${encodeURIComponent(name)}`);
  await res.arrayBuffer();
  return res.status === 200;
}

describe("hostile user names", () => {
  for (const name of refused) {
    it(`refuses ${JSON.stringify(name)} through the API and at sign-up`, async () => {
      const created = await api.request(`/hub/api/users/${encodeURIComponent(name)}`, { method: "POST", body: "{}" });
      const text = await created.text();
      assert.ok([400, 404].includes(created.status), `API: HTTP ${created.status} ${text.slice(0, 200)}`);
      const page = await new BrowserSession().signUp(name, PASSWORD);
      assert.doesNotMatch(page.text, /signup was successful|information has been sent to the admin/i, "sign-up refused");
      assert.equal(await hubUserExists(name), false);
      const session = new BrowserSession();
      await session.login(name, PASSWORD);
      assert.equal(await session.whoami(), undefined, "no login");
    });
  }

  it("names spelled like another name's escape get their own server and volume", { skip: stackSkip }, async () => {
    const pair = ["dot.name", `dot${escapeUserName(".")}name`, "x".repeat(48)];
    assert.equal(pair[1], "dot-2ename");
    for (const name of pair) {
      await api.createUser(name);
      await api.startServer(name);
      assert.equal((await api.putFile(name, "work/owner.txt", name)).status, 201);
    }
    const containers = await Promise.all(pair.map((n) => userContainer(escapeUserName(n))));
    assert.equal(new Set(containers.map((c) => c?.Id)).size, pair.length, "one container each");
    const volumes = containers.map((c) => c!.Mounts.find((m) => m.Destination === "/home/jovyan")!.Name);
    assert.deepEqual(
      volumes,
      pair.map((n) => `${prefix()}-user-${escapeUserName(n)}`),
    );
    assert.equal(new Set(volumes).size, pair.length, "one volume each");
    for (const name of pair) assert.equal(await api.getFile(name, "work/owner.txt"), name, `${name} sees only its own file`);
    for (const name of pair) await api.stopServer(name);
    for (const v of volumes) assert.ok(await docker.getVolume(v!).inspect());
  });
});
