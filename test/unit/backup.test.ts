/** The pure parts of `npm run backup` and `npm run restore`: command lines, volume selection, manifest, streams. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, it } from "node:test";
import { parseConfig, type StackConfig } from "../../components/config";
import { escapeUserName } from "../../components/identity";
import { spawnerMounts } from "../../components/mounts";
import { labelKeys, labelsFor, names, postgres } from "../../components/names";
import { parseBackupArgs, parseRestoreArgs, UsageError } from "../../ops/backups/args";
import {
  databaseEngine,
  databaseKinds,
  pgDumpFile,
  pgRestoreCommand,
  pgRestoreVersionProblem,
  pgToolVersion,
  pgVersionOfNum,
  sqliteFile,
  withoutDatabaseVolumes,
} from "../../ops/backups/database";
import { Demux, Meter } from "../../ops/backups/engine";
import { excludeArgs } from "../../ops/backups/io";
import {
  backupDirName,
  checkFiles,
  claimBackupDir,
  type Item,
  itemsToRestore,
  type Manifest,
  manifestText,
  parseManifest,
  restoreOrder,
} from "../../ops/backups/manifest";
import { inUseProblems, selectVolumes, unescapeUserName, type VolumeInfo } from "../../ops/backups/volumes";

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "user-names.json"), "utf8")) as {
  names: { name: string; escaped: string; accepted: boolean }[];
};

describe("backup and restore command lines", () => {
  it("backup: the stack, --to (relative to where npm ran), --include-readonly, --image", () => {
    assert.deepEqual(parseBackupArgs(["prod"], "/home/op"), { stack: "prod", to: "/home/op/backups", includeReadOnly: false });
    assert.deepEqual(parseBackupArgs(["prod", "--to", "nightly", "--include-readonly", "--image=debian:bookworm"], "/home/op"), {
      stack: "prod",
      to: "/home/op/nightly",
      includeReadOnly: true,
      image: "debian:bookworm",
    });
    assert.equal(parseBackupArgs(["--to=/srv/backups", "prod"], "/x").to, "/srv/backups");
  });

  it("restore: the stack, the backup directory (or its manifest.json), --user", () => {
    assert.deepEqual(parseRestoreArgs(["prod", "b/prod-20260504T101500Z"], "/home/op"), {
      stack: "prod",
      backup: "/home/op/b/prod-20260504T101500Z",
    });
    assert.deepEqual(parseRestoreArgs(["prod", "/b/x/manifest.json", "--user", "github:ada"], "/"), {
      stack: "prod",
      backup: "/b/x",
      user: "github:ada",
    });
    assert.equal(parseRestoreArgs(["prod", "/b", "--user=zoe.d@lab"], "/").user, "zoe.d@lab");
  });

  it("refuses wrong command lines with a usage error", () => {
    const backupCases: [string[], RegExp][] = [
      [[], /give the stack name/],
      [["prod", "other"], /unexpected arguments: other/],
      [["prod", "--to"], /--to needs a value/],
      [["prod", "--to", "--include-readonly"], /--to needs a value/],
      [["prod", "--to="], /--to needs a value/],
      [["prod", "--to", "a", "--to", "b"], /--to given twice/],
      [["prod", "--force"], /unknown option --force/],
      [["prod", "-f"], /unknown option -f/],
      [["prod", "--include-readonly=yes"], /takes no value/],
      [["../prod"], /not a stack name/],
    ];
    for (const [argv, message] of backupCases)
      assert.throws(
        () => parseBackupArgs(argv, "/"),
        (e: Error) => e instanceof UsageError && message.test(e.message),
        argv.join(" "),
      );
    const restoreCases: [string[], RegExp][] = [
      [[], /give the stack and the backup directory/],
      [["prod"], /give the backup directory/],
      [["prod", "a", "b"], /unexpected arguments: b/],
      [["prod", "a", "--user"], /--user needs a value/],
      [["prod", "a", "--include-readonly"], /unknown option/],
    ];
    for (const [argv, message] of restoreCases)
      assert.throws(
        () => parseRestoreArgs(argv, "/"),
        (e: Error) => e instanceof UsageError && message.test(e.message),
        argv.join(" "),
      );
  });
});

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

/** A validated config of prefix p with the given storage. */
function config(storage: unknown[]): StackConfig {
  return parseConfig({ prefix: "p", storage });
}

