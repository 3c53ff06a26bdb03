/**
 * Loading the stack config: raw values as Pulumi hands them to the program, decoded, validated by
 * the schema and turned into one error listing every problem by its config key.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { z } from "zod";
import { configNamespace, configSchema, secretKeys, type StackConfig } from "./schema";

/** Thrown when the stack config is invalid; its message lists every problem by config key. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid stack config: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        "\nFix them in Pulumi.<stack>.yaml (or with `pulumi config set --path <key> <value>`, secrets with --secret) and run again.",
    );
    this.name = "ConfigError";
  }
}

/** The full config key of a zod issue path, e.g. jupyterhub:storage[0].mountPath. */
export function configKey(path: readonly PropertyKey[]): string {
  if (path.length === 0) return `${configNamespace}:<root>`;
  const [head, ...rest] = path;
  return `${configNamespace}:${String(head)}` + rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

/**
 * Validates raw config values (top-level keys without namespace, values already JSON-decoded).
 * Unknown keys, wrong types and cross-field rules are all reported at once.
 */
export function parseConfig(raw: Record<string, unknown>): StackConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((i) => {
    if (i.code === "unrecognized_keys") {
      return i.keys.map((k) => `${configKey([...i.path, k])}: unknown key (check the spelling against the config reference)`);
    }
    return [`${configKey(i.path)}: ${i.message}`];
  });
  throw new ConfigError(problems);
}

/** Top-level keys whose values are plain strings (all other keys hold JSON/YAML structures). */
export const stringKeys: ReadonlySet<string> = new Set(
  Object.entries(configSchema.shape as Record<string, z.ZodType>)
    .filter(([, s]) => innerType(s) === "string")
    .map(([k]) => k),
);

function innerType(s: z.ZodType): string {
  let t: z.ZodType = s;
  while (t.def.type === "optional" || t.def.type === "default" || t.def.type === "prefault" || t.def.type === "pipe") {
    t = ("innerType" in t.def ? t.def.innerType : (t.def as unknown as { in: z.ZodType }).in) as z.ZodType;
  }
  return t.def.type;
}

/** The top-level config keys the schema knows. */
export const configKeys: readonly string[] = Object.keys(configSchema.shape);

/** Contents of the operator's hook files, read from the project directory. */
export interface HookFiles {
  readonly postAuth?: string;
  readonly preSpawn?: string;
  readonly start?: string;
}

/** What the program needs from the stack config: validated values and hook file contents. */
export interface LoadedConfig {
  readonly config: StackConfig;
  readonly hookFiles: HookFiles;
}

/**
 * The secret keys set in plain text: a value there would be committed with the stack file. `isSecret`
 * says whether a full key holds an encrypted value (set with `pulumi config set --secret`, whole or
 * a part of it with `--path`).
 */
export function plainSecrets(all: Readonly<Record<string, string>>, isSecret: (fullKey: string) => boolean): string[] {
  return secretKeys
    .map((key) => `${configNamespace}:${key}`)
    .filter((full) => all[full] !== undefined && !isSecret(full))
    .map(
      (full) =>
        `${full}: holds a secret in plain text, which would be committed with the stack file: set it with \`pulumi config set --secret ${full} ...\` (parts of it with --secret --path)`,
    );
}

/**
 * Reads every `jupyterhub:` key (`all` maps full keys to raw strings, as Pulumi stores them),
 * decodes structured values, validates them and reads the hook files. `isSecret` says which keys
 * hold encrypted values: a secret key in plain text is a problem too. Throws one ConfigError
 * listing every problem.
 */
export function loadConfig(
  all: Readonly<Record<string, string>>,
  readFile: (relativePath: string) => string | undefined,
  isSecret: (fullKey: string) => boolean,
): LoadedConfig {
  const raw: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith(`${configNamespace}:`)) continue;
    const key = fullKey.slice(configNamespace.length + 1);
    raw[key] = stringKeys.has(key) ? value : decode(value);
  }
  const problems: string[] = plainSecrets(all, isSecret);
  let config: StackConfig | undefined;
  try {
    config = parseConfig(raw);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  const hooks = (config?.hooks ?? (isRecord(raw.hooks) ? raw.hooks : {})) as Record<string, unknown>;
  const hookFiles: Record<string, string> = {};
  for (const kind of ["postAuth", "preSpawn", "start"] as const) {
    const file = hooks[kind];
    if (typeof file !== "string") continue;
    if (file.startsWith("/") || file.split("/").includes("..")) {
      problems.push(`${configKey(["hooks", kind])}: give a path inside the project directory, e.g. hooks/${kind}.py`);
      continue;
    }
    const content = readFile(file);
    if (content === undefined) problems.push(`${configKey(["hooks", kind])}: file ${file} does not exist in the project directory`);
    else hookFiles[kind] = content;
  }
  if (problems.length > 0 || !config) throw new ConfigError([...new Set(problems)]);
  return { config, hookFiles };
}

function decode(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Reads the operator's hook files: a path relative to `projectDir`, or undefined when it is no file. */
export function projectFiles(projectDir: string): (relativePath: string) => string | undefined {
  return (relativePath) => {
    const full = path.join(projectDir, relativePath);
    return fs.existsSync(full) && fs.statSync(full).isFile() ? fs.readFileSync(full, "utf8") : undefined;
  };
}
