/** The volumes of a backup and of a restore (ops/backups/volumes.ts): user names, selection, volumes in use. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { escapeUserName } from "../../components/identity";
import { spawnerMounts } from "../../components/mounts";
import { labelKeys, labelsFor } from "../../components/names";
import { inUseProblems, selectVolumes, unescapeUserName, type VolumeInfo } from "../../ops/backups/volumes";
import { parseConfig } from "../../components/config";
import { config, volume } from "./backup-fixtures";

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "user-names.json"), "utf8")) as {
  names: { name: string; escaped: string; accepted: boolean }[];
};

describe("user names from volume names", () => {
  it("unescapes what escapeUserName made (shared vectors), whatever the rule says of the name", () => {
    for (const v of fixture.names) {
      // DockerSpawner pads escapes to two hex digits; names with bytes below 0x10 are refused anyway
      if (v.name === "" || /[\u0000-\u000f]/.test(v.name)) continue;
      assert.equal(unescapeUserName(v.escaped), v.name, v.escaped);
    }
    for (const name of ["ada", "zoe.d@lab", "github:ada", "native:e2e-admin", "_bot", "x".repeat(48), "zoë", "東京"]) {
      assert.equal(unescapeUserName(escapeUserName(name)), name);
    }
  });

  it("refuses what is no escape of a name", () => {
    for (const s of ["", "Ada", "a-", "a-2", "a-zz", "a_b", "a.b", "-c3", "a--2d"]) assert.equal(unescapeUserName(s), undefined, s);
  });
});

const storage = [
  { name: "shared", source: { type: "volume" }, mountPath: "/home/jovyan/shared" },
  { name: "archive", source: { type: "volume" }, mountPath: "/mnt/archive", readOnly: true },
  { name: "scratch", source: { type: "volume" }, mountPath: "/mnt/scratch", perUser: true },
  { name: "refs", source: { type: "volume" }, mountPath: "/mnt/refs", perUser: true, readOnly: true },
  { name: "isis", source: { type: "nfs", server: "nfs.example", export: "/isis" }, mountPath: "/mnt/isis", readOnly: true },
];

describe("the volumes of a backup", () => {
  const all: VolumeInfo[] = [
    volume("p-user-ada", "user"),
    volume("p-hub-data", "hub-data"),
    volume("p-shared", "storage-shared"),
    volume("p-archive", "storage-archive"),
    volume("p-isis", "storage-isis", { options: { type: "nfs", device: ":/isis", o: "addr=nfs.example,ro" } }),
    volume("p-scratch-ada", "user"),
    volume("p-refs-ada", "user"),
    volume("p-user-zoe-2ed-40lab", "user"),
    volume("p-user-github-3aada", "user"),
    volume("p-oldmount", "storage-oldmount"),
    volume("p-user-Bad", "user"),
    volume("p-plugin", "storage-plugin", { driver: "rexray" }),
    volume("q-user-ada", "user", {}, "q"),
    volume("p-user-eve", "user", {}, "p-other"),
    { name: "unlabelled", labels: {}, driver: "local", options: {} },
  ];

  it("takes the stack's labelled volumes by kind, user and mount; skips network shares and read-only storage", () => {
    const s = selectVolumes(config(storage), all, { includeReadOnly: false });
    assert.deepEqual(
      s.volumes.map((v) => [v.kind, v.volume, v.user ?? null, v.mount ?? null]),
      [
        ["hub-data", "p-hub-data", null, null],
        ["shared", "p-shared", null, "shared"],
        ["user", "p-scratch-ada", "ada", "scratch"],
        ["user", "p-user-ada", "ada", "user"],
        ["user", "p-user-github-3aada", "github:ada", "user"],
        ["user", "p-user-zoe-2ed-40lab", "zoe.d@lab", "user"],
        ["other", "p-oldmount", null, null],
        ["other", "p-user-Bad", null, null],
      ],
    );
    assert.equal(s.hubData?.volume, "p-hub-data");
    assert.deepEqual(
      s.skipped.map((k) => k.volume),
      ["p-archive", "p-isis", "p-plugin", "p-refs-ada"],
    );
    assert.match(s.skipped.find((k) => k.volume === "p-isis")!.reason, /nfs mount of :\/isis: back the data up on its server/);
    assert.match(s.skipped.find((k) => k.volume === "p-archive")!.reason, /read-only storage archive .*--include-readonly/);
    assert.match(s.skipped.find((k) => k.volume === "p-plugin")!.reason, /volume driver rexray/);
    assert.deepEqual(
      s.volumes.find((v) => v.volume === "p-user-ada")!.labels,
      all[0]!.labels,
      "labels are kept to create the volume again",
    );
  });

  it("takes read-only storage too with --include-readonly, never network shares", () => {
    const s = selectVolumes(config(storage), all, { includeReadOnly: true });
    assert.ok(s.volumes.some((v) => v.volume === "p-archive" && v.kind === "shared"));
    assert.ok(s.volumes.some((v) => v.volume === "p-refs-ada" && v.kind === "user" && v.user === "ada" && v.mount === "refs"));
    assert.deepEqual(
      s.skipped.map((k) => k.volume),
      ["p-isis", "p-plugin"],
    );
  });

  it("takes a read-only mount with writers (a curated area) and a group's project folder", () => {
    const curated = [
      { name: "curated", source: { type: "volume" }, mountPath: "/mnt/curated", readOnly: true, writers: { admins: true } },
      { name: "project", source: { type: "volume" }, mountPath: "/home/jovyan/project", groups: ["team"] },
    ];
    const c = parseConfig({ prefix: "p", groups: [{ name: "team" }], storage: curated });
    const s = selectVolumes(c, [volume("p-curated", "storage-curated"), volume("p-project", "storage-project")], {
      includeReadOnly: false,
    });
    assert.deepEqual(
      s.volumes.map((v) => [v.kind, v.volume, v.mount]),
      [
        ["shared", "p-curated", "curated"],
        ["shared", "p-project", "project"],
      ],
    );
  });

  it("has no hub data when the stack's volume is missing", () => {
    assert.equal(selectVolumes(config(storage), [volume("p-user-ada", "user")], { includeReadOnly: false }).hubData, undefined);
  });

  it("reads every per-user volume the hub makes back to its user and mount, for storage names around the reserved ones", () => {
    const users = ["a", "b", "x", "data", "b-x", "2dx", "a-x", "github:ada", "zoe.d@lab", "_bot"];
    const names = ["a", "b", "data", "x", "a-b", "users", "hubs"];
    for (const first of names) {
      for (const second of names) {
        if (first === second || first.startsWith(`${second}-`) || second.startsWith(`${first}-`)) continue;
        const c = config([
          { name: first, source: { type: "volume" }, mountPath: "/mnt/one", perUser: true },
          { name: second, source: { type: "volume" }, mountPath: "/mnt/two" },
        ]);
        const labels = Object.fromEntries(labelsFor(c, "s", "user").map((l) => [l.label, l.value]));
        const perUser = spawnerMounts(c, {}).filter((m) => m.perUser && m.type === "volume");
        const made = users.flatMap((u) =>
          perUser.map((m) => ({ user: u, mount: m.name, name: m.source.replace("{username}", escapeUserName(u)) })),
        );
        const s = selectVolumes(
          c,
          [
            volume(`p-${second}`, `storage-${second}`),
            volume("p-hub-data", "hub-data"),
            ...made.map((m) => ({ name: m.name, labels, driver: "local", options: {} })),
          ],
          { includeReadOnly: false },
        );
        const got = s.volumes.filter((v) => v.kind === "user").map((v) => `${v.volume} ${v.user} ${v.mount}`);
        assert.deepEqual(got.sort(), made.map((m) => `${m.name} ${m.user} ${m.mount}`).sort(), `${first}, ${second}`);
        assert.deepEqual(
          s.volumes.filter((v) => v.kind !== "user").map((v) => `${v.kind} ${v.volume}`),
          ["hub-data p-hub-data", `shared p-${second}`],
        );
      }
    }
  });
});

describe("volumes in use", () => {
  const labels = (component: string) => ({ [labelKeys.prefix]: "p", [labelKeys.component]: component });

  it("names the hub and the servers to stop, and how", () => {
    const lines = inUseProblems(
      "p",
      ["p-hub-data", "p-user-ada", "p-scratch-ada", "p-user-zoe-2ed-40lab", "p-shared"],
      [
        { container: "p-hub", labels: labels("hub"), volumes: ["p-hub-data"] },
        { container: "p-user-zoe-2ed-40lab", labels: labels("user"), volumes: ["p-user-zoe-2ed-40lab", "p-shared"] },
        { container: "p-user-ada", labels: labels("user"), volumes: ["p-user-ada", "p-scratch-ada"] },
        { container: "p-proxy", labels: labels("proxy"), volumes: ["p-other"] },
        { container: "someones-debug-shell", labels: {}, volumes: ["p-shared"] },
      ],
      "https://hub.example",
    );
    assert.deepEqual(lines, [
      "refusing to overwrite volumes in use:",
      "  p-hub-data: in use by the hub (p-hub)",
      "  p-user-ada, p-scratch-ada: in use by the server of ada (p-user-ada)",
      "  p-user-zoe-2ed-40lab, p-shared: in use by the server of zoe.d@lab (p-user-zoe-2ed-40lab)",
      "  p-shared: in use by a container (someones-debug-shell)",
      "Stop them, then run the restore again:",
      "  - stop the user servers: as a hub admin at https://hub.example/hub/admin (Stop Server for ada, zoe.d@lab), or docker stop p-user-ada p-user-zoe-2ed-40lab",
      "  - stop the hub (after the user servers): docker stop p-hub, and after the restore: docker start p-hub",
      "  - stop the other containers listed",
    ]);
  });

  it("is quiet when nothing uses the volumes", () => {
    assert.deepEqual(
      inUseProblems("p", ["p-user-ada"], [{ container: "p-user-bob", labels: labels("user"), volumes: ["p-user-bob"] }]),
      [],
    );
  });
});
