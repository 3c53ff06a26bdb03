/**
 * The end-to-end stacks, driven through the real Pulumi CLI as an operator drives them: a local
 * file backend (PULUMI_BACKEND_URL, default `file://<project>/.e2e-state`), the test passphrase
 * below, the stack files of the repository, edited copies passed with `--config-file`.
 *
 * `npm run test:e2e` deploys the e2e stack (Pulumi.e2e.yaml) with `pulumi up` before the tests and
 * destroys it after them (test/e2e/deploy.ts); scenarios that reconfigure the deployment run
 * `pulumi preview` / `pulumi up` themselves and skip against a hub deployed elsewhere.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import Docker from "dockerode";
import { editedStackFile as editedCopy, readStackFile } from "../../ops/stack-file";
import { labelKeys } from "../../components/names";
import { type HubEnv, waitFor } from "./client";

export const projectDir = path.resolve(__dirname, "..", "..");
/** The stack `npm run test:e2e` deployed (unset when the tests run against a hub deployed elsewhere). */
export const stack = process.env.E2E_STACK;
/** Skip reason for scenarios that reconfigure the deployment. */
export const stackSkip = stack ? false : "needs the e2e stack deployed by npm run test:e2e";
export const docker = new Docker();

/**
 * Passphrase of the test stacks' secrets. It protects nothing (the stack files' `secure:` values
 * are test fixtures); Pulumi.e2e*.yaml carry the encryption salt made with it.
 */
export const E2E_PASSPHRASE = "gmap-e2e-passphrase";

/** The environment of every pulumi command of the tests. */
export function pulumiEnv(): NodeJS.ProcessEnv {
  let backend = process.env.PULUMI_BACKEND_URL;
  if (!backend) {
    const dir = path.join(projectDir, ".e2e-state");
    fs.mkdirSync(dir, { recursive: true });
    backend = `file://${dir}`;
  }
  return {
    ...process.env,
    PULUMI_BACKEND_URL: backend,
    PULUMI_CONFIG_PASSPHRASE: E2E_PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "1",
    // the program needs the project's Node.js (>= 22)
    PATH: `${path.join(projectDir, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
  };
}

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command in the project directory; never throws (bounded by `timeout`). */
function command(file: string, args: readonly string[], timeout: number, env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd: projectDir, env, timeout, maxBuffer: 256 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({
        code,
        stdout: String(stdout),
        stderr: String(stderr) + (error && typeof error.code !== "number" ? `\n${error.message}` : ""),
      });
    });
  });
}

/** Runs `pulumi <args>` in the project directory; never throws (bounded: 20 minutes). */
export function pulumi(args: readonly string[]): Promise<Run> {
  return command("pulumi", [...args, "--non-interactive"], 20 * 60_000, pulumiEnv());
}

/** `npm run <script> -- <args>` in the project, as an operator runs it; never throws (bounded: 10 minutes). */
export function npmRun(script: string, args: readonly string[]): Promise<Run> {
  return command("npm", ["run", "-s", script, "--", ...args], 10 * 60_000);
}

/** Fails with a clear message when no Docker engine answers (for a suite's `before`). */
export async function requireEngine(): Promise<void> {
  try {
    await docker.ping();
  } catch (e) {
    throw new Error(`no Docker engine: ${(e as Error).message}`, { cause: e });
  }
}

/** Like `pulumi`, but throws with the output when the command fails. */
export async function pulumiOk(args: readonly string[]): Promise<Run> {
  const run = await pulumi(args);
  if (run.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${run.code}):\n${(run.stdout + run.stderr).slice(-6000)}`);
  return run;
}

interface Target {
  /** Stack name; default the deployed e2e stack. */
  readonly stack?: string;
  /** A stack settings file to use instead of Pulumi.<stack>.yaml (see `editedStackFile`). */
  readonly configFile?: string;
}

const targetArgs = (t: Target = {}) => ["--stack", t.stack ?? stack!, ...(t.configFile ? ["--config-file", t.configFile] : [])];

/** Selects the stack, creating it in the backend when it does not exist yet. */
export async function ensureStack(name: string): Promise<void> {
  const list = await pulumiOk(["stack", "ls", "--json"]);
  const known = (JSON.parse(list.stdout) as { name: string }[]).some((s) => s.name === name || s.name.endsWith(`/${name}`));
  if (!known) await pulumiOk(["stack", "init", name]);
}

