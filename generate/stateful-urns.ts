/**
 * Writes the URNs of the stateful resources of every example stack (the generated secrets, the
 * volumes, the hub image) into test/fixtures/stateful-urns.json:
 *
 *   npm run urns
 *
 * A resource whose URN changes is deleted and created anew by `pulumi up`: a new cookie secret
 * logs everyone out, new tokens and admin passwords lock the services and admins out, a new
 * volume resource forgets the old one. test/unit/urns.test.ts fails when one of these URNs is gone
 * without an alias that keeps it; regenerate after adding resources or after adding the alias.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { exampleSecrets, runProgram } from "../test/unit/run-program";
import { goldenStacks } from "./contract";

/** Types whose resources hold state that a replacement loses. */
export const statefulTypes: readonly string[] = [
  "random:index/randomPassword:RandomPassword",
  "random:index/randomBytes:RandomBytes",
  "random:index/randomId:RandomId",
  "docker:index/volume:Volume",
  "docker:index/image:Image",
];

export const urnsFile = path.join(__dirname, "..", "test", "fixtures", "stateful-urns.json");

/** The stateful resources of a stack's program: URN -> the old URNs its aliases keep. */
export function statefulResources(stack: string): Map<string, string[]> {
  const { resources } = runProgram(stack, exampleSecrets[stack] ?? {});
  return new Map(resources.filter((r) => statefulTypes.includes(r.type)).map((r) => [r.urn, r.aliases]));
}

if (require.main === module) {
  const golden = Object.fromEntries(goldenStacks.map((stack) => [stack, [...statefulResources(stack).keys()].sort()]));
  fs.writeFileSync(urnsFile, `${JSON.stringify(golden, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(process.cwd(), urnsFile)}\n`);
}
