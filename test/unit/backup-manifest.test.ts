/** The manifest of a backup and the files it lists (ops/backups/manifest.ts). */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import {
  backupDirName,
  checkFiles,
  claimBackupDir,
  itemsToRestore,
  manifestText,
  parseManifest,
  restoreOrder,
} from "../../ops/backups/manifest";
import { item, items, manifest } from "./backup-fixtures";

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
