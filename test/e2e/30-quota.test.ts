/**
 * Scenario 30: quotas (spawner.workVolume.quota, storage[].quota; Btrfs). The test makes a small
 * Btrfs file system in a loop-mounted file with quotas enabled, and the e2e stack's homes go there
 * with a limit of 64M, beside a per-user scratch directory limited to 24M. Two users: one writes past
 * the home's limit and gets EDQUOT in their own server, their earlier file intact, while the other
 * writes freely in their home and hits the scratch directory's own limit; admins see the usage, the
 * user their own on the hub's home page; `pulumi up` with 160M lets the first write again (the
 * running server keeps its mount). /tmp is a tmpfs of spawner.tmpSize (32M): filling it fails there.
 * A user cannot make a subvolume or snapshot of their own in the home (it would be outside the
 * quota): the servers' seccomp profile refuses it. The stack file is restored afterwards.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { escapeUserName } from "../../components/identity";
import { BrowserSession } from "./browser-session";
import { HubApi } from "./hub-api";
import { hubEnv } from "./hub-env";
import { assertQuietPreview, up, upOk } from "./pulumi";
import { editedStackFile, stack, stackSkip } from "./stack";
import { uniqueName } from "./user-names";
import { waitForHub } from "./wait";

const api = new HubApi();
const M = 2 ** 20;
const writer = uniqueName("quota");
const neighbour = uniqueName("roomy");
const PASSWORD = "Home-Quota-Passw0rd";

/** A Btrfs file system of 512M in a loop-mounted file, quotas enabled; its mount point. */
function btrfsFileSystem(dir: string): string {
  const image = path.join(dir, "homes.img");
  const mountPoint = path.join(dir, "fs");
  fs.mkdirSync(mountPoint);
  fs.writeFileSync(image, "");
  fs.truncateSync(image, 512 * M);
  execFileSync("mkfs.btrfs", ["-q", image], { timeout: 60_000 });
  execFileSync("mount", ["-o", "loop", image, mountPoint], { timeout: 60_000 });
  execFileSync("btrfs", ["quota", "enable", mountPoint], { timeout: 60_000 });
  fs.mkdirSync(path.join(mountPoint, "homes"));
  fs.mkdirSync(path.join(mountPoint, "scratch"));
  return mountPoint;
}

const withQuota = (fsRoot: string, size: string) =>
  editedStackFile((c) => {
    const homes = path.join(fsRoot, "homes");
    c["jupyterhub:storage"] = [
      ...(c["jupyterhub:storage"] as unknown[]),
      {
        name: "scratch",
        source: { type: "host", path: path.join(fsRoot, "scratch", "{username}") },
        mountPath: "/scratch",
        perUser: true,
        quota: { filesystem: "btrfs", size: "24M" },
      },
    ];
    const spawner = c["jupyterhub:spawner"] ?? {};
    c["jupyterhub:spawner"] = {
      ...spawner,
      tmpSize: "32M",
      workVolume: { ...spawner.workVolume, source: { type: "host", path: `${homes}/{username}` }, quota: { filesystem: "btrfs", size } },
    };
  });

/** Python run in a user's kernel: appends `mib` MiB to ~/name; prints "wrote N" or "refused ERRNO". */
const write = (name: string, mib: number) =>
  [
    "import errno, os",
    "try:",
    `    with open(os.path.expanduser('~/${name}'), 'ab') as f:`,
    `        for _ in range(${mib}):`,
    "            f.write(b'x' * 2**20)",
    "            f.flush()",
    "            os.fsync(f.fileno())",
    `    print('wrote', ${mib})`,
    "except OSError as e:",
    "    print('refused', errno.errorcode[e.errno])",
  ].join("\n");

