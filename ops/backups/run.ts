/**
 * How `npm run backup` and `npm run restore` run and end: exit 0 on success, 2 with the usage on a
 * wrong command line, 1 on a failure, 130 on Ctrl-C or TERM; helper containers still running are
 * removed on every way out, then the command's own clean-up runs.
 */
import { removeLiveHelpers } from "./engine";
import { UsageError } from "./args";

export interface CommandEnd {
  /** The command's usage text, printed after a usage error. */
  readonly usage: string;
  /** Said after "interrupted (SIGINT)" (e.g. what the operator should do next). */
  readonly interruptedNote?: string;
  /** Clean-up after a failure or an interruption (not after a usage error). */
  readonly cleanUp?: () => void;
  /** The line printed for a failure, after "<name>: ". */
  readonly failure?: (e: Error) => string;
}

/** Runs `main` with the command line, ending the process as described above. */
export function runCommand(name: string, main: (argv: string[]) => Promise<void>, end: CommandEnd): void {
  const { usage, interruptedNote = "", cleanUp = () => {}, failure = (e: Error) => `failed: ${e.message}` } = end;
  // set on Ctrl-C: the failure that follows (the helper was killed) is no news
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      interrupted = true;
      process.stderr.write(`${name}: interrupted (${signal})${interruptedNote}\n`);
      void removeLiveHelpers().finally(() => {
        cleanUp();
        process.exit(130);
      });
    });
  }
  main(process.argv.slice(2)).then(
    () => {
      process.exitCode = 0;
    },
    async (e: Error) => {
      if (interrupted) return;
      await removeLiveHelpers();
      if (e instanceof UsageError) {
        process.stderr.write(`${name}: ${e.message}\n${usage}\n`);
        process.exitCode = 2;
        return;
      }
      process.stderr.write(`${name}: ${failure(e)}\n`);
      cleanUp();
      process.exitCode = 1;
    },
  );
}
