/**
 * Scenario 25: the load benchmark's short version (bench/load-run.ts, issue 21 item 4): a dozen
 * native users log in through the login form and ask for a server at once while other logged-in
 * users flood the hub with page loads; no request gets a 5xx, and each user gets a server that
 * answers through the proxy or a clear "try later". `npm run bench:load` is the long run
 * (docs/benchmarks.md). Past `spawner.concurrentSpawnLimit` (8 in the e2e stack) servers asked for
 * at once, the hub answers at once: 429 with a "try again" message.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HubStack } from "../../bench/hub-stack";
import { loadReport, unanswered } from "../../bench/load-report";
import { runLoad } from "../../bench/load-run";
import { readStackFile } from "../../ops/stack-file";
import { HubApi } from "./hub-api";
import { prefix, projectDir, stack, stackSkip } from "./stack";
import { uniqueName } from "./user-names";

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

  it("past the limit of spawns at once, tells the next users at once to try again (429)", async () => {
    const api = new HubApi();
    const limit = (JSON.parse(readStackFile(projectDir, stack!).config["jupyterhub:spawner"] ?? "{}") as { concurrentSpawnLimit?: number })
      .concurrentSpawnLimit;
    assert.ok(limit && limit < 20, "the e2e stack sets a small spawner.concurrentSpawnLimit");
    const users = Array.from({ length: limit + 3 }, (_, i) => uniqueName(`limit${i}`));
    for (const user of users) await api.createUser(user);
    try {
      const answers = await Promise.all(
        users.map(async (user) => {
          const res = await api.request(`/hub/api/users/${encodeURIComponent(user)}/server`, { method: "POST", body: "{}" });
          return { status: res.status, text: await res.text() };
        }),
      );
      const started = answers.filter((a) => a.status === 201 || a.status === 202);
      const refused = answers.filter((a) => a.status === 429);
      assert.equal(started.length + refused.length, users.length, JSON.stringify(answers.map((a) => a.status)));
      assert.ok(started.length <= limit, `${started.length} spawns at once, limit ${limit}`);
      assert.ok(refused.length >= 3, `refused: ${refused.length}`);
      for (const r of refused) assert.match(r.text, /Try again in \d+ seconds/);
    } finally {
      for (const user of users) await api.stopServer(user).catch(() => undefined);
    }
  });
});
