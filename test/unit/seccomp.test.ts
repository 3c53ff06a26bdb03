/**
 * The seccomp profile of servers whose storage has a quota is generated, not written by hand: the
 * committed hub-config/gmap_hub/spawner/seccomp.json is what generate/seccomp makes of the Moby
 * profile its go.mod pins (`npm run seccomp` after changing either). What the profile refuses is
 * tested in test/python/test_seccomp.py, and on the engine in test/e2e/30-quota.test.ts.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

const root = path.resolve(__dirname, "..", "..");

describe("the user servers' seccomp profile", () => {
  it("is the generator's output for the pinned Moby profile", { timeout: 300_000 }, () => {
    const generated = execFileSync("go", ["-C", "generate/seccomp", "run", "."], {
      cwd: root,
      encoding: "utf8",
      maxBuffer: 16 * 2 ** 20,
      timeout: 280_000,
    });
    const committed = readFileSync(path.join(root, "hub-config/gmap_hub/spawner/seccomp.json"), "utf8");
    assert.ok(generated === committed, "hub-config/gmap_hub/spawner/seccomp.json is not current: run `npm run seccomp`");
  });
});
