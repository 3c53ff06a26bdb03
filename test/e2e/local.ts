/**
 * Scenarios that change the deployment itself (restart or reconfigure the hub, bad config) need
 * the local engine and the harness; they run when `npm run test:e2e` brought the e2e stack up
 * (E2E_STACK set) and skip against a hub deployed elsewhere.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Docker from "dockerode";
import YAML from "yaml";
import { labelKeys } from "../../components/settings";
import type { HubEnv } from "./client";

export const projectDir = path.resolve(__dirname, "..", "..");
export const stack = process.env.E2E_STACK;
export const runId = process.env.E2E_RUN_ID ?? stack;
/** Set when the deployment runs on the local engine through the harness. */
export const localSkip = stack ? false : "needs the local engine (run through npm run test:e2e)";
export const docker = new Docker();

export interface Applied {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function local(args: string[]): Promise<Applied> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "scripts/local.ts", ...args], { cwd: projectDir, timeout: 15 * 60_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Runs `scripts/local.ts up` for a stack (optionally with another config file); never throws. */
export function localUp(options: { stack?: string; runId?: string; configFile?: string } = {}): Promise<Applied> {
  const args = ["up", options.stack ?? stack!, "--run-id", options.runId ?? runId!];
  if (options.configFile) args.push("--config-file", options.configFile);
  return local(args);
}

/** Runs `scripts/local.ts down --volumes` for a stack; never throws. */
export function localDown(options: { stack?: string; runId?: string } = {}): Promise<Applied> {
  return local(["down", options.stack ?? stack!, "--run-id", options.runId ?? runId!, "--volumes"]);
}

/** The hub a successful `local.ts up` printed; throws with its log otherwise. */
export function appliedHub(applied: Applied): HubEnv {
  const url = /^HUB_URL=(.+)$/m.exec(applied.stdout)?.[1];
  const token = /^HUB_TOKEN=(.+)$/m.exec(applied.stdout)?.[1];
  if (applied.code !== 0 || !url || !token) throw new Error(`local.ts up failed (${applied.code}):\n${applied.stderr.slice(-4000)}`);
  return { url: url.replace(/\/+$/, ""), token };
}

/** Writes a copy of a stack file (default: the e2e stack's) changed by `edit` and returns its path. */
export function editedStackFile(edit: (config: Record<string, any>) => void, stackName = stack!): string {
  const doc = YAML.parse(fs.readFileSync(path.join(projectDir, `Pulumi.${stackName}.yaml`), "utf8"));
  edit(doc.config);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gmap-e2e-")), `Pulumi.${stackName}.yaml`);
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}

/** The stack's prefix, as Docker names use it. */
export function prefix(): string {
  const doc = YAML.parse(fs.readFileSync(path.join(projectDir, `Pulumi.${stack}.yaml`), "utf8"));
  return doc.config["jupyterhub:prefix"];
}

export async function inspectContainer(name: string): Promise<Docker.ContainerInspectInfo> {
  return docker.getContainer(name).inspect();
}

/** The user server container of a user, found by the stack's labels and its name. */
export async function userContainer(escapedName: string): Promise<Docker.ContainerInspectInfo | undefined> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${labelKeys.component}=user`, `${labelKeys.prefix}=${prefix()}`], name: [`${prefix()}-user-${escapedName}`] },
  });
  return list[0] ? docker.getContainer(list[0].Id).inspect() : undefined;
}