/** `pulumi up --yes`; never throws. */
export function up(t: Target = {}): Promise<Run> {
  return pulumi(["up", "--yes", "--skip-preview", "--diff", ...targetArgs(t)]);
}

/** One step of `pulumi preview --json`. */
export interface Step {
  readonly op: string;
  readonly urn: string;
  /** The resource type, e.g. docker:index/container:Container. */
  readonly type: string;
  /** The resource name (last part of the URN). */
  readonly name: string;
  /** Properties whose change forces a replacement. */
  readonly replaceKeys: string[];
}

export interface Preview extends Run {
  /** The steps of the plan (unchanged resources are not listed, only counted in `summary`). */
  readonly steps: Step[];
  /** The steps that change something. */
  readonly changes: Step[];
  /** Resources per operation, e.g. { same: 22, replace: 1 }. */
  readonly summary: Record<string, number>;
}

/** `pulumi preview --json`; never throws (steps are empty when it failed). */
export async function preview(t: Target = {}): Promise<Preview> {
  const run = await pulumi(["preview", "--json", ...targetArgs(t)]);
  let steps: Step[] = [];
  let summary: Record<string, number> = {};
  try {
    const doc = JSON.parse(run.stdout) as {
      steps?: { op: string; urn: string; replaceKeys?: string[] }[];
      changeSummary?: Record<string, number>;
    };
    // urn:pulumi:<stack>::<project>::<parent types $ ... $ type>::<name>
    steps = (doc.steps ?? []).map((s) => {
      const [, , typePath = "", name = ""] = s.urn.split("::");
      return { op: s.op, urn: s.urn, type: typePath.split("$").pop()!, name, replaceKeys: s.replaceKeys ?? [] };
    });
    summary = doc.changeSummary ?? {};
  } catch {
    // not JSON: the command failed before planning; the caller looks at code and output
  }
  return { ...run, steps, changes: steps.filter((s) => s.op !== "same"), summary };
}

/** Asserts that `pulumi preview` of the deployed e2e stack (or `t`) plans no change at all. */
export async function assertQuietPreview(when: string, t: Target = {}): Promise<void> {
  const p = await preview(t);
  assert.equal(p.code, 0, p.stdout + p.stderr);
  const changes = p.changes.map((s) => `${s.op} ${s.type} ${s.name} [${s.replaceKeys.join(",")}]`);
  assert.deepEqual(changes, [], `pulumi preview ${when} plans changes`);
  assert.deepEqual(Object.keys(p.summary), ["same"], JSON.stringify(p.summary));
  assert.ok(p.summary.same! >= 20, `the preview covers the stack's resources: ${JSON.stringify(p.summary)}`);
}

/** `pulumi destroy --yes`; never throws. */
export function destroy(t: Pick<Target, "stack"> = {}): Promise<Run> {
  return pulumi(["destroy", "--yes", "--skip-preview", "--stack", t.stack ?? stack!]);
}

/** A stack output (secrets shown). */
export async function output(name: string, t: Pick<Target, "stack"> = {}): Promise<any> {
  const run = await pulumiOk(["stack", "output", name, "--json", "--show-secrets", "--stack", t.stack ?? stack!]);
  return JSON.parse(run.stdout);
}

/** The hub of a deployed stack: its URL and the token of its first admin-scoped API service. */
export async function stackHub(t: Pick<Target, "stack"> = {}): Promise<HubEnv> {
  const name = t.stack ?? stack!;
  const url = String(await output("hubUrl", t)).replace(/\/+$/, "");
  const tokens = (await output("serviceTokens", t)) as Record<string, string>;
  const services = JSON.parse(readStackFile(projectDir, name).config["jupyterhub:services"] ?? "[]") as {
    name: string;
    scopes: string[];
  }[];
  const admin = services.find((s) => s.scopes.includes("admin:users"))?.name;
  if (!admin || !tokens[admin]) throw new Error(`Pulumi.${name}.yaml declares no service with scope admin:users`);
  return { url, token: tokens[admin] };
}

