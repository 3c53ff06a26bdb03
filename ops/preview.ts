/**
 * Reviews a change of a stack before it lands (docs/review.md):
 *
 *   npm run preview -- <stack> [--config-file FILE] [--base REF] [--accept RISKS] [--policy-pack DIR] [--output FILE]
 *
 * Runs the offline config check (`npm run check`), then `pulumi preview --json` of the stack
 * (backend and passphrase from the environment, as for any pulumi command), and prints a Markdown
 * review: what `pulumi up` would do to each resource and what it means for users, the config diff
 * by key against the stack file at git REF (default HEAD; with --config-file, against the stack
 * file in the working tree), secrets by key only, and what policy packs (--policy-pack) found. Exit status: 0 the change may land, 1 it carries
 * a risk nobody acknowledged (data-loss, logout, secrets: `--accept data-loss,logout`, or a line
 * `preview-ack: data-loss` in the pull request's text, passed in PREVIEW_PR_BODY), 2 the config
 * check or the preview failed (a mandatory policy too), or a usage error.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { checkStack } from "./check-stack";
import { acknowledgements, prBodyVariable } from "./review/acknowledge";
import { configDiff } from "./review/config-diff";
import { risks } from "./review/effects";
import { type PreviewDocument, readPreview } from "./review/plan";
import { review, type ReviewInput } from "./review/review";
import { projectName } from "./stack-file";

const usage = `usage: npm run preview -- <stack> [--config-file FILE] [--base REF] [--accept ${risks.join(",")}] [--policy-pack DIR] [--output FILE]`;

interface Args {
  readonly stack: string;
  readonly configFile?: string;
  readonly base?: string;
  readonly accept: readonly string[];
  readonly policyPacks: readonly string[];
  readonly output?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const options: Record<string, string[]> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith("--") ? arg.split(/=(.*)/s, 2) : [undefined, undefined];
    if (!flag) {
      positional.push(arg);
      continue;
    }
    if (!["--config-file", "--base", "--accept", "--policy-pack", "--output"].includes(flag)) throw new Error(`unknown option ${flag}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === "") throw new Error(`${flag} needs a value`);
    (options[flag] ??= []).push(value);
  }
  if (positional.length !== 1) throw new Error("one stack name expected");
  const unknown = (options["--accept"] ?? [])
    .flatMap((l) => l.split(/[\s,]+/))
    .filter((w) => w && !(risks as readonly string[]).includes(w));
  if (unknown.length) throw new Error(`--accept: unknown risk ${unknown.join(", ")} (known: ${risks.join(", ")})`);
  const last = (flag: string) => options[flag]?.[options[flag]!.length - 1];
  return {
    stack: positional[0]!,
    accept: options["--accept"] ?? [],
    policyPacks: options["--policy-pack"] ?? [],
    ...(last("--config-file") ? { configFile: last("--config-file") } : {}),
    ...(last("--base") ? { base: last("--base") } : {}),
    ...(last("--output") ? { output: last("--output") } : {}),
  };
}

/** The `config:` section of a stack file's text. */
const configOf = (text: string) => ((YAML.parse(text) ?? {}) as { config?: Record<string, unknown> }).config ?? {};

/** The stack file's config before the change: at git `ref`, or the working tree's when a --config-file is reviewed. */
function baseConfig(projectDir: string, args: Args): { config: Record<string, unknown>; against: string } {
  const file = `Pulumi.${args.stack}.yaml`;
  if (args.configFile && !args.base)
    return { config: configOf(fs.readFileSync(path.join(projectDir, file), "utf8")), against: `\`${file}\`` };
  const ref = args.base ?? "HEAD";
  const shown = spawnSync("git", ["show", `${ref}:./${file}`], { cwd: projectDir, encoding: "utf8" });
  if (shown.status !== 0) return { config: {}, against: `\`${ref}\` (no \`${file}\` there: every key is new)` };
  return { config: configOf(shown.stdout), against: `\`${ref}:${file}\`` };
}

/** `pulumi preview --json` of the stack, as a stream of engine events (they carry the policy findings); the plan, or how it failed. */
function runPreview(projectDir: string, args: Args): Pick<ReviewInput, "preview" | "previewFailure"> {
  const run = spawnSync(
    "pulumi",
    [
      "preview",
      "--json",
      "--non-interactive",
      "--stack",
      args.stack,
      ...(args.configFile ? ["--config-file", path.resolve(projectDir, args.configFile)] : []),
      ...args.policyPacks.flatMap((p) => ["--policy-pack", path.resolve(projectDir, p)]),
    ],
    {
      cwd: projectDir,
      env: { ...process.env, PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "1" },
      encoding: "utf8",
      maxBuffer: 512 * 1024 * 1024,
      timeout: 20 * 60_000,
    },
  );
  let doc: PreviewDocument | undefined;
  try {
    doc = readPreview(run.stdout);
  } catch {
    doc = undefined;
  }
  if (run.status === 0 && doc) return { preview: doc };
  // "preview failed" only repeats that a mandatory policy failed: the review lists its findings
  const generic = (doc?.policyViolations ?? []).length > 0 ? /^error: preview failed$/ : /^$/;
  const errors = (doc?.diagnostics ?? [])
    .filter((d) => d.severity === "error")
    .map((d) => (d.message ?? "").trim())
    .filter((m) => !generic.test(m));
  const output = errors.length
    ? errors.join("\n")
    : doc?.policyViolations?.length
      ? ""
      : `${run.error?.message ?? ""}\n${run.stderr ?? ""}`.trim().split("\n").slice(-40).join("\n");
  return { ...(doc ? { preview: doc } : {}), previewFailure: { code: run.status ?? 2, output } };
}

function main(argv: readonly string[]): number {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`preview: ${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  const projectDir = path.resolve(__dirname, "..");
  const check = checkStack(projectDir, args.stack, args.configFile);
  const proposed = configOf(
    fs.readFileSync(
      args.configFile ? path.resolve(projectDir, args.configFile) : path.join(projectDir, `Pulumi.${args.stack}.yaml`),
      "utf8",
    ),
  );
  const base = baseConfig(projectDir, args);
  const result = review({
    stack: args.stack,
    check,
    ...(check.ok ? runPreview(projectDir, args) : {}),
    config: { against: base.against, changes: configDiff(base.config, proposed, projectName(projectDir)) },
    acks: acknowledgements(args.accept, process.env[prBodyVariable] ?? ""),
    command: `npm run preview -- ${args.stack}`,
  });
  process.stdout.write(result.markdown);
  if (args.output) fs.writeFileSync(args.output, result.markdown);
  return result.exitCode;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`preview: ${(e as Error).message}\n`);
  process.exitCode = 2;
}
