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
import { checkStack } from "./check-stack";

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
  const result = checkStack(projectDir, stack, configFile);
  process.stdout.write(`${result.text}\n`);
  return result.ok ? 0 : 1;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`check: ${(e as Error).message}\n`);
  process.exitCode = 2;
}
