/** The contract between the program and the hub: schemas, their generated JSON Schemas, every stack's files. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { imageEntry, swarmImageKeys } from "../../components/config";
import { hubSecretsSchema, hubSettingsSchema } from "../../components/contract";
import { contractFiles, golden, goldenStacks } from "../../generate/contract";

const root = path.resolve(__dirname, "..", "..");

describe("the hub contract", () => {
  it("hub-config carries the JSON Schemas generated from components/contract.ts (npm run contract)", () => {
    for (const [file, text] of Object.entries(contractFiles())) {
      assert.equal(fs.readFileSync(file, "utf8"), text, `${path.relative(root, file)} is stale: run npm run contract`);
    }
  });

  for (const name of goldenStacks) {
    it(`Pulumi.${name}.yaml gives settings and secrets the contract accepts (golden test/fixtures/settings/${name}.json)`, () => {
      const { settings, secrets } = golden(name);
      hubSettingsSchema.parse(settings);
      hubSecretsSchema.parse(secrets);
    });
  }

  it("refuses what the hub would not understand", () => {
    const { settings } = golden("dev");
    assert.throws(() => hubSettingsSchema.parse({ ...settings, extra: 1 }), /extra/);
    assert.throws(() => hubSettingsSchema.parse({ ...settings, spawner: { ...settings.spawner, mounts: [{ name: "x" }] } }));
    assert.throws(() => hubSecretsSchema.parse({ cookieSecret: "not hex" }));
  });

  it("takes every key of the config's image entry but the swarm-only ones (a new per-image option reaches the hub as it is)", () => {
    const imageSchema = hubSettingsSchema.shape.spawner.shape.images.element;
    const hubKeys = Object.keys(imageEntry.shape).filter((k) => !(k in swarmImageKeys));
    assert.deepEqual(Object.keys(imageSchema.shape), hubKeys);
    assert.deepEqual(
      golden("production").settings.spawner.images.map((i) => Object.keys(i).sort()),
      [...new Array(golden("production").settings.spawner.images.length).fill([...hubKeys].sort())],
    );
  });
});
