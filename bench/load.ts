/**
 * Load benchmark (issue 21, item 4): N native users log in through the login form and start servers
 * at once while other logged-in users flood the hub with page loads (bench/load-run.ts). Prints the
 * outcome of every user, the spawn times and the latency of each kind of request; exits 1 on a 5xx
 * or a user with neither a server nor a clear "try later".
 *
 *   . test/infra/pulumi-env.sh && node --import tsx test/e2e/deploy.ts up e2e
 *       (prints HUB_URL, HUB_TOKEN, E2E_ADMIN_USER, E2E_ADMIN_PASSWORD)
 *   HUB_URL=... HUB_TOKEN=... E2E_ADMIN_USER=... E2E_ADMIN_PASSWORD=... npm run bench:load -- [users] [flooders] [image]
 *       (default: 50 10 minimal)
 *
 * The stack is the one whose proxy publishes HUB_URL's port (or STACK_PREFIX). The accounts it
 * signs up are deleted at the end, with their servers and volumes.
 */
import { HubApi } from "../test/e2e/hub-api";
import { HubStack } from "./hub-stack";
import { loadReport, unanswered } from "./load-report";
import { runLoad } from "./load-run";

async function main(): Promise<number> {
  const [users = "50", flooders = "10", image = "minimal"] = process.argv.slice(2);
  const api = new HubApi();
  const stack = await HubStack.of(api.env.url);
  console.log(`stack ${stack.prefix}: ${users} users at once, ${flooders} flooding /hub/home, image ${image}`);
  const result = await runLoad({
    api,
    stack,
    users: Number(users),
    flooders: Number(flooders),
    floodLimit: 200 * Number(flooders),
    timeLimitMs: 300_000,
    image,
    log: (line) => console.log(line),
  });
  console.log("");
  for (const line of loadReport(result)) console.log(line);
  return result.traffic.serverErrors().length || unanswered(result).length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
