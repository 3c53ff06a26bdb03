/**
 * The stateful resources (generated secrets, volumes, the hub image) of every example stack keep
 * their URNs, or an alias keeps the old one: a URN that changes makes `pulumi up` delete the
 * resource and create a new one (a new cookie secret logs everyone out; new tokens and passwords
 * lock the services and admins out). Golden URNs: test/fixtures/stateful-urns.json (npm run urns).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, it } from "node:test";
import { statefulResources, urnsFile } from "../../generate/stateful-urns";

const golden = JSON.parse(fs.readFileSync(urnsFile, "utf8")) as Record<string, string[]>;

describe("stateful resources keep their URNs", () => {
  for (const [stack, urns] of Object.entries(golden)) {
    it(stack, () => {
      const now = statefulResources(stack);
      const kept = new Set([...now.keys(), ...[...now.values()].flat()]);
      const lost = urns.filter((urn) => !kept.has(urn));
      assert.deepEqual(
        lost,
        [],
        "these resources would be deleted and created anew by pulumi up (secrets regenerated, volumes forgotten): " +
          "give the resource that replaces each an alias to its old URN (opts.aliases), then npm run urns",
      );
      const added = [...now.keys()].filter((urn) => !urns.includes(urn));
      assert.deepEqual(added, [], "new stateful resources: record them with npm run urns");
    });
  }
});
