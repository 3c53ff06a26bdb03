/** User names: one rule, and a one-to-one mapping to Docker name parts (container and volume names). */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { escapeUserName, userNameRule } from "../../components/identity";

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "user-names.json"), "utf8"));
const vectors = fixture.names as { name: string; escaped: string; accepted: boolean }[];
const rule = new RegExp(`^${userNameRule.source}$`);

/** A deterministic pseudo-random generator (mulberry32), so a failure can be replayed. */
function generator(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("user names", () => {
  it("escape as DockerSpawner does, and the rule accepts exactly the names it should (shared vectors)", () => {
    assert.equal(fixture.rule, userNameRule.source, "the Python tests use the same rule");
    for (const v of vectors) {
      assert.equal(escapeUserName(v.name), v.escaped, v.name);
      assert.equal(rule.test(v.name), v.accepted, v.name);
    }
  });

  it("map one-to-one to Docker names over every accepted name, including look-alikes of escapes (property)", () => {
    const random = generator(20261129);
    const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789._@-";
    const seen = new Map<string, string>();
    const names: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      const length = 1 + Math.floor(random() * 8);
      let name = "";
      for (let j = 0; j < length; j++) name += alphabet[Math.floor(random() * alphabet.length)];
      names.push(name);
      // a name spelled like another name's escape
      names.push(escapeUserName(name));
    }
    for (const name of names.filter((n) => rule.test(n))) {
      const escaped = escapeUserName(name);
      const other = seen.get(escaped);
      assert.ok(other === undefined || other === name, `${name} and ${other} both become ${escaped}`);
      seen.set(escaped, name);
      assert.match(escaped, /^[a-z0-9-]+$/, "Docker accepts it in a container or volume name");
    }
    assert.ok(seen.size > 20_000, `${seen.size} distinct names checked`);
  });

  it("keep Docker names within the limits of the file system (255 bytes) for the longest prefix", () => {
    const longest = "_".repeat(userNameRule.maxLength);
    assert.ok(rule.test(longest) && !rule.test(longest + "a"));
    const volume = `${"p".repeat(40)}-${"m".repeat(40)}-${escapeUserName(`github:${longest}`)}`;
    assert.ok(volume.length <= 255, `${volume.length}`);
  });
});
