/**
 * Programs the helper containers run with the image's `python3`: the Python files of programs/
 * (linted and tested as Python), read when a helper needs them.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The helper's command: runs the Python program of its first argument. */
export const python = 'exec python3 -c "$1"';

/**
 * The text `python3 -c` runs: the program `file` of programs/ followed by the call of its function
 * `call` with `args` (as Python string literals).
 */
export function pythonProgram(file: string, call: string, args: readonly string[]): string {
  const text = fs.readFileSync(path.join(__dirname, "programs", file), "utf8");
  return `${text}\n${call}(${args.map((a) => JSON.stringify(a)).join(", ")})\n`;
}
