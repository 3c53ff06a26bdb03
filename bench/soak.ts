/**
 * Soak benchmark (issue 21, item 3): spawn/stop cycles of a few users against a running hub on this
 * Docker host, then what they left behind (containers, networks, subnets, host and proxy routes,
 * volumes), the hub database's growth and the hub's and the proxy's memory curve (bench/soak-run.ts).
 * Exits 1 on a leak or a failed cycle.
 *
 *   . test/infra/pulumi-env.sh && node --import tsx test/e2e/deploy.ts up e2e   (prints HUB_URL, HUB_TOKEN)
 *   HUB_URL=... HUB_TOKEN=... npm run bench:soak -- [cycles] [users] [minutes]   (default: 500 5 60)
 *
 * The stack is the one whose proxy publishes HUB_URL's port (or STACK_PREFIX). The users it creates
 * are deleted at the end, with their volumes.
 */
import { HubApi } from "../test/e2e/hub-api";
import { HubStack } from "./hub-stack";
import { soakReport } from "./soak-report";
import { runSoak } from "./soak-run";

async function main(): Promise<number> {
  const [cycles = 500, users = 5, minutes = 60] = process.argv.slice(2).map(Number);
  const api = new HubApi();
  const stack = await HubStack.of(api.env.url);
  console.log(`stack ${stack.prefix}: ${cycles} cycles of ${users} users, at most ${minutes} min`);
  const result = await runSoak({
    api,
    stack,
    cycles,
    users,
    sampleEvery: Math.max(users, Math.round(cycles / 25)),
    timeLimitMs: minutes * 60_000,
    log: (line) => console.log(line),
  });
  console.log("");
  for (const line of soakReport(result)) console.log(line);
  return result.leaks.length || result.failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
