/**
 * Checks a stack's config without Docker, without the Pulumi CLI and without deploying:
 *
 *   npm run check -- <stack> [--config-file FILE]
 *
 * Validates `Pulumi.<stack>.yaml` with the program's own schema and hook files, and prints either
 * "ok" or every problem by config key (exit code 1). Encrypted values are not decrypted: a secret
 * the config needs counts as set when its key holds a `secure:` value, and is never printed; a
 * secret key in plain text is a problem.
 */
import * as path from "node:path";
import { ConfigError, loadConfig, projectFiles } from "../components/config";
import { readStackFile } from "./stack-file";

function main(argv: string[]): number {
  const fileAt = argv.indexOf("--config-file");
  const configFile = fileAt >= 0 ? argv[fileAt + 1] : undefined;
  const positional = argv.filter((a, i) => !a.startsWith("--") && (fileAt < 0 || i !== fileAt + 1));
  if (positional.length !== 1 || (fileAt >= 0 && !configFile)) {
    process.stderr.write("usage: npm run check -- <stack> [--config-file FILE]\n");
    return 2;
  }
  const projectDir = path.resolve(__dirname, "..");
  const stack = positional[0]!;
  const { file, config, secretKeys, isSecret } = readStackFile(projectDir, stack, configFile);
  const name = path.relative(projectDir, file) || file;
  try {
    loadConfig(config, projectFiles(projectDir), isSecret);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stdout.write(`${name}: ${e.message}\n`);
    return 1;
  }
  const secrets = secretKeys.length ? ` (secrets set, values not shown: ${secretKeys.join(", ")})` : "";
  process.stdout.write(`${name}: ok${secrets}\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`check: ${(e as Error).message}\n`);
  process.exitCode = 2;
}
