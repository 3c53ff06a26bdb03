/** `npm run check -- <stack>`: the stack files validate without Docker, the CLI or a deployment. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { goldenStacks } from "../../generate/contract";
import { editedStackFile } from "../../ops/stack-file";

const root = path.resolve(__dirname, "..", "..");

function check(...args: string[]) {
  const res = spawnSync(process.execPath, ["--import", "tsx", "ops/check.ts", ...args], { cwd: root, encoding: "utf8" });
  return { code: res.status, out: res.stdout + res.stderr };
}

/** A copy of a stack file, changed by `edit`. */
const edited = (stack: string, edit: (config: Record<string, any>) => void) => editedStackFile(root, stack, edit);

const secure = (n: number) => ({ secure: `v1:ZmFrZQ==:v1:ZmFrZQ==:c2VjcmV0LXZhbHVlLSR7bn0=${n}` });

describe("npm run check", () => {
  for (const stack of goldenStacks.filter((s) => s !== "production")) {
    it(`Pulumi.${stack}.yaml is ok`, () => {
      const { code, out } = check(stack);
      assert.equal(code, 0, out);
      assert.match(out, new RegExp(`Pulumi\\.${stack}\\.yaml: ok`));
    });
  }

  it("names every secret the production example still needs, by key", () => {
    const { code, out } = check("production");
    assert.equal(code, 1);
    assert.match(out, /jupyterhub:githubClientSecret: provider github is enabled: pulumi config set --secret githubClientSecret/);
    assert.match(out, /jupyterhub:gitlabClientSecret: /);
    assert.match(out, /jupyterhub:storage\[2\]\.source: CIFS needs credentials/);
  });

  it("counts encrypted values as set and never prints them", () => {
    const file = edited("production", (c) => {
      c["jupyterhub:githubClientSecret"] = secure(1);
      c["jupyterhub:gitlabClientSecret"] = secure(2);
      c["jupyterhub:shareCredentials"] = { "shared-smb": { username: "gmap", password: secure(3) } };
    });
    const { code, out } = check("production", "--config-file", file);
    assert.equal(code, 0, out);
    assert.match(
      out,
      /ok \(secrets set, values not shown: jupyterhub:githubClientSecret, jupyterhub:gitlabClientSecret, jupyterhub:shareCredentials\.shared-smb\.password\)/,
    );
    assert.ok(!out.includes("v1:"), "no ciphertext either");
  });

  it("lists every problem by key and fails", () => {
    const file = edited("dev", (c) => {
      c["jupyterhub:hub"].port = 0;
      c["jupyterhub:storage"][0].mountPath = "shared";
      c["jupyterhub:imgaes"] = [];
    });
    const { code, out } = check("dev", "--config-file", file);
    assert.equal(code, 1);
    assert.match(out, /Invalid stack config: 3 problems/);
    for (const key of ["jupyterhub:hub.port", "jupyterhub:storage[0].mountPath", "jupyterhub:imgaes: unknown key"])
      assert.ok(out.includes(key), out);
  });

  it("explains usage and unknown stacks", () => {
    assert.equal(check().code, 2);
    const { code, out } = check("nosuchstack");
    assert.equal(code, 2);
    assert.match(out, /Pulumi\.nosuchstack\.yaml not found/);
  });
});