describe("quotas on Btrfs: the homes and per-user storage", { skip: stackSkip }, () => {
  let dir: string;
  let mountPoint: string | undefined;
  let writerBrowser: BrowserSession;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gmap-e2e-quota-"));
    mountPoint = btrfsFileSystem(dir);
    await upOk({ stack: stack!, configFile: withQuota(mountPoint, "64M") });
    await waitForHub(hubEnv().url);
    // the writer signs up (their home page is read below); the neighbour exists through the API
    writerBrowser = new BrowserSession();
    await writerBrowser.signUp(writer, PASSWORD);
    await (await BrowserSession.admin()).authorize(writer);
    await writerBrowser.login(writer, PASSWORD);
    await api.createUser(neighbour);
    for (const name of [writer, neighbour]) await api.startServer(name);
  });

  after(async () => {
    for (const name of [writer, neighbour]) await api.stopServer(name).catch(() => undefined);
    const restored = await up();
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    await waitForHub(hubEnv().url);
    if (mountPoint) execFileSync("umount", [mountPoint], { timeout: 60_000 });
    fs.rmSync(dir, { recursive: true, force: true });
    await assertQuietPreview("after restoring the e2e stack file");
  });

  it("each user's home and scratch directory is a subvolume of its own, owned by the notebook user", () => {
    const subvolumes = execFileSync("btrfs", ["subvolume", "list", mountPoint!], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((line) => line.split(" path ")[1])
      .sort();
    const expected = [writer, neighbour].flatMap((name) => ["homes", "scratch"].map((dir) => `${dir}/${escapeUserName(name)}`)).sort();
    assert.deepEqual(subvolumes, expected);
    for (const dir of expected) {
      const stat = fs.statSync(path.join(mountPoint!, dir));
      assert.deepEqual([stat.uid, stat.gid, stat.mode & 0o777], [1000, 100, 0o700], dir);
    }
  });

  it("past the limit a write fails with EDQUOT in the user's own server; earlier files stay; the neighbour writes on", async () => {
    // one kernel: a full home leaves no room for the connection file of the next one (until files go or the limit rises)
    const code = [write("kept", 8), write("big", 100), "print('kept', os.path.getsize(os.path.expanduser('~/kept')))"];
    assert.match(await api.runPython(writer, code.join("\n"), 120_000), new RegExp(`wrote 8\\s+refused EDQUOT\\s+kept ${8 * M}`));
    assert.match(await api.runPython(neighbour, write("data", 40), 120_000), /wrote 40/);
    // per-user storage has its own limit: the neighbour's scratch directory stops at 24M
    const scratch = write("data", 40).replace("os.path.expanduser('~/data')", "'/scratch/data'");
    assert.match(await api.runPython(neighbour, scratch, 120_000), /refused EDQUOT/);
  });

  it("a subvolume or snapshot made in a home is refused (EPERM), so nothing is written outside the quota; reflink copies work", async () => {
    // the four ioctls that create them (linux/btrfs.h; 4096-byte arguments, mutable for Python's
    // ioctl: the name after the fd, or after fd, transid, flags and the inheritance union in v2),
    // on the user's home (without the servers' profile, all four succeed for the notebook user)
    const code = [
      "import errno, fcntl, os, struct",
      "home = os.open(os.path.expanduser('~'), os.O_RDONLY)",
      "v1 = lambda n: bytearray(struct.pack('q', home) + n.encode().ljust(4088, b'\\0'))",
      "v2 = lambda n: bytearray(struct.pack('qQQ32x', home, 0, 0) + n.encode().ljust(4040, b'\\0'))",
      "for name, request, args in [('snap', 0x50009401, v1), ('subvol', 0x5000940E, v1), ('snap2', 0x50009417, v2), ('subvol2', 0x50009418, v2)]:",
      "    try:",
      "        fcntl.ioctl(home, request, args('escape-' + name))",
      "        print(name, 'made')",
      "    except OSError as e:",
      "        print(name, 'refused', errno.errorcode[e.errno])",
      "with open(os.path.expanduser('~/small'), 'wb') as f:",
      "    f.write(b'y' * 2**20)",
      "with open(os.path.expanduser('~/small'), 'rb') as src, open(os.path.expanduser('~/small-copy'), 'wb') as dst:",
      "    fcntl.ioctl(dst.fileno(), 0x40049409, src.fileno())", // FICLONE
      "print('reflink', os.path.getsize(os.path.expanduser('~/small-copy')))",
    ];
    const out = await api.runPython(neighbour, code.join("\n"), 60_000);
    assert.match(out, /snap refused EPERM\s+subvol refused EPERM\s+snap2 refused EPERM\s+subvol2 refused EPERM/);
    assert.match(out, new RegExp(`reflink ${M}`));
    const listed = execFileSync("btrfs", ["subvolume", "list", mountPoint!], { encoding: "utf8" });
    assert.doesNotMatch(listed, /escape-/);
  });

  it("/tmp is a tmpfs of spawner.tmpSize: a temporary file past it fails with ENOSPC, never on the host's disk", async () => {
    const code = [
      "import errno, os",
      "st = os.statvfs('/tmp')",
      "print('tmp', st.f_blocks * st.f_frsize)",
      "try:",
      "    with open('/tmp/fill', 'wb') as f:",
      "        for _ in range(64):",
      "            f.write(b'x' * 2**20)",
      "            f.flush()",
      "    print('wrote all')",
      "except OSError as e:",
      "    print('refused', errno.errorcode[e.errno])",
      "os.remove('/tmp/fill')",
    ];
    assert.match(await api.runPython(neighbour, code.join("\n"), 60_000), new RegExp(`tmp ${32 * M}\\s+refused ENOSPC`));
  });

  it("admins see every home's usage against its limit, each user their own on the home page (users are refused the admins' page: scenario 29)", async () => {
    const usage = await api.hub("/usage");
    const quotas = usage.quotas as Record<string, Record<string, { used: number; limit: number }>>;
    const homes = quotas.user!;
    assert.equal(quotas.scratch![neighbour]!.limit, 24 * M);
    assert.ok(quotas.scratch![neighbour]!.used > 16 * M, JSON.stringify(quotas.scratch));
    assert.equal(homes[writer]!.limit, 64 * M);
    assert.ok(homes[writer]!.used > 56 * M && homes[writer]!.used <= 64 * M, JSON.stringify(homes[writer]));
    assert.ok(homes[neighbour]!.used >= 40 * M && homes[neighbour]!.used < 56 * M, JSON.stringify(homes[neighbour]));
    // the user sees their own on the hub's home page (from that measure), with what to do when it is nearly full
    const page = await writerBrowser.get("/hub/home");
    assert.match(
      page.text,
      /class="text-center gmap-quota"[^>]*>\s*Your home holds \d+(\.\d+)?M of its 64M \((8[89]|9\d|100)%\)\.\s+Past 64M, writes there fail/,
    );
  });

  it("a raised limit is `pulumi up`: the running server writes again, its files where they were", async () => {
    await upOk({ stack: stack!, configFile: withQuota(mountPoint!, "160M") });
    await waitForHub(hubEnv().url);
    assert.match(await api.runPython(writer, write("more", 60), 120_000), /wrote 60/);
    const usage = await api.hub("/usage");
    assert.equal((usage.quotas as Record<string, Record<string, { limit: number }>>).user![writer]!.limit, 160 * M);
  });
});
