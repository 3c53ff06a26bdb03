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
