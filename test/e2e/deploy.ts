/**
 * Deploys and removes the end-to-end stacks with the real Pulumi CLI (see pulumi.ts); used by
 * test/infra/test-e2e.sh.
 *
 *   node --import tsx test/e2e/deploy.ts up <stack>
 *       Removes what an interrupted earlier run left of the stack, creates it in the test backend,
 *       runs `pulumi up`, waits for the hub and prints HUB_URL=..., HUB_TOKEN=... and
 *       E2E_ADMIN_PASSWORD=... (the first native admin's generated password) on stdout.
 *   node --import tsx test/e2e/deploy.ts down <stack>
 *       `pulumi destroy`, then removes the stack and every object with its prefix, volumes included.
 */
import { ensureStack, output, stackHub, up } from "./pulumi";
import { removeStack } from "./remove-stack";
import { waitForHub } from "./wait";

async function main(): Promise<number> {
  const [command, name] = process.argv.slice(2);
  if (!name || (command !== "up" && command !== "down")) {
    process.stderr.write("usage: deploy.ts up|down <stack>\n");
    return 2;
  }
  const problems = await removeStack(name);
  if (command === "down") {
    for (const p of problems) process.stderr.write(`${p}\n`);
    return problems.length ? 1 : 0;
  }
  if (problems.length) process.stderr.write(`warning: leftovers of an earlier run:\n${problems.join("\n")}\n`);
  await ensureStack(name);
  const t0 = Date.now();
  const run = await up({ stack: name });
  process.stderr.write(run.stdout + run.stderr);
  if (run.code !== 0) return run.code;
  const hub = await stackHub({ stack: name });
  await waitForHub(hub.url);
  process.stderr.write(`${name}: deployed with pulumi up in ${Math.round((Date.now() - t0) / 1000)} s\n`);
  const admins = Object.entries((await output("adminPasswords", { stack: name })) as Record<string, string>);
  process.stdout.write(`HUB_URL=${hub.url}\nHUB_TOKEN=${hub.token}\n`);
  if (admins[0]) process.stdout.write(`E2E_ADMIN_USER=${admins[0][0]}\nE2E_ADMIN_PASSWORD=${admins[0][1]}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`deploy: ${e.message}\n`);
    process.exit(1);
  },
);
