/** The whole program (index.ts) with each stack file of the repository, under plain mocks. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { exampleSecrets, runProgram } from "./run-program";
import YAML from "yaml";
import { withConfigReference } from "../../generate/config-reference";

const root = path.resolve(__dirname, "..", "..");

const productionSecrets = exampleSecrets.production!;

describe("the program", () => {
  it("is deterministic: two runs with the same config declare identical inputs", () => {
    const one = runProgram("dev");
    const two = runProgram("dev");
    assert.ok(one.resources.length >= 10);
    assert.deepEqual(two.resources, one.resources);
  });

  it("switching the notebook image changes only that image's pull and the hub container (a quiet preview)", () => {
    const before = runProgram("dev");
    const after = runProgram("dev", {
      "jupyterhub:images": JSON.stringify([
        { name: "minimal", displayName: "Minimal (Python)", image: "quay.io/jupyter/minimal-notebook:2025-10-20" },
      ]),
    });
    const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
    const old = new Map(before.resources.map((r) => [key(r), JSON.stringify(r)]));
    const changed = after.resources
      .filter((r) => old.get(key(r)) !== JSON.stringify(r))
      .map(key)
      .sort();
    assert.deepEqual(changed, [
      "docker:index/container:Container::jupyterhub-hub",
      "docker:index/remoteImage:RemoteImage::jupyterhub-images-minimal",
    ]);
    assert.equal(after.resources.length, before.resources.length);
  });

  it("replaces a container whose healthcheck changes (an update of it is never applied) and removes the old one first", () => {
    for (const stack of ["dev", "e2e-pg", "e2e-tls"]) {
      const containers = runProgram(stack).resources.filter((r) => r.type === "docker:index/container:Container");
      assert.ok(containers.some((c) => c.inputs.healthcheck));
      for (const c of containers) {
        assert.ok(c.replaceOnChanges.includes("healthcheck"), `${stack}: ${c.name}`);
        assert.equal(c.deleteBeforeReplace, true, `${stack}: ${c.name} has a fixed name`);
      }
    }
  });

  it("exports the documented outputs, service tokens and admin passwords only as secrets", () => {
    const { outputs } = runProgram("dev");
    assert.equal(outputs.hubUrl!.value, "http://localhost:8000");
    assert.equal(outputs.networkName!.value, "gmap-dev");
    assert.deepEqual(outputs.volumeNames!.value, ["gmap-dev-hub-data", "gmap-dev-shared"]);
    assert.deepEqual(outputs.images!.value, { minimal: "quay.io/jupyter/minimal-notebook:hub-5.5.1" });
    assert.deepEqual(outputs.adminUsers!.value, ["admin"]);
    assert.equal(outputs.hubContainer!.value, "gmap-dev-hub");
    assert.equal(outputs.serviceTokens!.secret, true);
    assert.equal(outputs.adminPasswords!.secret, true);
    assert.deepEqual(Object.keys(outputs.adminPasswords!.value), ["admin"]);
    for (const [key, o] of Object.entries(outputs))
      if (!["serviceTokens", "adminPasswords"].includes(key)) assert.equal(o.secret, false, key);
  });

  it("the production example validates (with its secrets set) and keeps every secret secret", () => {
    const { resources, outputs } = runProgram("production", productionSecrets);
    const text = JSON.stringify(resources);
    for (const secret of ["gh-placeholder-secret", "gl-placeholder-secret", "smb-placeholder-secret"]) {
      assert.ok(!text.includes(secret), `${secret} appears in plain inputs`);
    }
    assert.ok(text.includes("[secret "), "secrets reach the resources as secrets");
    assert.ok(text.includes("gmap/jupyter-isis:8.0.3"));
    assert.deepEqual(
      outputs.adminUsers!.value,
      ["github:gmap-maintainer", "native:gmap-admin"],
      "with several providers, names carry the provider",
    );
  });

  it("the e2e stack validates", () => {
    const { resources } = runProgram("e2e");
    assert.ok(
      resources.some(
        (r) => r.type === "docker:index/remoteImage:RemoteImage" && JSON.stringify(r.inputs).includes("localhost/notebook-gispy"),
      ),
    );
  });

  it("refuses a bad config before declaring any resource, with keyed errors", () => {
    const res = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "test/unit/run-program.ts",
        "dev",
        JSON.stringify({ "jupyterhub:hub": '{"port": -1}', "jupyterhub:imgaes": "[]" }),
      ],
      { cwd: root, encoding: "utf8" },
    );
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /jupyterhub:hub\.port/);
    assert.match(res.stderr, /jupyterhub:imgaes: unknown key/);
    assert.equal(res.stdout, "");
  });
});

describe("documentation stays in sync with the schema", () => {
  it("docs/configuration.md's config reference is the generated one (npm run docs:config)", () => {
    const readme = fs.readFileSync(path.join(root, "docs", "configuration.md"), "utf8");
    assert.equal(readme, withConfigReference(readme));
  });

  it("Pulumi.yaml declares no config key (Pulumi would require it in every stack)", () => {
    const project = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
    assert.equal(project.config, undefined);
  });
});
