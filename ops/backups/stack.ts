/** The stack a backup or restore works on, from its stack file alone (no Pulumi state, no secrets). */
import * as path from "node:path";
import { ConfigError, loadConfig, projectFiles, type StackConfig } from "../../components/config";
import { publicUrl } from "../../components/identity";
import { readStackFile } from "../stack-file";

export interface Stack {
  readonly name: string;
  readonly config: StackConfig;
  readonly hubUrl: string;
}

/**
 * Reads and validates `Pulumi.<stack>.yaml` of the project (or `configFile`), as `npm run check`
 * does; `overrides` replace raw values (full keys) before the validation.
 */
export function loadStack(projectDir: string, name: string, configFile?: string, overrides: Record<string, string> = {}): Stack {
  const { file, config, isSecret } = readStackFile(projectDir, name, configFile);
  try {
    const loaded = loadConfig({ ...config, ...overrides }, projectFiles(projectDir), isSecret);
    return { name, config: loaded.config, hubUrl: publicUrl(loaded.config) };
  } catch (e) {
    if (e instanceof ConfigError) throw new Error(`${path.relative(projectDir, file) || file}: ${e.message}`, { cause: e });
    throw e;
  }
}
