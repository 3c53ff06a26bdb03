/**
 * Child-process entry of runProgramInChild (one program run per process):
 *   node --import tsx test/harness/run-program.ts --stack S --project-dir D --out FILE
 *        [--config-file F] [--run-id R] [--state-dir DIR] [--timeout-ms N] [--no-prune]
 * Writes the ProgramResult (or { error }) as JSON to FILE, mode 0600 (it holds secrets).
 */
import * as fs from "node:fs";
import { runProgram } from "./program";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const out = arg("--out");
  const stack = arg("--stack");
  const projectDir = arg("--project-dir");
  if (!out || !stack || !projectDir) {
    process.stderr.write("usage: run-program.ts --stack S --project-dir D --out FILE [...]\n");
    return 2;
  }
  const write = (value: unknown) => fs.writeFileSync(out, JSON.stringify(value), { mode: 0o600 });
  try {
    const timeout = arg("--timeout-ms");
    const result = await runProgram({
      stack,
      projectDir,
      configFile: arg("--config-file"),
      runId: arg("--run-id"),
      stateDir: arg("--state-dir"),
      timeoutMs: timeout ? Number(timeout) : undefined,
      prune: !process.argv.includes("--no-prune"),
    });
    write(result);
    return 0;
  } catch (err) {
    write({ error: (err as Error).message });
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err}\n`);
    process.exit(1);
  },
);