const storage = [
  { name: "shared", source: { type: "volume" }, mountPath: "/home/jovyan/shared" },
  { name: "archive", source: { type: "volume" }, mountPath: "/mnt/archive", readOnly: true },
  { name: "scratch", source: { type: "volume" }, mountPath: "/mnt/scratch", perUser: true },
  { name: "refs", source: { type: "volume" }, mountPath: "/mnt/refs", perUser: true, readOnly: true },
  { name: "isis", source: { type: "nfs", server: "nfs.example", export: "/isis" }, mountPath: "/mnt/isis", readOnly: true },
];

function volume(name: string, component: string, extra: Partial<VolumeInfo> = {}, prefix = "p"): VolumeInfo {
  return {
    name,
    labels: { [labelKeys.prefix]: prefix, [labelKeys.stack]: "s", [labelKeys.component]: component },
    driver: "local",
    options: {},
    ...extra,
  };
}

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
        const perUser = spawnerMounts(c).filter((m) => m.perUser && m.type === "volume");
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

const sha = (c: string) => c.repeat(64);

function item(extra: Partial<Item> & Pick<Item, "kind" | "volume" | "file">): Item {
  return { format: "tar+gzip", bytes: 10, contentBytes: 100, sha256: sha("a"), ...extra };
}

function manifest(items: Item[]): Manifest {
  return {
    format: "gmap-jupyterhub-backup",
    version: 1,
    stack: "prod",
    prefix: "p",
    created: "2026-05-04T10:15:00.000Z",
    finished: "2026-05-04T10:16:00.000Z",
    jupyterhubVersion: "5.5.1",
    image: "p-hub:local",
    items,
    skipped: [{ volume: "p-archive", reason: "read-only" }],
  };
}

const items: Item[] = [
  item({
    kind: "database",
    engine: "sqlite",
    volume: "p-hub-data",
    file: "database/jupyterhub.sqlite.gz",
    format: "sqlite+gzip",
    users: 3,
  }),
  item({ kind: "hub-data", volume: "p-hub-data", file: "volumes/p-hub-data.tar.gz", excludes: ["jupyterhub.sqlite"] }),
  item({ kind: "user", volume: "p-user-ada", user: "ada", mount: "user", file: "volumes/p-user-ada.tar.gz", labels: { a: "b" } }),
  item({ kind: "user", volume: "p-scratch-ada", user: "ada", mount: "scratch", file: "volumes/p-scratch-ada.tar.gz" }),
  item({ kind: "shared", volume: "p-shared", mount: "shared", file: "volumes/p-shared.tar.gz" }),
  item({ kind: "user", volume: "p-user-zoe-2ed-40lab", user: "zoe.d@lab", mount: "user", file: "volumes/p-user-zoe-2ed-40lab.tar.gz" }),
  item({ kind: "other", volume: "p-old", file: "volumes/p-old.tar.gz" }),
];

