/**
 * Scenario 11: spawner safety. A failing start hook fails the spawn within seconds, with the end of
 * the hook's output (API token hidden) as the spawn failure; a per-user host directory is created
 * for a new user, private (0700) and owned by the notebook user, while an existing one is left as
 * it is, and no helper container is left behind.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { docker, userContainer } from "./engine";
import { HubApi } from "./hub-api";
import { assertQuietPreview, up } from "./pulumi";
import { editedStackFile, prefix, stackSkip } from "./stack";
import { uniqueName } from "./user-names";
import { waitFor } from "./wait";
import { labelKeys } from "../../components/names";
import { escapeUserName } from "../../components/identity";

const api = new HubApi();

/** Runs `sh -c script` as root in a throwaway container with the host's /tmp at /host-tmp; returns its output. */
async function onHost(script: string): Promise<string> {
  const container = await docker.createContainer({
    Image: "localhost/gmap-debian:bookworm",
    Cmd: ["sh", "-c", script],
    // a terminal: the log is the plain output, without the multiplexing frames of stdout/stderr
    Tty: true,
    Labels: { [labelKeys.prefix]: prefix(), "org.europlanet-gmap.e2e": "host" },
    HostConfig: { Binds: ["/tmp:/host-tmp"] },
  });
  try {
    await container.start();
    const result = await container.wait();
    const out = (await container.logs({ stdout: true, stderr: true })).toString("utf8").replace(/\r/g, "");
    assert.equal(result.StatusCode, 0, out);
    return out;
  } finally {
    await container.remove({ force: true });
  }
}

describe("a failing start hook", () => {
  it("fails the spawn within seconds with the hook's last output lines, token hidden", async () => {
    const name = uniqueName("hookfail");
    await api.createUser(name);
    const started = Date.now();
    const message = await api.spawnFailure(name);
    assert.ok(Date.now() - started < 30_000, `failed after ${Date.now() - started} ms, not after the 120 s http timeout`);
    assert.match(message, /The start hook failed\. Its last output:/);
    assert.match(message, /hook line 13\n/);
    assert.match(message, /hook line 30\n/);
    assert.doesNotMatch(message, /hook line 12\n/, "only the last 20 lines");
    assert.match(message, /the API token is \[hidden\]/);
    assert.match(message, /the start hook failed with exit status 7; not starting the server/);
    assert.doesNotMatch(message, /GMAP_START_HOOK|Executing the command/, "neither the hook's environment nor start.sh's output");
  });

  it("leaves no container behind, and a new attempt fails the same way", { skip: stackSkip }, async () => {
    const name = uniqueName("hookfail");
    await api.createUser(name);
    await api.spawnFailure(name);
    await waitFor(
      `${name}'s container to be removed`,
      async () => ((await userContainer(escapeUserName(name))) ? undefined : true),
      30_000,
    );
    assert.match(await api.spawnFailure(name), /exit status 7/);
  });
});

describe("per-user host directories", { skip: stackSkip }, () => {
  const parent = `gmap-e2e-scratch-${Date.now().toString(36)}`;
  const fresh = uniqueName("scratch");
  const keeper = uniqueName("keeper");

  before(async () => {
    // an existing directory of one user: group-readable, with a file
    await onHost(
      `mkdir -p /host-tmp/${parent}/${escapeUserName(keeper)} && echo kept > /host-tmp/${parent}/${escapeUserName(keeper)}/notes.txt && chown -R 1000:100 /host-tmp/${parent}/${escapeUserName(keeper)} && chmod 0750 /host-tmp/${parent}/${escapeUserName(keeper)}`,
    );
    const file = editedStackFile((c) => {
      c["jupyterhub:storage"].push({
        name: "scratch",
        source: { type: "host", path: `/tmp/${parent}/{username}` },
        mountPath: "/mnt/scratch",
        perUser: true,
      });
    });
    const applied = await up({ configFile: file });
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    await api.createUser(fresh);
    await api.createUser(keeper);
  });

  after(async () => {
    await Promise.all([api.stopServer(fresh), api.stopServer(keeper)]);
    await onHost(`rm -rf /host-tmp/${parent}`);
    const restored = await up();
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    await assertQuietPreview("after restoring the e2e stack file");
  });

  it("a new user's directory is created private and owned by the notebook user", async () => {
    await api.startServer(fresh);
    const out = await api.runPython(
      fresh,
      "import os; open('/mnt/scratch/hello.txt', 'w').write('hi'); s = os.stat('/mnt/scratch'); print(s.st_uid, s.st_gid, oct(s.st_mode & 0o7777))",
    );
    assert.equal(out.trim(), "1000 100 0o700");
    const host = await onHost(
      `stat -c '%u:%g %a' /host-tmp/${parent}/${escapeUserName(fresh)} && cat /host-tmp/${parent}/${escapeUserName(fresh)}/hello.txt`,
    );
    assert.equal(host.trim(), "1000:100 700\nhi");
    // only the user's own directory was created below the parent
    assert.deepEqual(
      (await onHost(`ls -1 /host-tmp/${parent}`)).trim().split("\n").sort(),
      [escapeUserName(fresh), escapeUserName(keeper)].sort(),
    );
  });

  it("an existing directory is left as it is", async () => {
    await api.startServer(keeper);
    assert.equal((await api.runPython(keeper, "print(open('/mnt/scratch/notes.txt').read())")).trim(), "kept");
    const host = await onHost(`stat -c '%u:%g %a' /host-tmp/${parent}/${escapeUserName(keeper)}`);
    assert.equal(host.trim(), "1000:100 750");
  });

  it("no helper container is left behind", async () => {
    const ours = await docker.listContainers({ all: true, filters: { label: [`${labelKeys.prefix}=${prefix()}`] } });
    assert.deepEqual(
      ours.filter((c) => c.Command.includes("gmap-mkdir")).map((c) => c.Names[0]),
      [],
    );
  });
});
