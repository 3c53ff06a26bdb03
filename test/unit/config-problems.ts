import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../components/config";

/** The problems the schema reports for a raw config; fails the test when the config is accepted. */
export function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return [...e.problems];
  }
  assert.fail(`config was accepted: ${JSON.stringify(raw)}`);
}

/** Asserts that the config is refused with a problem at `key` whose text matches `message`. */
export function refused(raw: Record<string, unknown>, key: string, message: RegExp): string {
  const problems = problemsOf(raw);
  const hit = problems.find((p) => p.startsWith(`${key}: `) && message.test(p));
  assert.ok(hit, `expected a problem "${key}: ${message}", got:\n${problems.join("\n")}`);
  return hit;
}
