/**
 * The command line of `npm run report` (pure: parsed into options or a usage error). The output
 * directory is resolved against the directory the operator ran npm in (npm's INIT_CWD); the config
 * file, as for the other tools, against the project.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../backups/args";
import { parseSince, SinceError } from "./period";

export const reportUsage = "usage: npm run report -- <stack> --since <N>h|<N>d|<N>w [--out DIR] [--config-file FILE]";

export interface ReportArgs {
  readonly stack: string;
  /** As given, e.g. 30d. */
  readonly since: string;
  readonly sinceSeconds: number;
  /** Where the CSV and the HTML page go (default ./reports). */
  readonly out: string;
  readonly configFile?: string;
}

const stackName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Parses `npm run report -- ...`; a relative --out is taken from `cwd`. */
export function parseReportArgs(argv: readonly string[], cwd: string): ReportArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { since: { type: "string" }, out: { type: "string" }, "config-file": { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message, reportUsage);
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError("give the stack name", reportUsage);
  if (positionals.length > 1) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(" ")}`, reportUsage);
  const stack = positionals[0]!;
  if (!stackName.test(stack)) throw new UsageError(`not a stack name: ${JSON.stringify(stack)}`, reportUsage);
  if (values.since === undefined) throw new UsageError("give the period with --since, e.g. --since 30d", reportUsage);
  let sinceSeconds;
  try {
    sinceSeconds = parseSince(values.since);
  } catch (e) {
    if (e instanceof SinceError) throw new UsageError(e.message, reportUsage);
    throw e;
  }
  if (values.out === "") throw new UsageError("--out needs a directory", reportUsage);
  if (values["config-file"] === "") throw new UsageError("--config-file needs a file", reportUsage);
  return {
    stack,
    since: values.since,
    sinceSeconds,
    out: path.resolve(cwd, values.out ?? "reports"),
    ...(values["config-file"] !== undefined ? { configFile: values["config-file"] } : {}),
  };
}
