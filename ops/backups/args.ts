/**
 * Command lines of `npm run backup` and `npm run restore` (pure: parsed into options or a usage
 * error). Paths are resolved against the directory the operator ran npm in (npm's INIT_CWD), not
 * the project directory npm switches to.
 */
import * as path from "node:path";

export const backupUsage = "usage: npm run backup -- <stack> [--to DIR] [--include-readonly] [--image IMAGE]";
export const restoreUsage = "usage: npm run restore -- <stack> <backup directory> [--user NAME] [--image IMAGE]";

/** A wrong command line: the message and the usage line go to stderr, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

export interface BackupArgs {
  readonly stack: string;
  /** Directory the timestamped backup directory is created in (default ./backups). */
  readonly to: string;
  /** Back up read-only storage (data archives) too. */
  readonly includeReadOnly: boolean;
  /** Helper image instead of the stack's hub image (or its base image). */
  readonly image?: string;
}

export interface RestoreArgs {
  readonly stack: string;
  /** The backup directory (or its manifest.json). */
  readonly backup: string;
  /** Restore this hub user's volumes only (not the hub database). */
  readonly user?: string;
  readonly image?: string;
}

interface Spec {
  /** Options that take a value. */
  readonly values: readonly string[];
  /** Options without a value. */
  readonly flags: readonly string[];
}

/** `--name value`, `--name=value` and flags; everything else is positional; `--` ends the options. */
function parse(argv: readonly string[], spec: Spec, usage: string) {
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--") || arg === "-") {
      if (arg.startsWith("-") && arg !== "-") throw new UsageError(`unknown option ${arg}`, usage);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (spec.flags.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`, usage);
      flags.add(name);
    } else if (spec.values.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === "" || (eq < 0 && value.startsWith("--"))) throw new UsageError(`--${name} needs a value`, usage);
      if (name in values) throw new UsageError(`--${name} given twice`, usage);
      values[name] = value;
    } else {
      throw new UsageError(`unknown option --${name}`, usage);
    }
  }
  return { values, flags, positional };
}

const stackName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkStack(stack: string | undefined, usage: string): string {
  if (!stack) throw new UsageError("give the stack name", usage);
  if (!stackName.test(stack)) throw new UsageError(`not a stack name: ${JSON.stringify(stack)}`, usage);
  return stack;
}

/** Parses `npm run backup -- ...`; relative paths are taken from `cwd`. */
export function parseBackupArgs(argv: readonly string[], cwd: string): BackupArgs {
  const { values, flags, positional } = parse(argv, { values: ["to", "image"], flags: ["include-readonly"] }, backupUsage);
  if (positional.length > 1) throw new UsageError(`unexpected arguments: ${positional.slice(1).join(" ")}`, backupUsage);
  return {
    stack: checkStack(positional[0], backupUsage),
    to: path.resolve(cwd, values.to ?? "backups"),
    includeReadOnly: flags.has("include-readonly"),
    ...(values.image ? { image: values.image } : {}),
  };
}

/** Parses `npm run restore -- ...`; relative paths are taken from `cwd`. */
export function parseRestoreArgs(argv: readonly string[], cwd: string): RestoreArgs {
  const { values, positional } = parse(argv, { values: ["user", "image"], flags: [] }, restoreUsage);
  if (positional.length < 2)
    throw new UsageError(positional.length ? "give the backup directory" : "give the stack and the backup directory", restoreUsage);
  if (positional.length > 2) throw new UsageError(`unexpected arguments: ${positional.slice(2).join(" ")}`, restoreUsage);
  let backup = path.resolve(cwd, positional[1]!);
  if (path.basename(backup) === "manifest.json") backup = path.dirname(backup);
  return {
    stack: checkStack(positional[0], restoreUsage),
    backup,
    ...(values.user !== undefined ? { user: values.user } : {}),
    ...(values.image ? { image: values.image } : {}),
  };
}

/** The directory the operator ran npm in (npm sets INIT_CWD), else the process's. */
export function operatorCwd(env: NodeJS.ProcessEnv = process.env): string {
  return env.INIT_CWD || process.cwd();
}
