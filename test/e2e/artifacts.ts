/** What the end-to-end scenarios keep for a look after the run: test-artifacts/ (logs, screenshots). */
import * as fs from "node:fs";
import * as path from "node:path";
import { containerLogsOrWhy } from "./engine";
import { projectDir } from "./stack";

export const artifactsDir = path.join(projectDir, "test-artifacts");

/** Writes each container's logs (or the last `tail` lines) to test-artifacts/<name>.log; a container without logs gets why. */
export async function saveContainerLogs(names: readonly string[], tail?: number): Promise<void> {
  fs.mkdirSync(artifactsDir, { recursive: true });
  for (const name of names) fs.writeFileSync(path.join(artifactsDir, `${name}.log`), await containerLogsOrWhy(name, tail));
}
