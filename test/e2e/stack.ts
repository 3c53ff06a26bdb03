/**
 * Which end-to-end stack the scenarios run against, and its stack file: the stack
 * `npm run test:e2e` deployed (test/e2e/deploy.ts), edited copies of a stack file for
 * `--config-file`, and the prefix Docker names carry. The Pulumi CLI driver is pulumi.ts.
 */
import * as path from "node:path";
import { editedStackFile as editedCopy, readStackFile } from "../../ops/stack-file";

export const projectDir = path.resolve(__dirname, "..", "..");
/** The stack `npm run test:e2e` deployed (unset when the tests run against a hub deployed elsewhere). */
export const stack = process.env.E2E_STACK;
/** Skip reason for scenarios that reconfigure the deployment. */
export const stackSkip = stack ? false : "needs the e2e stack deployed by npm run test:e2e";

/** Writes a copy of a stack file (default: the e2e stack's) changed by `edit` and returns its path. */
export function editedStackFile(edit: (config: Record<string, any>) => void, stackName = stack!): string {
  return editedCopy(projectDir, stackName, edit);
}

/** A stack's prefix, as Docker names use it. */
export function prefix(stackName = stack!): string {
  return readStackFile(projectDir, stackName).config["jupyterhub:prefix"]!;
}
