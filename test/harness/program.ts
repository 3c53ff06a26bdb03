/**
 * Runs a Pulumi TypeScript program (by default the real index.ts) under the docker-backed mocks,
 * with the stack configuration the CLI would give it, and returns its resolved stack outputs.
 *
 * The Pulumi runtime keeps global state, so one process runs one program: use `runProgram` in a
 * process of its own (scripts/local.ts does) or `runProgramInChild` from tests.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { DockerMocks, type ResourceRecord } from "./docker-mocks";

export interface RunProgramOptions {
  /** Stack name: `Pulumi.<stack>.yaml` is read unless `configFile` is given. */
  readonly stack: string;
  /** The program directory (holds Pulumi.yaml). */
  readonly projectDir: string;
  /** Stack settings file to use instead of `Pulumi.<stack>.yaml` (relative to projectDir or absolute). */
  readonly configFile?: string;
  /** Owner label of the objects (tests: `e2e-...`); default the stack name. */
  readonly runId?: string;
  /** Where generated secrets persist; default `<projectDir>/.local-state`. */
  readonly stateDir?: string;
  /** Bound on the whole run (default 20 minutes). */
  readonly timeoutMs?: number;
  /** Remove this owner's containers/networks the program no longer declares (default true). */
  readonly prune?: boolean;
  readonly log?: (line: string) => void;
}

export interface ProgramResult {
  readonly project: string;
  readonly stack: string;
  readonly owner: string;
  /** Resolved stack outputs (the program's exports), secrets unwrapped. */
  readonly outputs: Record<string, unknown>;
  /** Names of the outputs that are secrets. */
  readonly secretOutputs: string[];
  /** Every custom resource the program declared and what the harness did with it. */
  readonly resources: ResourceRecord[];
  /** Objects removed because the program no longer declares them. */
  readonly pruned: string[];
  readonly warnings: string[];
  /** The configuration the program received (`<project>:<key>` -> string). */
  readonly config: Record<string, string>;
  /** The file holding generated secrets. */
  readonly stateFile: string;
}

export interface StackConfig {
  readonly project: string;
  /** Program entry, absolute. */
  readonly main: string;
  /** `<namespace>:<key>` -> string (JSON for objects and lists), as the CLI passes it. */
  readonly config: Record<string, string>;
}

const configString = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

function findSecure(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(findSecure);
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.secure === "string") return true;
    return Object.values(o).some(findSecure);
  }
  return false;
}

/**
 * The configuration `pulumi up` would give the program: project-level values from Pulumi.yaml
 * `config:` (`default:` or `value:`), overridden by the stack settings file.
 */
export function loadStackConfig(projectDir: string, stack: string, configFile?: string): StackConfig {
  const projectFile = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(projectFile)) throw new Error(`${projectFile} not found: projectDir must be a Pulumi project`);
  const project = YAML.parse(fs.readFileSync(projectFile, "utf8")) as Record<string, any>;
  const name = project?.name;
  if (typeof name !== "string" || !name) throw new Error(`${projectFile} has no name`);
  const qualify = (key: string) => (key.includes(":") ? key : `${name}:${key}`);
  const config: Record<string, string> = {};
  for (const [key, decl] of Object.entries((project.config ?? {}) as Record<string, unknown>)) {
    let value: unknown = decl;
    if (decl !== null && typeof decl === "object" && !Array.isArray(decl)) {
      const d = decl as Record<string, unknown>;
      if ("value" in d) value = d.value;
      else if ("default" in d) value = d.default;
      else if ("type" in d || "description" in d || "secret" in d || "items" in d) continue; // schema without a default
    }
    if (value === undefined || value === null) continue;
    config[qualify(key)] = configString(value);
  }
  const stackFile = configFile ? path.resolve(projectDir, configFile) : path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) throw new Error(`stack settings ${stackFile} not found`);
  const stackSettings = (YAML.parse(fs.readFileSync(stackFile, "utf8")) ?? {}) as Record<string, any>;
  for (const [key, value] of Object.entries((stackSettings.config ?? {}) as Record<string, unknown>)) {
    if (findSecure(value)) {
      throw new Error(
        `${path.basename(stackFile)}: ${key} is encrypted ("secure:"); the harness cannot decrypt it without the Pulumi CLI: ` +
          `give it a plain test value in a separate stack file (--config-file)`,
      );
    }
    if (value === undefined || value === null) continue;
    config[qualify(key)] = configString(value);
  }
  let main = typeof project.main === "string" ? project.main : undefined;
  if (!main) {
    const pkgFile = path.join(projectDir, "package.json");
    const pkg = fs.existsSync(pkgFile) ? (JSON.parse(fs.readFileSync(pkgFile, "utf8")) as { main?: string }) : {};
    main = pkg.main ?? "index.ts";
  }
  return { project: name, main: path.resolve(projectDir, main), config };
}

let used = false;

