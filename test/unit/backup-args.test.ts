/** The command lines of `npm run backup` and `npm run restore` (ops/backups/args.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseBackupArgs, parseRestoreArgs, UsageError } from "../../ops/backups/args";

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
