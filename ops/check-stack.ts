/**
 * The offline check of a stack's config (what `npm run check` prints, and the first part of
 * `npm run preview`): the stack file validated with the program's own schema and hook files,
 * without Docker, without the Pulumi CLI and without decrypting anything.
 */
import * as path from "node:path";
import { ConfigError, loadConfig, projectFiles } from "../components/config";
import { readStackFile } from "./stack-file";

export interface StackCheck {
  /** Whether the config is valid. */
  readonly ok: boolean;
  /** One line: `<file>: ok (...)`, or the file and every problem by config key (secrets by key only). */
  readonly text: string;
}

/** Checks `Pulumi.<stack>.yaml` (or `configFile`) of the project in `projectDir`; throws when the file cannot be read. */
export function checkStack(projectDir: string, stack: string, configFile?: string): StackCheck {
  const { file, config, secretKeys, isSecret } = readStackFile(projectDir, stack, configFile);
  const name = path.relative(projectDir, file) || file;
  try {
    loadConfig(config, projectFiles(projectDir), isSecret);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, text: `${name}: ${e.message}` };
  }
  const secrets = secretKeys.length ? ` (secrets set, values not shown: ${secretKeys.join(", ")})` : "";
  return { ok: true, text: `${name}: ok${secrets}` };
}
