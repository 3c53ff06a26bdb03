/**
 * Scenario 4: storage. Per-user volumes are isolated, the shared volume is shared, the read-only
 * archive is readable and not writable, the configured environment is present, and the notebook
 * user owns what it should write to.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { docker, userContainer } from "./engine";
import { HubApi } from "./hub-api";
import { prefix, stackSkip } from "./stack";
import { uniqueName } from "./user-names";
import { labelKeys } from "../../components/names";
import { escapeUserName } from "../../components/identity";

const api = new HubApi();

/** Writes a file into the archive volume as an operator would fill it (local engine only). */
async function seedArchive(content: string): Promise<void> {
  const container = await docker.createContainer({
    Image: "localhost/gmap-debian:bookworm",
    Cmd: ["sh", "-c", 'mkdir -p /archive/base && printf %s "$CONTENT" > /archive/base/README.txt'],
    Env: [`CONTENT=${content}`],
    Labels: { [labelKeys.prefix]: prefix(), "org.europlanet-gmap.e2e": "seed" },
    HostConfig: { Binds: [`${prefix()}-archive:/archive`] },
  });
  try {
    await container.start();
    const result = await container.wait();
    assert.equal(result.StatusCode, 0);
  } finally {
    await container.remove({ force: true });
  }
}

describe("storage mounts", () => {
  const alice = uniqueName("alice");
  const bob = uniqueName("bob");

  before(async () => {
    if (!stackSkip) await seedArchive("ISIS base data");
    await api.createUser(alice);
    await api.createUser(bob);
    await Promise.all([api.startServer(alice), api.startServer(bob)]);
  });
  after(async () => {
    await Promise.all([api.stopServer(alice), api.stopServer(bob)]);
  });

  it("each user's work volume is private", async () => {
    assert.equal((await api.putFile(alice, "work/private.txt", "alice only")).status, 201);
    assert.equal(await api.getFile(alice, "work/private.txt"), "alice only");
    assert.equal(await api.getFile(bob, "work/private.txt"), undefined);
  });

  it("the shared volume is seen and writable by both", async () => {
    const file = `shared/${alice}.txt`;
    assert.equal((await api.putFile(alice, file, "hello bob")).status, 201);
    assert.equal(await api.getFile(bob, file), "hello bob");
    assert.equal((await api.putFile(bob, `shared/${bob}.txt`, "hello alice")).status, 201);
  });

  it("the archive is readable and read-only, with its environment variable set", async () => {
    const out = await api.runPython(
      alice,
      [
        "import os, errno",
        "print(os.environ['ISISDATA'])",
        "print(os.access(os.environ['ISISDATA'], os.R_OK))",
        "try:",
        "    open(os.path.join(os.environ['ISISDATA'], 'x.txt'), 'w')",
        "    print('writable')",
        "except OSError as e:",
        "    print(errno.errorcode[e.errno])",
      ].join("\n"),
    );
    assert.deepEqual(out.trim().split("\n"), ["/mnt/isis/data", "True", "EROFS"]);
  });

  it("the archive's content is there", { skip: stackSkip }, async () => {
    const out = await api.runPython(bob, "print(open('/mnt/isis/data/base/README.txt').read())");
    assert.equal(out.trim(), "ISIS base data");
  });

  it("the notebook user owns its home and work volume", async () => {
    const out = await api.runPython(
      alice,
      "import os; print(os.getuid(), os.getgid(), os.stat(os.path.expanduser('~')).st_uid, os.stat(os.path.expanduser('~/work')).st_uid, os.access(os.path.expanduser('~/shared'), os.W_OK))",
    );
    assert.equal(out.trim(), "1000 100 1000 1000 True");
  });

  it("user servers run in their own containers on their own networks, labelled", { skip: stackSkip }, async () => {
    const container = await userContainer(escapeUserName(alice));
    assert.ok(container, "alice's container carries the stack's user labels");
    // alone with the hub and the proxy (test/e2e/13-isolation.test.ts)
    assert.deepEqual(Object.keys(container.NetworkSettings.Networks), [`${prefix()}-u-${escapeUserName(alice)}`]);
    const vols = await docker.listVolumes({ filters: { label: [`org.europlanet-gmap.jupyterhub.component=user`] } });
    assert.ok(vols.Volumes.some((v) => v.Name === `${prefix()}-user-${escapeUserName(alice)}`));
  });
});