/** Waits (bounded) until the hub answers 200 on /hub/api. */
export async function waitForHub(url: string, seconds = 180): Promise<void> {
  const api = `${url}/hub/api`;
  let last = "no answer";
  for (let i = 0; i < seconds * 2; i++) {
    try {
      const res = await fetch(api, { signal: AbortSignal.timeout(5000), redirect: "manual" });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${api} did not answer 200 within ${seconds}s (last: ${last})`);
}

/** Waits (bounded) until the deployed stack's hub container (or `container`) is healthy and its API answers again. */
export async function waitForHealthyHub(url: string, container = `${prefix()}-hub`): Promise<void> {
  await waitFor(
    "the hub to be healthy",
    async () => ((await inspectContainer(container)).State.Health?.Status === "healthy" ? true : undefined),
    180_000,
  );
  await waitForHub(url, 60);
}

/** Writes a copy of a stack file (default: the e2e stack's) changed by `edit` and returns its path. */
export function editedStackFile(edit: (config: Record<string, any>) => void, stackName = stack!): string {
  return editedCopy(projectDir, stackName, edit);
}

/** A stack's prefix, as Docker names use it. */
export function prefix(stackName = stack!): string {
  return readStackFile(projectDir, stackName).config["jupyterhub:prefix"]!;
}

export async function inspectContainer(name: string): Promise<Docker.ContainerInspectInfo> {
  return docker.getContainer(name).inspect();
}

/** The user server container of a user, found by the stack's labels and its name. */
export async function userContainer(escapedName: string, stackName = stack!): Promise<Docker.ContainerInspectInfo | undefined> {
  const p = prefix(stackName);
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${labelKeys.component}=user`, `${labelKeys.prefix}=${p}`], name: [`^/${p}-user-${escapedName}$`] },
  });
  return list[0] ? docker.getContainer(list[0].Id).inspect() : undefined;
}

/**
 * Removes a test stack: `pulumi destroy`, then the stack from the backend, then whatever still
 * carries the stack's prefix label (objects of an interrupted run whose state is gone, the volumes
 * the stack retained, the user volumes its hub created). Returns the problems met.
 */
export async function removeStack(name: string): Promise<string[]> {
  const problems: string[] = [];
  const list = await pulumi(["stack", "ls", "--json"]);
  const known =
    list.code === 0 && (JSON.parse(list.stdout) as { name: string }[]).some((s) => s.name === name || s.name.endsWith(`/${name}`));
  if (known) {
    const d = await destroy({ stack: name });
    if (d.code !== 0) problems.push(`pulumi destroy ${name}: ${(d.stdout + d.stderr).slice(-3000)}`);
    const rm = await pulumi(["stack", "rm", "--yes", "--force", "--preserve-config", "--stack", name]);
    if (rm.code !== 0) problems.push(`pulumi stack rm ${name}: ${rm.stderr}`);
  }
  const ours = { filters: { label: [`${labelKeys.prefix}=${prefix(name)}`] } };
  const attempt = async (what: string, f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  for (const c of await docker.listContainers({ all: true, ...ours })) {
    await attempt(`container ${c.Names[0]}`, () => docker.getContainer(c.Id).remove({ force: true }));
  }
  for (const n of await docker.listNetworks(ours)) await attempt(`network ${n.Name}`, () => docker.getNetwork(n.Id).remove());
  for (const v of (await docker.listVolumes(ours)).Volumes ?? [])
    await attempt(`volume ${v.Name}`, () => docker.getVolume(v.Name).remove());
  return problems;
}

/** Runs a command in a container (`docker exec`) and returns its stdout; throws with stderr when it fails (bounded: 2 minutes). */
export function dockerExec(container: string, command: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("docker", ["exec", container, ...command], { timeout: 120_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker exec ${container} ${command.join(" ")}: ${error.message}\n${String(stderr)}`));
      else resolve(String(stdout));
    });
  });
}

/** Waits (bounded) until a container's healthcheck reports healthy; returns its inspection. */
export async function waitForHealthy(name: string, timeoutMs = 180_000): Promise<Docker.ContainerInspectInfo> {
  return waitFor(
    `${name} to be healthy`,
    async () => {
      const info = await inspectContainer(name);
      return info.State.Health?.Status === "healthy" ? info : undefined;
    },
    timeoutMs,
  );
}

/** Everything a container wrote to stdout and stderr (its `docker logs`). */
export async function containerLogs(name: string): Promise<string> {
  const buf = (await docker.getContainer(name).logs({ stdout: true, stderr: true })) as unknown as Buffer;
  return buf.toString("utf8");
}
