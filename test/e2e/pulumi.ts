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
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readStackFile } from "../../ops/stack-file";
import { command, type Run } from "./commands";
import type { HubEnv } from "./hub-env";
import { projectDir, stack } from "./stack";

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

/** Runs `pulumi <args>` in the project directory; never throws (bounded: 20 minutes). */
export function pulumi(args: readonly string[]): Promise<Run> {
  return command("pulumi", [...args, "--non-interactive"], 20 * 60_000, pulumiEnv());
}

/** Like `pulumi`, but throws with the output when the command fails. */
export async function pulumiOk(args: readonly string[]): Promise<Run> {
  const run = await pulumi(args);
  if (run.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (${run.code}):\n${(run.stdout + run.stderr).slice(-6000)}`);
  return run;
}

export interface Target {
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

/**
 * `pulumi refresh --preview-only --expect-no-changes`: whether reading every resource back from the
 * engine finds what the state says (exit 0), without changing the state; never throws.
 */
export function refreshPreview(t: Target = {}): Promise<Run> {
  return pulumi(["refresh", "--preview-only", "--expect-no-changes", "--diff", ...targetArgs(t)]);
}

/** `pulumi up --yes` of a named stack, asserting that it succeeded (the end of its output in the message). */
export async function upOk(t: Target & { readonly stack: string }): Promise<Run> {
  const run = await up(t);
  assert.equal(run.code, 0, `pulumi up ${t.stack} failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
  return run;
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

/** Asserts that a preview succeeded and plans no change. */
export function assertPlansNoChange(p: Preview, when: string): void {
  assert.equal(p.code, 0, p.stdout + p.stderr);
  const changes = p.changes.map((s) => `${s.op} ${s.type} ${s.name} [${s.replaceKeys.join(",")}]`);
  assert.deepEqual(changes, [], `pulumi preview ${when} plans changes`);
}

/** Asserts that `pulumi preview` of the deployed e2e stack (or `t`) plans no change at all. */
export async function assertQuietPreview(when: string, t: Target = {}): Promise<void> {
  const p = await preview(t);
  assertPlansNoChange(p, when);
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

/**
 * `pulumi config set --secret <key>` with a multi-line value from standard input, as an operator
 * runs `pulumi config set --secret tlsKey < privkey.pem`; throws when it fails (bounded: 1 minute).
 */
export function setSecretFromStdin(key: string, value: string, t: Required<Target>): void {
  execFileSync("pulumi", ["config", "set", "--secret", key, "--stack", t.stack, "--config-file", t.configFile, "--non-interactive"], {
    cwd: projectDir,
    env: pulumiEnv(),
    input: value,
    stdio: ["pipe", "pipe", "pipe"],
    timeout: 60_000,
  });
}
