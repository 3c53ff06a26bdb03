/**
 * Scenario 7: a bad config is refused by the real `pulumi preview` and `pulumi up` with every
 * problem by key, printed once and without a stack trace, before any resource is declared: the
 * running deployment is untouched and nothing new exists. A secret key in plain text is one of the
 * problems, named by key, its value never shown.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { docker, inspectContainer } from "./engine";
import { preview, pulumi, up } from "./pulumi";
import { editedStackFile, prefix, stackSkip } from "./stack";

const BAD_PREFIX = "gmap-e2e-bad";
const KEYS = [
  "jupyterhub:hub.port",
  "jupyterhub:images[0].image",
  "jupyterhub:defaultImage",
  "jupyterhub:storage[0].mountPath",
  "jupyterhub:tlsKey",
];
/** A value under a secret key in plain text, as if pasted into the stack file. */
const PLAIN_SECRET = "plain-text-key-material-e2e";

function badConfig(): string {
  return editedStackFile((c) => {
    c["jupyterhub:prefix"] = BAD_PREFIX;
    c["jupyterhub:hub"].port = 0;
    c["jupyterhub:images"][0].image = "localhost/notebook-minimal";
    c["jupyterhub:defaultImage"] = "isis";
    c["jupyterhub:storage"][0].mountPath = "shared";
    c["jupyterhub:tlsKey"] = PLAIN_SECRET;
  });
}

function assertKeyedOnce(output: string): void {
  for (const key of KEYS) assert.ok(output.includes(key), `missing ${key} in:\n${output}`);
  const lines = output.match(/^\s+- jupyterhub:hub\.port: .*$/gm) ?? [];
  assert.equal(lines.length, 1, `the problem list is printed once:\n${output}`);
  assert.doesNotMatch(output, /^\s+at .+\(.+:\d+:\d+\)$/m, "no stack trace");
  assert.doesNotMatch(output, /\.ts:\d+:\d+/, "no source locations");
  assert.match(output, /jupyterhub:tlsKey: holds a secret in plain text/);
  assert.ok(!output.includes(PLAIN_SECRET), "the plain-text secret is not shown");
}

describe("bad config", { skip: stackSkip }, () => {
  it("pulumi preview and pulumi up refuse it with every problem by key, once, and change nothing", async () => {
    const hubBefore = (await inspectContainer(`${prefix()}-hub`)).Id;
    const file = badConfig();

    const text = await pulumi(["preview", "--stack", process.env.E2E_STACK!, "--config-file", file]);
    assert.notEqual(text.code, 0);
    assertKeyedOnce(text.stdout + text.stderr);

    const json = await preview({ configFile: file });
    assert.notEqual(json.code, 0);
    assert.deepEqual(json.changes, [], "nothing is planned");

    const applied = await up({ configFile: file });
    assert.notEqual(applied.code, 0);
    assertKeyedOnce(applied.stdout + applied.stderr);

    assert.equal((await inspectContainer(`${prefix()}-hub`)).Id, hubBefore, "the running hub is untouched");
    const named = { filters: { name: [BAD_PREFIX] } };
    assert.equal((await docker.listContainers({ all: true, ...named })).length, 0);
    assert.equal((await docker.listNetworks(named)).length, 0);
    assert.equal((await docker.listVolumes(named)).Volumes?.length ?? 0, 0);
  });
});