function within<T>(p: Promise<T>, failed: Promise<never>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${Math.round(ms / 1000)}s waiting for ${what}`)), ms);
  });
  return Promise.race([p, failed, timeout]).finally(() => clearTimeout(timer));
}

/** Runs the program once in this process (see the module comment). */
export async function runProgram(options: RunProgramOptions): Promise<ProgramResult> {
  if (used) throw new Error("runProgram runs once per process (the Pulumi runtime state is global): use runProgramInChild");
  used = true;
  const projectDir = path.resolve(options.projectDir);
  const deadline = Date.now() + (options.timeoutMs ?? 20 * 60_000);
  const left = () => Math.max(1000, deadline - Date.now());
  const { project, main, config } = loadStackConfig(projectDir, options.stack, options.configFile);
  const mocks = new DockerMocks({
    stack: options.stack,
    owner: options.runId,
    projectDir,
    stateDir: options.stateDir,
    log: options.log,
  });
  // Failures surface as rejected registrations, often unhandled: route them to the failure promise.
  const onUnhandled = (reason: unknown) => mocks.fail(reason instanceof Error ? reason : new Error(String(reason)));
  process.on("unhandledRejection", onUnhandled);

  // Like the CLI: the program runs in its directory with the stack's config.
  const cwd = process.cwd();
  process.chdir(projectDir);
  try {
    await pulumi.runtime.setMocks(mocks, project, options.stack, false);
    pulumi.runtime.setAllConfig(config, []);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs?: () => Promise<void> };

    let exported: Record<string, unknown>;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      exported = require(main) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`the program ${path.relative(projectDir, main)} failed while loading: ${(err as Error).stack ?? err}`);
    }

    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [key, value] of Object.entries(exported ?? {})) {
      if (key === "__esModule" || typeof value === "function") continue;
      const out = pulumi.output(value as pulumi.Input<unknown>) as pulumi.Output<unknown>;
      const resolved = await within(
        Promise.all([new Promise<unknown>((resolve) => out.apply((v) => resolve(v))), pulumi.isSecret(out)]),
        mocks.failed,
        left(),
        `stack output ${key}`,
      );
      outputs[key] = resolved[0];
      if (resolved[1]) secretOutputs.push(key);
    }
    // Every registration, including resources no output depends on.
    for (let i = 0; i < 20; i++) {
      const before = mocks.calls;
      if (settings.waitForRPCs) await within(settings.waitForRPCs(), mocks.failed, left(), "resource registrations");
      await within(mocks.settled(left()).then(() => undefined), mocks.failed, left(), "resource creations");
      await new Promise((r) => setTimeout(r, 50));
      if (mocks.calls === before) break;
    }
    if (mocks.calls === 0) throw new Error("the program declared no resource: were the mocks installed before it loaded?");
    if (mocks.failures.length > 0) throw mocks.failures[0];
    const pruned = options.prune === false ? [] : await mocks.prune();
    mocks.saveState();
    return {
      project,
      stack: options.stack,
      owner: mocks.owner,
      outputs,
      secretOutputs: secretOutputs.sort(),
      resources: [...mocks.records],
      pruned,
      warnings: [...mocks.warnings],
      config,
      stateFile: mocks.stateFile,
    };
  } catch (err) {
    mocks.fail(err as Error);
    await mocks.settled(Math.min(left(), 120_000));
    mocks.saveState();
    // Dependents fail with wrappers around the original message: report each cause once.
    const messages = [...new Set([(err as Error).message, ...mocks.failures.map((f) => f.message)])];
    const message = messages.filter((m) => !messages.some((o) => o !== m && m.includes(o))).join("\n--\n");
    throw new Error(`program run failed (stack ${options.stack}, owner ${mocks.owner}):\n${message}`);
  } finally {
    process.chdir(cwd);
  }
}

/** The harness's repository root (where node_modules and tsx are). */
export const harnessRoot = path.resolve(__dirname, "..", "..");

export interface ChildOptions extends RunProgramOptions {
  /** Receives the child's stderr lines; default: passed through to this process's stderr. */
  readonly onStderr?: (line: string) => void;
}

/** Runs the program in a child process (one program run per process); rejects with its error. */
export async function runProgramInChild(options: ChildOptions): Promise<ProgramResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "harness-run-"));
  fs.chmodSync(dir, 0o700);
  const out = path.join(dir, "result.json");
  const args = [
    "--import",
    "tsx",
    path.join(__dirname, "run-program.ts"),
    "--stack",
    options.stack,
    "--project-dir",
    path.resolve(options.projectDir),
    "--out",
    out,
    ...(options.configFile ? ["--config-file", options.configFile] : []),
    ...(options.runId ? ["--run-id", options.runId] : []),
    ...(options.stateDir ? ["--state-dir", path.resolve(options.stateDir)] : []),
    ...(options.prune === false ? ["--no-prune"] : []),
  ];
  const timeoutMs = options.timeoutMs ?? 20 * 60_000;
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [...args, "--timeout-ms", String(timeoutMs)], {
        cwd: harnessRoot,
        stdio: ["ignore", "inherit", options.onStderr ? "pipe" : "inherit"],
      });
      if (options.onStderr && child.stderr) {
        let buf = "";
        child.stderr.on("data", (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split("\n");
          buf = lines.pop() ?? "";
          lines.forEach((l) => options.onStderr!(l));
        });
        child.stderr.on("end", () => buf && options.onStderr!(buf));
      }
      const timer = setTimeout(() => {
        if (child.pid) process.kill(child.pid, "SIGTERM");
        reject(new Error(`program child timed out after ${Math.round(timeoutMs / 1000)}s`));
      }, timeoutMs + 30_000);
      child.on("error", reject);
      child.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    if (!fs.existsSync(out)) throw new Error(`program child exited with ${code} and no result`);
    const result = JSON.parse(fs.readFileSync(out, "utf8")) as ProgramResult | { error: string };
    if ("error" in result) throw new Error(result.error);
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
