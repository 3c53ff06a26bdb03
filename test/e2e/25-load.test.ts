/**
 * Scenario 25: the load benchmark's short version (bench/load-run.ts, issue 21 item 4): a dozen
 * native users log in through the login form and ask for a server at once while other logged-in
 * users flood the hub with page loads; no request gets a 5xx, and each user gets a server that
 * answers through the proxy or a clear "try later". `npm run bench:load` is the long run
 * (docs/benchmarks.md).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HubStack } from "../../bench/hub-stack";
import { loadReport, unanswered } from "../../bench/load-report";
import { runLoad } from "../../bench/load-run";
import { HubApi } from "./hub-api";
import { prefix, stackSkip } from "./stack";

describe("load: users logging in and starting servers at once", { skip: stackSkip }, () => {
  it("gets no 5xx and gives every user a server or a clear 'try later', the page loads notwithstanding", { timeout: 240_000 }, async () => {
    const result = await runLoad({
      api: new HubApi(),
      stack: new HubStack(prefix()),
      users: 12,
      flooders: 4,
      floodLimit: 1000,
      timeLimitMs: 150_000,
      image: "minimal",
    });
    for (const line of loadReport(result)) console.log(line);
    assert.deepEqual(result.traffic.serverErrors(), [], "no request got a 5xx");
    assert.deepEqual(unanswered(result), [], "every user got a server or a clear 'try later'");
    assert.ok(result.floodDuringSpawns > 0, "the flood ran while the servers started");
  });
});
