/**
 * Scenario 24: the soak benchmark's short version (bench/soak-run.ts, issue 21 item 3): a few dozen
 * spawn/stop cycles of three users, one at a time, all at once, and stopped with the idle culler's
 * token, leave no container, network, subnet, host or proxy route or volume behind that should be
 * gone, and no table of the hub database grows per cycle or keeps rows of deleted users.
 * `npm run bench:soak` is the long run (docs/benchmarks.md).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HubStack } from "../../bench/hub-stack";
import { soakReport } from "../../bench/soak-report";
import { runSoak } from "../../bench/soak-run";
import { HubApi } from "./hub-api";
import { prefix, stackSkip } from "./stack";

describe("soak: spawn/stop cycles", { skip: stackSkip }, () => {
  it("leave nothing behind and do not grow the database", { timeout: 240_000 }, async () => {
    const users = 3;
    // at most 24 cycles and 100 s of them (the checks and the clean-up follow)
    const result = await runSoak({
      api: new HubApi(),
      stack: new HubStack(prefix()),
      cycles: 24,
      users,
      sampleEvery: 6,
      timeLimitMs: 100_000,
    });
    for (const line of soakReport(result)) console.log(line);
    assert.deepEqual(result.failures, [], "every cycle started and stopped its server");
    assert.deepEqual(result.leaks, [], "nothing that should be gone is left");
    const kinds = Object.entries(result.byKind);
    assert.ok(
      kinds.every(([, n]) => n > 0),
      `every kind of round ran within the time limit: ${kinds.map(([k, n]) => `${n} ${k}`).join(", ")}`,
    );
  });
});
