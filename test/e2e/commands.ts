/** Commands the end-to-end scenarios run in the project directory, as an operator runs them, and their output. */
import { execFile } from "node:child_process";
import { projectDir } from "./stack";

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command in the project directory; never throws (bounded by `timeout`). */
export function command(file: string, args: readonly string[], timeout: number, env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd: projectDir, env, timeout, maxBuffer: 256 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({
        code,
        stdout: String(stdout),
        stderr: String(stderr) + (error && typeof error.code !== "number" ? `\n${error.message}` : ""),
      });
    });
  });
}

/** `npm run <script> -- <args>` in the project, as an operator runs it; never throws (bounded: 10 minutes). */
export function npmRun(script: string, args: readonly string[]): Promise<Run> {
  return command("npm", ["run", "-s", script, "--", ...args], 10 * 60_000);
}

/** A run's exit code and output, for an assertion's message. */
export const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
