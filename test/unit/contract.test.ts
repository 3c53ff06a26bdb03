/** The contract between the program and the hub: schemas, their generated JSON Schemas, every stack's files. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { loadConfig, type StackConfig } from "../../components/config";
import { hubSecretsSchema, hubSettingsSchema } from "../../components/contract";
import { hubSecrets, hubSettings } from "../../components/settings";
import { contractFiles } from "../../scripts/contract";
import { readStackFile } from "../../scripts/stack-file";

const root = path.resolve(__dirname, "..", "..");

function stack(name: string): { config: StackConfig; hookFiles: Record<string, string> } {
  const { config } = readStackFile(root, name);
  const extra: Record<string, string> =
    name === "production"
      ? {
          "jupyterhub:githubClientSecret": "gh-secret",
          "jupyterhub:gitlabClientSecret": "gl-secret",
          "jupyterhub:shareCredentials": JSON.stringify({ "shared-smb": { username: "gmap", password: "smb-secret" } }),
        }
      : {};
  const loaded = loadConfig({ ...config, ...extra }, (file) => fs.readFileSync(path.join(root, file), "utf8"));
  return { config: loaded.config, hookFiles: { ...loaded.hookFiles } };
}

describe("the hub contract", () => {
  it("hub-config carries the JSON Schemas generated from components/contract.ts (npm run contract)", () => {
    for (const [file, text] of Object.entries(contractFiles())) {
      assert.equal(fs.readFileSync(file, "utf8"), text, `${path.relative(root, file)} is stale: run npm run contract`);
    }
  });

  for (const name of ["dev", "e2e", "e2e-oauth", "production"]) {
    it(`Pulumi.${name}.yaml gives settings and secrets the contract accepts`, () => {
      const { config, hookFiles } = stack(name);
      const { githubClientSecret: _g, gitlabClientSecret: _l, shareCredentials: _s, ...publicConfig } = config;
      hubSettingsSchema.parse(hubSettings(publicConfig, name, hookFiles));
      const generated = { cookieSecret: "ab".repeat(32), proxyAuthToken: "p", cullerToken: "c", serviceTokens: {}, adminPasswordHashes: {} };
      hubSecretsSchema.parse(hubSecrets(config, generated));
    });
  }

  it("refuses what the hub would not understand", () => {
    const { config, hookFiles } = stack("dev");
    const settings = hubSettings(config, "dev", hookFiles);
    assert.throws(() => hubSettingsSchema.parse({ ...settings, extra: 1 }), /extra/);
    assert.throws(() => hubSettingsSchema.parse({ ...settings, spawner: { ...settings.spawner, mounts: [{ name: "x" }] } }));
    assert.throws(() => hubSecretsSchema.parse({ cookieSecret: "not hex" }));
  });
});