describe("the manifest", () => {
  it("round-trips through its text, keys sorted", () => {
    const m = manifest(items);
    const text = manifestText(m);
    assert.deepEqual(parseManifest(text), m);
    assert.ok(text.indexOf('"created"') < text.indexOf('"format"'));
  });

  it("refuses what is not a manifest of this tool, naming every problem", () => {
    const bad = (change: (m: any) => void) => {
      const m: any = structuredClone(manifest(items));
      change(m);
      return JSON.stringify(m);
    };
    assert.throws(() => parseManifest("{"), /is not JSON/);
    assert.throws(() => parseManifest(bad((m) => (m.version = 2))), /version/);
    assert.throws(() => parseManifest(bad((m) => (m.items[2].file = "../../etc/passwd"))), /items\.2\.file/);
    assert.throws(() => parseManifest(bad((m) => (m.items[2].file = "/etc/passwd"))), /items\.2\.file/);
    assert.throws(() => parseManifest(bad((m) => (m.items[2].file = "volumes/./x"))), /items\.2\.file/);
    assert.throws(() => parseManifest(bad((m) => (m.items[3].file = m.items[2].file))), /two items share a file/);
    assert.throws(() => parseManifest(bad((m) => delete m.items[2].user)), /a user item names its user/);
    assert.throws(() => parseManifest(bad((m) => delete m.items[0].engine)), /a database item names its engine/);
    assert.throws(() => parseManifest(bad((m) => (m.items[1].sha256 = "abc"))), /items\.1\.sha256/);
    assert.throws(() => parseManifest(bad((m) => (m.items[1].kind = "postgres-volume"))), /items\.1\.kind/);
    assert.throws(() => parseManifest(bad((m) => (m.extra = 1))), /extra/);
    assert.throws(
      () => parseManifest(bad((m) => (m.items[4].volume = "other-stack-shared"))),
      /items\.4\.volume: the volume other-stack-shared is not one of the prefix p/,
    );
  });

  it("names backups <stack>-<UTC time>, sortable", () => {
    assert.equal(backupDirName("prod", new Date("2026-05-04T10:15:07.123Z")), "prod-20260504T101507Z");
    assert.ok(backupDirName("a", new Date("2026-05-04T09:59:59Z")) < backupDirName("a", new Date("2026-05-04T10:00:00Z")));
  });

  it("restores everything, hub data before the database, or one user's volumes only", () => {
    const m = manifest(items);
    assert.deepEqual(
      restoreOrder(itemsToRestore(m)).map((i) => `${i.kind} ${i.volume}`),
      [
        "hub-data p-hub-data",
        "database p-hub-data",
        "shared p-shared",
        "user p-user-ada",
        "user p-scratch-ada",
        "user p-user-zoe-2ed-40lab",
        "other p-old",
      ],
    );
    assert.deepEqual(
      itemsToRestore(m, "ada").map((i) => i.volume),
      ["p-user-ada", "p-scratch-ada"],
    );
    assert.deepEqual(
      itemsToRestore(m, "zoe.d@lab").map((i) => i.volume),
      ["p-user-zoe-2ed-40lab"],
    );
    assert.throws(() => itemsToRestore(m, "zoe-2ed-40lab"), /no volume of the user "zoe-2ed-40lab".*Users in this backup: ada, zoe\.d@lab/);
  });
});

describe("backup files", () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "gmap-backup-unit-"));

  it("never overwrites a backup, finished or not", () => {
    const dir = tmp();
    const final = path.join(dir, "nested", "prod-20260504T101507Z");
    const partial = claimBackupDir(final);
    assert.equal(partial, `${final}.partial`);
    assert.ok(fs.statSync(partial).isDirectory());
    assert.equal(fs.statSync(partial).mode & 0o777, 0o700, "only its owner reads a backup");
    assert.throws(() => claimBackupDir(final), /\.partial exists; a backup is never overwritten/);
    fs.renameSync(partial, final);
    assert.throws(() => claimBackupDir(final), /prod-20260504T101507Z exists; a backup is never overwritten/);
    fs.rmSync(dir, { recursive: true });
  });

  it("checks each file's presence, size and SHA-256 against the manifest", async () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, "volumes"));
    const good = Buffer.from("the archive");
    const digest = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    fs.writeFileSync(path.join(dir, "volumes/a.tar.gz"), good);
    fs.writeFileSync(path.join(dir, "volumes/b.tar.gz"), Buffer.from("the archivX"));
    fs.writeFileSync(path.join(dir, "volumes/c.tar.gz"), Buffer.from("short"));
    const of = (file: string) =>
      item({ kind: "shared", volume: file, file: `volumes/${file}.tar.gz`, bytes: good.length, sha256: digest(good) });
    assert.deepEqual(await checkFiles(dir, [of("a")]), []);
    const problems = await checkFiles(dir, [of("a"), of("b"), of("c"), of("d")]);
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /^volumes\/b\.tar\.gz: SHA-256 [0-9a-f]{64}, the manifest says /);
    assert.match(problems[1]!, /^volumes\/c\.tar\.gz: 5 bytes, the manifest says 11/);
    assert.equal(problems[2], "volumes/d.tar.gz: missing");
    fs.rmSync(dir, { recursive: true });
  });
});

