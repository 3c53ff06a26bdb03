/** The hub database in a backup (ops/backups/database.ts, sqlite.ts, postgres.ts). */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parseConfig } from "../../components/config";
import { names, postgres } from "../../components/names";
import { databaseEngine, databaseKinds, withoutDatabaseVolumes } from "../../ops/backups/database";
import { excludeArgs } from "../../ops/backups/io";
import { parseManifest, manifestText } from "../../ops/backups/manifest";
import { pgDumpFile, pgRestoreCommand, pgRestoreVersionProblem, pgToolVersion, pgVersionOfNum } from "../../ops/backups/postgres";
import { sqliteBackupProgram, sqliteFile, sqliteRestoreProgram } from "../../ops/backups/sqlite";
import { selectVolumes } from "../../ops/backups/volumes";
import { config, item, items, manifest, volume } from "./backup-fixtures";

describe("the SQLite database kind", () => {
  it("copies the file the hub's config names, and leaves it and its journals out of the hub-data archive", () => {
    // the hub's database URL takes the file name from settings.json, which carries the one the backup copies
    const hubConfig = fs.readFileSync(path.join(__dirname, "..", "..", "hub-config", "gmap_hub", "configure", "hub.py"), "utf8");
    assert.match(hubConfig, /hub\.string\("sqliteFile"\)/);
    const golden = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "settings", "dev.json"), "utf8"));
    assert.equal(golden.settings.hub.sqliteFile, sqliteFile);
    assert.deepEqual(excludeArgs(databaseKinds.sqlite.hubDataExcludes), [
      "--exclude=./jupyterhub.sqlite",
      "--exclude=./jupyterhub.sqlite-journal",
      "--exclude=./jupyterhub.sqlite-wal",
      "--exclude=./jupyterhub.sqlite-shm",
    ]);
    assert.deepEqual(databaseKinds.sqlite.ownVolumes("p"), []);
  });

  it("runs the Python programs of ops/backups/programs/ on the helper's paths", () => {
    const program = (file: string) => fs.readFileSync(path.join(__dirname, "..", "..", "ops", "backups", "programs", file), "utf8");
    assert.equal(sqliteBackupProgram(), `${program("sqlite_backup.py")}\nbackup("/data/jupyterhub.sqlite", "/tmp/jupyterhub.sqlite")\n`);
    assert.equal(
      sqliteRestoreProgram(),
      `${program("sqlite_restore.py")}\nrestore("/data/jupyterhub.sqlite", "/data/.jupyterhub.sqlite.restoring", "/data")\n`,
    );
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
