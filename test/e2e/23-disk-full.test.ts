/**
 * Scenario 23: the volume that holds the hub's data fills up. The test puts the stack's hub-data
 * volume on a small filesystem of its own (a loop-mounted file over the volume's directory while the
 * hub is stopped; the machine's own disk is never filled), fills it to the last block and checks
 * that the hub keeps serving signed-in users and running servers, refuses changes with a clear
 * answer before doing anything (nothing half-done), says what is wrong in its log, corrupts nothing,
 * and accepts changes again by itself once space is freed. Afterwards the volume's data goes back to
 * the machine's disk.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { escapeUserName } from "../../components/identity";
import { hubPaths, names } from "../../components/names";
import { BrowserSession } from "./browser-session";
import { containerLogs, docker, dockerExec, userContainer, waitForHealthyHub } from "./engine";
import { HubApi } from "./hub-api";
import { prefix, stackSkip } from "./stack";
import { uniqueName } from "./user-names";
import { waitFor } from "./wait";

const api = new HubApi();
const FULL = /the volume that holds its data is full/;
const FILLER = "gmap-test-filler";
/** Size of the test's filesystem: the hub's data with room to spare, well under any real disk. */
const FS_MIB = 96;

const sh = (command: string, args: string[]) =>
  execFileSync(command, args, { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 }).toString();