/** One frame of Docker's multiplexed stream. */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("helper container streams", () => {
  it("splits stdout from stderr, with frames cut anywhere", async () => {
    const all = Buffer.concat([
      frame(1, "tar "),
      frame(2, "tar: ./x: file changed as we read it\n"),
      frame(1, "bytes"),
      frame(2, "done\n"),
    ]);
    for (const cut of [1, 3, 7, 8, 9, 13, all.length - 1]) {
      const demux = new Demux();
      const chunks: Buffer[] = [];
      await pipeline(Readable.from([all.subarray(0, cut), all.subarray(cut)]), demux, async function (source: AsyncIterable<Buffer>) {
        for await (const c of source) chunks.push(c);
      });
      assert.equal(Buffer.concat(chunks).toString(), "tar bytes", `cut at ${cut}`);
      assert.equal(demux.stderr, "tar: ./x: file changed as we read it\ndone\n");
    }
  });

  it("fails on a stream that ends inside a frame, and keeps only the end of a long stderr", async () => {
    await assert.rejects(
      pipeline(Readable.from([frame(1, "abc").subarray(0, 9)]), new Demux(), async function (s: AsyncIterable<Buffer>) {
        for await (const _ of s);
      }),
      /ended inside a frame/,
    );
    const demux = new Demux(100);
    await pipeline(
      Readable.from(Array.from({ length: 50 }, (_, i) => frame(2, `line ${i}\n`))),
      demux,
      async function (s: AsyncIterable<Buffer>) {
        for await (const _ of s);
      },
    );
    assert.ok(demux.stderr.endsWith("line 49\n") && !demux.stderr.includes("line 1\n"), demux.stderr);
  });

  it("measures size and SHA-256 on the way", async () => {
    const meter = new Meter();
    await pipeline(Readable.from([Buffer.from("ab"), Buffer.from("c")]), meter, async function (s: AsyncIterable<Buffer>) {
      for await (const _ of s);
    });
    assert.equal(meter.bytes, 3);
    assert.equal(meter.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("the SQLite database kind", () => {
  it("copies the file the hub's config names, and leaves it and its journals out of the hub-data archive", () => {
    const hubConfig = fs.readFileSync(path.join(__dirname, "..", "..", "hub-config", "gmap_hub", "config.py"), "utf8");
    assert.match(hubConfig, new RegExp(`return f"sqlite:///\\{data_dir\\.rstrip\\('/'\\)\\}/${sqliteFile.replace(".", "\\.")}"`));
    assert.deepEqual(excludeArgs(databaseKinds.sqlite.hubDataExcludes), [
      "--exclude=./jupyterhub.sqlite",
      "--exclude=./jupyterhub.sqlite-journal",
      "--exclude=./jupyterhub.sqlite-wal",
      "--exclude=./jupyterhub.sqlite-shm",
    ]);
    assert.deepEqual(databaseKinds.sqlite.ownVolumes("p"), []);
  });
});

describe("the hub database of a backup", () => {
  it("chosen by hub.database.type: SQLite by default, PostgreSQL with type postgres", () => {
    assert.equal(databaseEngine(parseConfig({ prefix: "gmap-x" })), "sqlite");
    assert.equal(databaseEngine(parseConfig({ prefix: "gmap-x", hub: { database: { type: "postgres" } } })), "postgres");
    assert.equal(databaseKinds.postgres.engine, "postgres");
    assert.equal(databaseKinds.sqlite.engine, "sqlite");
  });
});

describe("the PostgreSQL database kind", () => {
  const kind = databaseKinds.postgres;

  it("leaves the data volume out of the archives (the dump holds the database) and nothing out of hub-data", () => {
    assert.deepEqual(kind.ownVolumes("gmap-x"), [names("gmap-x").postgresVolume]);
    assert.deepEqual(kind.ownVolumes("gmap-x"), ["gmap-x-hub-postgres"]);
    assert.deepEqual(kind.hubDataExcludes, []);
    assert.equal(kind.restoresIntoUnusedVolume, false, "restored through its running container");
    const all = ["gmap-x-hub-data", "gmap-x-hub-postgres", "gmap-x-user-ada"].map((name) => ({ name }));
    assert.deepEqual(withoutDatabaseVolumes(kind, "gmap-x", all), {
      volumes: [{ name: "gmap-x-hub-data" }, { name: "gmap-x-user-ada" }],
      skipped: [{ volume: "gmap-x-hub-postgres", reason: "the postgres data directory: the database item holds its dump" }],
    });
    assert.deepEqual(withoutDatabaseVolumes(databaseKinds.sqlite, "gmap-x", all).volumes, all, "SQLite leaves no volume out");
    // without the exclusion the data directory would be archived as files of another labelled volume
    const labelled = volume("p-hub-postgres", "hub-postgres");
    assert.deepEqual(
      selectVolumes(config([]), [labelled], { includeReadOnly: false }).volumes.map((v) => v.kind),
      ["other"],
    );
    assert.deepEqual(withoutDatabaseVolumes(kind, "p", [labelled]).volumes, []);
  });

  it("reads versions: server_version_num and the tools' --version", () => {
    assert.equal(pgVersionOfNum("150020"), "15.20");
    assert.equal(pgVersionOfNum("170000\n"), "17.0");
    assert.throws(() => pgVersionOfNum("90624"), /PostgreSQL 10\+/);
    assert.throws(() => pgVersionOfNum(""), /server_version_num/);
    assert.equal(pgToolVersion("pg_restore (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n"), "15.20");
    assert.equal(pgToolVersion("pg_restore (PostgreSQL) 18devel"), "18.0");
    assert.equal(pgToolVersion("bash: pg_restore: not found"), undefined);
  });

  it("restores with the same major version or a newer one, and says what to do otherwise", () => {
    assert.equal(pgRestoreVersionProblem("15.20", "15.2", "gmap-x-postgres"), undefined);
    assert.equal(pgRestoreVersionProblem("15.20", "16.4", "gmap-x-postgres"), undefined);
    const problem = pgRestoreVersionProblem("16.4", "15.20", "gmap-x-postgres");
    assert.match(
      problem ?? "",
      /dumped from PostgreSQL 16\.4, but gmap-x-postgres runs PostgreSQL 15\.20: pg_restore needs PostgreSQL 16 or newer/,
    );
    assert.match(problem ?? "", /hub\.database\.image/);
  });

  it("pg_restore replaces the database's objects in one transaction, as the hub's role, without a password", () => {
    assert.deepEqual(
      [...pgRestoreCommand],
      [
        "pg_restore",
        "-U",
        postgres.user,
        "-d",
        postgres.database,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
      ],
    );
    assert.equal(pgDumpFile, "database/jupyterhub.pgdump");
  });

  it("its manifest item names the server version and the dump format", () => {
    const pgItem = item({
      kind: "database",
      engine: "postgres",
      volume: "p-hub-postgres",
      file: pgDumpFile,
      format: "pg_dump-custom",
      serverVersion: "15.20",
      users: 3,
    });
    const m = manifest([pgItem, ...items.slice(1)]);
    assert.deepEqual(parseManifest(manifestText(m)), m);
    const without = structuredClone(m) as any;
    delete without.items[0].serverVersion;
    assert.throws(() => parseManifest(JSON.stringify(without)), /items\.0\.serverVersion: a PostgreSQL dump names its server version/);
    const bad = structuredClone(m) as any;
    bad.items[0].serverVersion = "15.20 (Debian)";
    assert.throws(() => parseManifest(JSON.stringify(bad)), /items\.0\.serverVersion/);
    bad.items[0].serverVersion = "15.20";
    bad.items[0].format = "pg_dump-plain";
    assert.throws(() => parseManifest(JSON.stringify(bad)), /items\.0\.format/);
  });
});
