import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../components/config";
import { hubSettings, stableJson } from "../../components/settings";

describe("settings.json", () => {
  it("stableJson sorts keys at every level and drops undefined", () => {
    assert.equal(
      stableJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } }),
      '{\n  "a": {\n    "d": [\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n',
    );
  });

  it("merges storage environment into the spawner environment", () => {
    const c = parseConfig({
      spawner: { environment: { TZ: "UTC" } },
      storage: [{ name: "isis", source: { type: "volume" }, mountPath: "/mnt/isis/data", environment: { ISISDATA: "/mnt/isis/data" } }],
    });
    assert.deepEqual(hubSettings(c, "dev", {}, {}).spawner.environment, { TZ: "UTC", ISISDATA: "/mnt/isis/data" });
  });
});
