/**
 * Runs the real program against the local Docker engine without the Pulumi CLI, through the
 * docker-backed mocks of test/harness (same objects `pulumi up` would create, labelled as the
 * harness's).
 *
 *   npm run local:up -- <stack> [--config-file FILE] [--run-id ID] [--wait-seconds N]
 *       Creates or updates the stack's objects (a second run with the same config keeps them;
 *       generated secrets persist in .local-state/<run id or stack>.json). When the hub answers
 *       200 on <url>/hub/api it prints, each on its own line on stdout:
 *         HUB_URL=<the program's hubUrl output>
 *         HUB_TOKEN=<token of the first service in the stack config whose scopes include admin:users>
 *       (read from the program's secret `serviceTokens` output). What was created, kept,
 *       replaced or removed goes to stderr.
 *   npm run local:down -- <stack> [--run-id ID] [--volumes]
 *       Removes the containers, networks and built images labelled with the stack (or run id),
 *       the user servers their hub started on those networks, and the state file. Volumes (hub
 *       database, shared storage, user volumes of that hub) only with --volumes.
 *   npm run local:janitor
 *       Removes every object whose org.europlanet-gmap.harness label starts with "e2e-" (the run
 *       ids end-to-end tests use), volumes included, and their .local-state/e2e-*.json files: for
 *       leftovers of interrupted test runs. Objects of other stacks are never touched.
 *
 * Options: --project-dir DIR (default: the repository root).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { removeHarnessObjects, stateFile } from "../test/harness/docker-mocks";
import { runProgram, type ProgramResult } from "../test/harness/program";

const TEST_OWNER_PREFIX = "e2e-";

interface Args {
  readonly command?: string;
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  const valued = new Set(["--config-file", "--run-id", "--project-dir", "--wait-seconds"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (valued.has(a)) {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      flags.set(a, v);
    } else if (a.startsWith("--")) {
      flags.set(a, true);
    } else {
      positional.push(a);
    }
  }
  const [command, ...rest] = positional;
  return { command, positional: rest, flags };
}

const err = (line: string) => process.stderr.write(`${line}\n`);
const flag = (args: Args, name: string) => {
  const v = args.flags.get(name);
  return typeof v === "string" ? v : undefined;
};

function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The first declared service with the admin:users scope: its token can manage users and servers. */
function adminService(result: Pick<ProgramResult, "config" | "project">): string | undefined {
  const raw = result.config[`${result.project}:services`];
  if (!raw) return undefined;
  const services = JSON.parse(raw) as { name?: string; scopes?: string[] }[];
  return services.find((s) => Array.isArray(s.scopes) && s.scopes.includes("admin:users"))?.name;
}

/** Polls `<url>/hub/api` (loopback only) until it answers 200; bounded in time and count. */
async function waitForHub(hubUrl: string, seconds: number): Promise<void> {
  const api = `${hubUrl.replace(/\/+$/, "")}/hub/api`;
  const deadline = Date.now() + seconds * 1000;
  let last = "no answer";
  for (let i = 0; i < seconds * 2 + 1 && Date.now() < deadline; i++) {
    try {
      const res = await fetch(api, { signal: AbortSignal.timeout(5000), redirect: "manual" });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
      await res.body?.cancel();
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${api} did not answer 200 within ${seconds}s (last: ${last}); see docker logs of the hub and proxy containers`);
}

async function up(args: Args, projectDir: string): Promise<number> {
  const stack = args.positional[0];
  if (!stack) throw new Error("usage: local.ts up <stack> [--config-file FILE] [--run-id ID]");
  const result = await runProgram({
    stack,
    projectDir,
    configFile: flag(args, "--config-file"),
    runId: flag(args, "--run-id"),
  });
  const counts = new Map<string, number>();
  for (const r of result.resources) counts.set(r.action, (counts.get(r.action) ?? 0) + 1);
  err(`stack ${stack} (owner ${result.owner}): ${[...counts].map(([a, n]) => `${n} ${a}`).join(", ")}${result.pruned.length ? `, ${result.pruned.length} removed` : ""}`);
  for (const r of result.resources) err(`  ${r.action.padEnd(9)} ${r.type.split(":").pop()} ${r.dockerName ?? r.name}`);
  for (const p of result.pruned) err(`  removed   ${p}`);
  for (const w of result.warnings) err(`  warning: ${w}`);

  const hubUrl = result.outputs.hubUrl;
  if (typeof hubUrl !== "string") throw new Error("the program has no string output hubUrl");
  const url = new URL(hubUrl);
  if (!isLoopback(url)) {
    throw new Error(`hubUrl ${hubUrl} is not a loopback address: local:up only serves stacks on this machine (set hub.publicUrl to http://localhost:<port> in the stack config)`);
  }
  const service = adminService(result);
  const tokens = (result.outputs.serviceTokens ?? {}) as Record<string, string>;
  if (!service || !tokens[service]) {
    throw new Error(`the stack config declares no service with scope admin:users (or the program exported no token for it): add one to jupyterhub:services`);
  }
  const seconds = Number(flag(args, "--wait-seconds") ?? 120);
  err(`waiting up to ${seconds}s for ${hubUrl}/hub/api ...`);
  await waitForHub(hubUrl, seconds);
  process.stdout.write(`HUB_URL=${hubUrl}\nHUB_TOKEN=${tokens[service]}\n`);
  return 0;
}

async function down(args: Args, projectDir: string): Promise<number> {
  const stack = args.positional[0];
  if (!stack) throw new Error("usage: local.ts down <stack> [--run-id ID] [--volumes]");
  const owner = flag(args, "--run-id") ?? stack;
  const volumes = args.flags.has("--volumes");
  const summary = await removeHarnessObjects({ owners: (o) => o === owner, volumes, images: true, log: (l) => err(`  ${l}`) });
  fs.rmSync(stateFile(path.join(projectDir, ".local-state"), owner), { force: true });
  err(`down ${owner}: ${summary.removed.length} removed${volumes ? "" : " (volumes kept; --volumes removes them)"}${summary.failed.length ? `, ${summary.failed.length} failed` : ""}`);
  return summary.failed.length ? 1 : 0;
}

async function janitor(projectDir: string): Promise<number> {
  const summary = await removeHarnessObjects({
    owners: (o) => o.startsWith(TEST_OWNER_PREFIX),
    volumes: true,
    images: true,
    log: (l) => err(`  ${l}`),
  });
  const stateDir = path.join(projectDir, ".local-state");
  if (fs.existsSync(stateDir)) {
    for (const f of fs.readdirSync(stateDir)) {
      if (f.startsWith(TEST_OWNER_PREFIX) && f.endsWith(".json")) fs.rmSync(path.join(stateDir, f), { force: true });
    }
  }
  err(`janitor: ${summary.removed.length} removed${summary.failed.length ? `, ${summary.failed.length} failed` : ""}`);
  return summary.failed.length ? 1 : 0;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const projectDir = path.resolve(flag(args, "--project-dir") ?? path.join(__dirname, ".."));
  switch (args.command) {
    case "up":
      return up(args, projectDir);
    case "down":
      return down(args, projectDir);
    case "janitor":
      return janitor(projectDir);
    default:
      err("usage: local.ts up <stack> [--config-file FILE] [--run-id ID] | down <stack> [--run-id ID] [--volumes] | janitor");
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    err(`error: ${e.message}`);
    process.exit(1);
  },
);
