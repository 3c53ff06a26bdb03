/**
 * Reads a stack settings file (`Pulumi.<stack>.yaml`) the way the Pulumi CLI hands its config to
 * the program (`<project>:<key>` -> string, JSON for structured values), without the CLI and
 * without decrypting anything: every encrypted (`secure:`) value becomes a placeholder, and its key
 * is listed, so a config can be checked with the secrets it needs present but never shown.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { secretPlaceholder } from "../components/config/rules";

/** What stands in for an encrypted value (the config rules skip the checks of a secret's content for it). */
export { secretPlaceholder };

export interface StackFile {
  /** The file read. */
  readonly file: string;
  /** `<project>:<key>` -> string, as the CLI passes config to the program. */
  readonly config: Record<string, string>;
  /** Keys (with paths for nested secrets, e.g. `jupyterhub:shareCredentials.smb.password`) holding encrypted values. */
  readonly secretKeys: string[];
  /** Whether a full key holds an encrypted value, whole or in a part (as the CLI marks it for the program). */
  readonly isSecret: (fullKey: string) => boolean;
}

/** The project name from Pulumi.yaml. */
export function projectName(projectDir: string): string {
  const file = path.join(projectDir, "Pulumi.yaml");
  const name = (YAML.parse(fs.readFileSync(file, "utf8")) as { name?: unknown } | null)?.name;
  if (typeof name !== "string" || !name) throw new Error(`${file} has no project name`);
  return name;
}

/** Reads `Pulumi.<stack>.yaml` (or `configFile`) of the project in `projectDir`. */
export function readStackFile(projectDir: string, stack: string, configFile?: string): StackFile {
  const project = projectName(projectDir);
  const file = configFile ? path.resolve(projectDir, configFile) : path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`${path.relative(projectDir, file) || file} not found: is "${stack}" a stack of this project?`);
  const settings = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(settings.config ?? {})) {
    if (value === undefined || value === null) continue;
    const full = key.includes(":") ? key : `${project}:${key}`;
    const plain = withPlaceholders(value, full, secretKeys);
    config[full] = typeof plain === "string" ? plain : JSON.stringify(plain);
  }
  const isSecret = (key: string) => secretKeys.some((k) => k === key || k.startsWith(`${key}.`) || k.startsWith(`${key}[`));
  return { file, config, secretKeys, isSecret };
}

function withPlaceholders(value: unknown, at: string, secretKeys: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => withPlaceholders(v, `${at}[${i}]`, secretKeys));
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.secure === "string") {
      secretKeys.push(at);
      return secretPlaceholder;
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, withPlaceholders(v, `${at}.${k}`, secretKeys)]));
  }
  return value;
}

/**
 * Writes a copy of `Pulumi.<stack>.yaml` whose `config:` section `edit` changed, to a new temporary
 * folder, and returns its path (for `--config-file`). Everything else, the encryption salt
 * included, is kept.
 */
export function editedStackFile(projectDir: string, stack: string, edit: (config: Record<string, unknown>) => void): string {
  const doc = YAML.parse(fs.readFileSync(path.join(projectDir, `Pulumi.${stack}.yaml`), "utf8"));
  edit(doc.config);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gmap-stack-")), `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}
