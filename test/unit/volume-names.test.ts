import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfig, type StackConfig } from "../../components/config";
import { isStackVolume, spawnerMounts } from "../../components/mounts";
import { names } from "../../components/names";
import { escapeUserName } from "../../components/identity";

/** Every Docker volume name of a stack and these users, with repeats. */
function volumeNames(config: StackConfig, users: readonly string[]): string[] {
  const n = names(config.prefix);
  const stack = [n.hubDataVolume, ...config.storage.filter(isStackVolume).map((m) => n.storageVolume(m.name))];
  const perUser = spawnerMounts(config, {})
    .filter((m) => m.type === "volume" && m.perUser)
    .map((m) => m.source);
  return [...stack, ...users.flatMap((u) => perUser.map((template) => template.replace("{username}", escapeUserName(u))))];
}

function repeated(xs: readonly string[]): string[] {
  return [...new Set(xs.filter((x, i) => xs.indexOf(x) !== i))];
}

// Storage names around the reserved ones and around each other, and users whose escaped names
// complete one volume name into another: "data" (hub + data = hub-data), "b" (a + b = a-b),
// "b-x" and "2dx" (a + b-2dx = a-b + 2dx), "a" and "a-x" (user-a + 2dx = user + a-2dx).
const storageNames = ["a", "a-b", "b", "data", "hub", "hub-data", "hub-x", "user", "user-a", "x"];
const users = ["a", "b", "x", "data", "b-x", "2dx", "a-x", "github:ada"];
const kinds = [{ perUser: false }, { perUser: true }] as const;

/** Every storage config of one or two of the names, each shared or per-user. */
function* storageCombinations(): Generator<Array<{ name: string; perUser: boolean }>> {
  for (const [i, first] of storageNames.entries()) {
    for (const k1 of kinds) {
      yield [{ name: first, ...k1 }];
      for (const second of storageNames.slice(i + 1)) {
        for (const k2 of kinds)
          yield [
            { name: first, ...k1 },
            { name: second, ...k2 },
          ];
      }
    }
  }
}

const raw = (mounts: Array<{ name: string; perUser: boolean }>) => ({
  prefix: "p",
  storage: mounts.map((m, i) => ({ name: m.name, source: { type: "volume" }, mountPath: `/mnt/m${i}`, perUser: m.perUser })),
});

/** The config as it would be without the naming rules: parsed with neutral names, then renamed. */
function unchecked(mounts: Array<{ name: string; perUser: boolean }>): StackConfig {
  const parsed = parseConfig(raw(mounts.map((m, i) => ({ ...m, name: `neutral${i}` }))));
  return { ...parsed, storage: parsed.storage.map((m, i) => ({ ...m, name: mounts[i]!.name })) };
}

describe("volume names", () => {
  it("no accepted storage config gives two volumes one name", () => {
    let accepted = 0;
    let refusedClashes = 0;
    for (const mounts of storageCombinations()) {
      let config: StackConfig | undefined;
      try {
        config = parseConfig(raw(mounts));
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        assert.ok(
          e.problems.every((p) => /^jupyterhub:storage\[\d\]\.name: /.test(p)),
          e.problems.join("\n"),
        );
        if (repeated(volumeNames(unchecked(mounts), users)).length > 0) refusedClashes++;
        continue;
      }
      accepted++;
      assert.deepEqual(repeated(volumeNames(config, users)), [], JSON.stringify(mounts));
    }
    // the enumeration reaches both sides: valid configs, and refused ones that really clash
    assert.ok(accepted >= 40, `${accepted} accepted`);
    assert.ok(refusedClashes >= 40, `${refusedClashes} refused configs clash`);
  });

  it("refuses each kind of clash with the storage name's key", () => {
    const clashes: Array<[Array<{ name: string; perUser: boolean }>, string, RegExp]> = [
      [[{ name: "hub", perUser: true }], "storage[0].name", /reserved/], // p-hub-data of user "data"
      [[{ name: "hub-data", perUser: false }], "storage[0].name", /reserved/], // p-hub-data
      [[{ name: "user", perUser: true }], "storage[0].name", /reserved/], // every user's work volume
      [[{ name: "user-a", perUser: false }], "storage[0].name", /reserved/], // work volume of user "a"
      [[{ name: "user-a", perUser: true }], "storage[0].name", /reserved/], // user "2dx" vs work volume of "a-x"
      [
        [
          { name: "a", perUser: true },
          { name: "a-b", perUser: false },
        ],
        "storage[1].name",
        /"a-b" extends the storage name "a"/,
      ], // user "b"
      [
        [
          { name: "a-b", perUser: true },
          { name: "a", perUser: true },
        ],
        "storage[0].name",
        /"a-b" extends the storage name "a"/,
      ], // users "b-x" and "2dx"
    ];
    for (const [mounts, key, message] of clashes) {
      assert.notDeepEqual(repeated(volumeNames(unchecked(mounts), users)), [], `${JSON.stringify(mounts)} should clash without the rules`);
      try {
        parseConfig(raw(mounts));
        assert.fail(`accepted ${JSON.stringify(mounts)}`);
      } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        assert.ok(
          e.problems.some((p) => p.startsWith(`jupyterhub:${key}: `) && message.test(p)),
          e.problems.join("\n"),
        );
      }
    }
  });
});
