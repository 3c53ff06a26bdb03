/** A bounded loop of processes in a user's server, to see where its pids limit stops it (scenarios 18 and 19). */
import assert from "node:assert/strict";
import type { HubApi } from "./hub-api";

/**
 * Python for a kernel: reads the server's pids limit, starts `sleep` processes until one is refused
 * (at most 2000 tries), holds them 5 s at the limit, kills them, and prints "<limit> <started> <error>".
 */
const LOOP = `
import os, subprocess, time
cgroup = "/sys/fs/cgroup/pids/pids.max" if os.path.exists("/sys/fs/cgroup/pids/pids.max") else "/sys/fs/cgroup/pids.max"
limit = open(cgroup).read().strip()
procs, refused = [], "none"
for _ in range(2000):
    try:
        procs.append(subprocess.Popen(["sleep", "120"]))
    except OSError as e:
        refused = e.strerror
        break
time.sleep(5)
for p in procs:
    p.kill()
for p in procs:
    p.wait()
print(limit, len(procs), refused)
`;

/**
 * Runs the loop in `user`'s server and checks that it stopped at `limit` with the kernel's refusal
 * (EAGAIN) while the hub at `hubUrl` kept answering its health check, and that the server still
 * works afterwards.
 */
export async function assertProcessLoopStops(api: HubApi, user: string, limit: number, hubUrl: string): Promise<void> {
  const run = api.runPython(user, LOOP, 120_000);
  let done = false;
  void run.finally(() => (done = true)).catch(() => undefined);
  const health: number[] = [];
  for (let i = 0; i < 60 && !done; i++) {
    const res = await fetch(`${hubUrl}/hub/health`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    health.push(res?.status ?? 0);
    await new Promise((r) => setTimeout(r, 250));
  }
  const [seen, started, ...refused] = (await run).trim().split("\n").pop()!.split(" ");
  assert.equal(seen, String(limit));
  assert.ok(Number(started) > 50 && Number(started) < limit, `started ${started} processes under a limit of ${seen}`);
  assert.match(refused.join(" "), /Resource temporarily unavailable/);
  assert.ok(health.length > 0 && health.every((s) => s === 200), `the hub's health answers during the loop: ${health.join(",")}`);
  assert.equal((await api.runPython(user, "print(6 * 7)")).trim(), "42", "the server still works once the processes are gone");
}