/** The hub-data volume moved onto a small loop-mounted filesystem, and back. */
class SmallDisk {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "gmap-hub-data-"));
  readonly image = path.join(this.dir, "fs.img");
  readonly saved = path.join(this.dir, "saved");
  mountpoint = "";
  mounted = false;

  constructor(
    readonly volume: string,
    readonly hub: string,
  ) {}

  /** Stops the hub, mounts the small filesystem over the volume's directory with the data copied in, starts the hub. */
  async attach(): Promise<void> {
    this.mountpoint = (await docker.getVolume(this.volume).inspect()).Mountpoint;
    await docker.getContainer(this.hub).stop();
    fs.mkdirSync(this.saved);
    sh("cp", ["-a", `${this.mountpoint}/.`, this.saved]);
    sh("truncate", ["-s", `${FS_MIB}M`, this.image]);
    sh("mkfs.ext4", ["-q", "-F", "-m", "0", this.image]);
    sh("mount", ["-o", "loop", this.image, this.mountpoint]);
    this.mounted = true;
    fs.rmSync(path.join(this.mountpoint, "lost+found"), { recursive: true, force: true });
    sh("cp", ["-a", `${this.saved}/.`, this.mountpoint]);
    await docker.getContainer(this.hub).start();
    await waitForHealthyHub(process.env.HUB_URL!);
  }

  /** Writes a file that takes every free block (its size is bounded by the filesystem's). */
  fill(): void {
    const filler = path.join(this.mountpoint, FILLER);
    try {
      sh("dd", ["if=/dev/zero", `of=${filler}`, "bs=4k", `count=${FS_MIB * 256}`, "conv=fsync"]);
    } catch {
      // "No space left on device": what it is for
    }
    sh("sync", ["-f", filler]);
    const left = fs.statfsSync(this.mountpoint);
    assert.ok(left.bavail * left.bsize < 64 * 1024, `the filesystem is full (${left.bavail} blocks of ${left.bsize} bytes left)`);
  }

  free(): void {
    fs.rmSync(path.join(this.mountpoint, FILLER), { force: true });
  }

  /** Stops the hub, copies its data back to the volume's own directory, starts the hub. */
  async detach(): Promise<void> {
    if (this.mounted) {
      await docker.getContainer(this.hub).stop();
      this.free();
      const now = path.join(this.dir, "now");
      fs.mkdirSync(now);
      sh("cp", ["-a", `${this.mountpoint}/.`, now]);
      sh("umount", [this.mountpoint]);
      this.mounted = false;
      for (const entry of fs.readdirSync(this.mountpoint)) fs.rmSync(path.join(this.mountpoint, entry), { recursive: true, force: true });
      sh("cp", ["-a", `${now}/.`, this.mountpoint]);
      await docker.getContainer(this.hub).start();
      await waitForHealthyHub(process.env.HUB_URL!);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether the hub's log says `pattern` after `since` (a log line count). */
async function hubSays(hub: string, pattern: RegExp, since: number): Promise<boolean> {
  return (await containerLogs(hub))
    .split("\n")
    .slice(since)
    .some((line) => pattern.test(line));
}

const rootSkip = process.getuid?.() === 0 ? false : "mounting the small filesystem needs root";

describe("a full disk under the hub's data", { skip: stackSkip || rootSkip }, () => {
  const running = uniqueName("full-a");
  const idle = uniqueName("full-b");
  const n = () => names(prefix());
  let disk: SmallDisk;
  let admin: BrowserSession;

  before(async () => {
    for (const user of [running, idle]) await api.createUser(user);
    disk = new SmallDisk(n().hubDataVolume, n().hubContainer);
    await disk.attach();
    await api.startServer(running);
    admin = await BrowserSession.admin();
  });

  after(async () => {
    await disk?.detach();
    for (const user of [running, idle]) await api.stopServer(user).catch(() => undefined);
  });

  it("keeps serving, refuses changes with the reason, corrupts nothing and recovers by itself", async () => {
    // a token whose first use is recorded by JupyterHub (a write while it checks who is asking)
    const token = (
      await api.hub(`/users/${encodeURIComponent(running)}/tokens`, { method: "POST", body: JSON.stringify({ expires_in: 3600 }) })
    ).token;
    const asUser = new HubApi({ ...api.env, token });
    const logLines = (await containerLogs(disk.hub)).split("\n").length;
    disk.fill();
    await waitFor(
      "the hub's log to say that its data volume is full",
      async () => ((await hubSays(disk.hub, /data volume .* is full/, logLines)) ? true : undefined),
      20_000,
    );

    // signed-in users, API clients and running servers keep working
    assert.equal(await admin.whoami(), process.env.E2E_ADMIN_USER ?? "e2e-admin", "the admin's session");
    const home = await admin.get("/hub/home");
    assert.equal(home.status, 200);
    assert.equal((await asUser.hub("/user")).name, running, "a user's token, used for the first time");
    assert.equal((await api.user(running)).servers[""].ready, true);
    assert.equal(
      (await api.putFile(running, "during-full-disk.txt", "saved in the user's home")).status,
      201,
      "the user's server saves files",
    );
    assert.equal(await api.getFile(running, "during-full-disk.txt"), "saved in the user's home");

    // changes are refused before anything is done, with the reason
    const start = await api.request(`/hub/api/users/${encodeURIComponent(idle)}/server`, { method: "POST", body: "{}" });
    assert.equal(start.status, 503);
    assert.match((await start.json()).message, FULL);
    assert.equal(await userContainer(escapeUserName(idle)), undefined, "no container was made");
    const stop = await api.request(`/hub/api/users/${encodeURIComponent(running)}/server`, { method: "DELETE" });
    assert.equal(stop.status, 503);
    assert.equal((await userContainer(escapeUserName(running)))?.State.Running, true, "the server was not stopped");
    assert.equal(await api.getFile(running, "during-full-disk.txt"), "saved in the user's home", "and answers through the proxy");
    const signIn = await new BrowserSession().login(process.env.E2E_ADMIN_USER ?? "e2e-admin", process.env.E2E_ADMIN_PASSWORD!);
    assert.equal(signIn.status, 503);
    assert.match(signIn.text, FULL, "the login page says why");

    // space back: changes are accepted again, without a restart
    const hubPid = (await docker.getContainer(disk.hub).inspect()).State.Pid;
    disk.free();
    await waitFor(
      "the hub's log to say that space is back",
      async () => ((await hubSays(disk.hub, /has space again/, logLines)) ? true : undefined),
      20_000,
    );
    await api.startServer(idle);
    await api.stopServer(running);
    assert.equal(await userContainer(escapeUserName(running)), undefined);
    const again = new BrowserSession();
    await again.login(process.env.E2E_ADMIN_USER ?? "e2e-admin", process.env.E2E_ADMIN_PASSWORD!);
    assert.equal(await again.whoami(), process.env.E2E_ADMIN_USER ?? "e2e-admin");
    assert.equal((await docker.getContainer(disk.hub).inspect()).State.Pid, hubPid, "the hub did not restart");

    // nothing corrupt
    const check = await dockerExec(disk.hub, [
      "python3",
      "-c",
      `import sqlite3; print(sqlite3.connect("${hubPaths.data}/${hubPaths.sqliteFile}").execute("pragma integrity_check").fetchone()[0])`,
    ]);
    assert.equal(check.trim(), "ok");
  });
});
