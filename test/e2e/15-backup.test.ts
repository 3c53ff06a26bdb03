/**
 * Backups and restores on the real engine, round trip: `npm run backup` and `npm run restore` as an
 * operator runs them, against a stack of their own (Pulumi.e2e-backup.yaml, prefix gmap-bak, port
 * 18020) deployed with the real `pulumi up`.
 *
 * Three users with files (ada, also in a team's project folder; zoe.d@lab, whose name the hub
 * escapes and whose files and folders have non-ASCII names: the hub's user-name rule refuses
 * non-ASCII user names, see components/identity.ts userNameRule; and grace, a native account with a
 * password), files in the shared and the per-user storage and in the curated area an admin writes,
 * servers running. A backup while everything runs; restores
 * refused while volumes are in use and when a file does not match the manifest; a backup refused
 * where one exists; one user restored after losing files; the whole stack restored over its volumes
 * with the hub stopped; a lost host (every container, network, volume and the hub image gone, the
 * Pulumi state kept: restore, then `pulumi up --refresh` as docs/operations.md says); then `pulumi destroy`,
 * every volume of the stack deleted, the whole stack restored and deployed again: the accounts, the
 * logins (grace's and the admin's passwords), every file and every checksum are back. Skipped against a hub deployed
 * elsewhere; removes everything, volumes included, at the end.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { escapeUserName } from "../../components/identity";
import { labelKeys } from "../../components/names";
import { backupDirName, type Manifest } from "../../ops/backups/manifest";
import { artifactsDir } from "./artifacts";
import { BrowserSession } from "./browser-session";
import { npmRun, show } from "./commands";
import { demux, docker, requireEngine, stackVolumes as prefixedVolumes, waitForHealthyHub } from "./engine";
import { HubApi } from "./hub-api";
import type { HubEnv } from "./hub-env";
import { destroy, ensureStack, output, pulumi, stackHub, up, upOk } from "./pulumi";
import { removeStack } from "./remove-stack";
import { stackSkip as skip } from "./stack";
import { readFiles, sha256, writeFiles } from "./user-files";
import { shellOnVolume, volumeFingerprint } from "./volume-helpers";
import { waitForHub } from "./wait";

const STACK = "e2e-backup";
const PREFIX = "gmap-bak";
const ADMIN = "bak-admin";
const PASSWORD = "Backup-Passw0rd-2026";
/** ada and zoe are made through the API, grace signs up with a password and an admin authorizes her. */
const USERS = ["ada", "zoe.d@lab", "grace"] as const;
const NATIVE = "grace";

/** What a volume holds (volume-helpers.ts), read by a helper labelled with the stack's prefix. */
const fingerprint = (volume: string, without: readonly string[] = []) => volumeFingerprint(volume, PREFIX, without);

const stackVolumes = () => prefixedVolumes(PREFIX);

describe("backups and restores (own stack Pulumi.e2e-backup.yaml)", { skip }, () => {
  let env: HubEnv;
  let api: HubApi;
  let adminPassword = "";
  let work = "";
  let backup = "";
  let manifest: Manifest;
  /** SHA-256 of each user's files, as their server wrote them. */
  const written: Record<string, Record<string, string>> = {};
  /** Fingerprints of the backed-up volumes, taken right after the backup (hub-data without the live database). */
  let baseline: Record<string, string> = {};
  let usersBefore: { name: string; admin: boolean }[] = [];

  const backedUp = () => manifest.items.filter((i) => i.kind !== "database").map((i) => i.volume);
  const hubData = `${PREFIX}-hub-data`;

  async function users(): Promise<{ name: string; admin: boolean }[]> {
    const list = (await api.hub("/users")) as { name: string; admin: boolean }[];
    return list.map((u) => ({ name: u.name, admin: u.admin })).sort((a, b) => a.name.localeCompare(b.name));
  }

  async function fingerprints(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const v of backedUp()) out[v] = await fingerprint(v, v === hubData ? ["./jupyterhub.sqlite"] : []);
    return out;
  }

  async function login(name: string, password: string): Promise<string | undefined> {
    const s = new BrowserSession(env);
    await s.login(name, password);
    return s.whoami();
  }

  before(
    async () => {
      await requireEngine();
      work = fs.mkdtempSync(path.join(os.tmpdir(), "gmap-backup-e2e-"));
      await removeStack(STACK);
      await ensureStack(STACK);
      await upOk({ stack: STACK });
      env = await stackHub({ stack: STACK });
      await waitForHub(env.url);
      api = new HubApi(env);
      adminPassword = ((await output("adminPasswords", { stack: STACK })) as Record<string, string>)[ADMIN]!;
      assert.ok(adminPassword, "the deployment generated the admin's password");
    },
    { timeout: 20 * 60_000 },
  );

  after(
    async () => {
      fs.mkdirSync(artifactsDir, { recursive: true });
      try {
        const logs = (await docker.getContainer(`${PREFIX}-hub`).logs({ stdout: true, stderr: true, tail: 2000 })) as unknown as Buffer;
        fs.writeFileSync(path.join(artifactsDir, `${PREFIX}-hub.log`), demux(logs));
      } catch {
        // no hub container (the test stopped before deploying or after destroying)
      }
      if (work) fs.rmSync(work, { recursive: true, force: true });
      const problems = await removeStack(STACK);
      assert.deepEqual(problems, [], "the stack and its volumes are removed");
    },
    { timeout: 10 * 60_000 },
  );

  it("three users (one native with a password) write files while their servers run", { timeout: 10 * 60_000 }, async () => {
    const refused = await api.request(`/hub/api/users/${encodeURIComponent("zoë")}`, { method: "POST", body: "{}" });
    await refused.arrayBuffer();
    assert.equal(refused.status, 400, "non-ASCII user names are refused by the hub's rule; zoe's files carry them instead");

    const grace = new BrowserSession(env);
    const signup = await grace.signUp(NATIVE, PASSWORD);
    assert.equal(signup.status, 200);
    const admin = new BrowserSession(env);
    await admin.login(ADMIN, adminPassword);
    assert.equal(await admin.whoami(), ADMIN);
    await admin.authorize(NATIVE);
    await grace.login(NATIVE, PASSWORD);
    assert.equal(await grace.whoami(), NATIVE, "grace logs in with her password");

    for (const user of USERS) if (user !== NATIVE) await api.createUser(user);
    await Promise.all(USERS.map((u) => api.startServer(u)));
    for (const user of USERS) written[user] = JSON.parse(await api.runPython(user, writeFiles(user)));
    // the team's project folder (ada is the member) and the curated area (admins write it)
    assert.match(await api.runPython("ada", "open('/home/jovyan/project/plan.txt', 'w').write('stereo pairs'); print('ok')"), /ok/);
    await api.waitReady(ADMIN);
    assert.match(await api.runPython(ADMIN, "open('/mnt/curated/readme.txt', 'w').write('curated'); print('ok')"), /ok/);
    usersBefore = await users();
    assert.deepEqual(
      usersBefore.map((u) => u.name),
      ["ada", ADMIN, "grace", "zoe.d@lab"],
    );
  });

  it("backs up the running stack: database, hub data, shared and per-user volumes, with a manifest", { timeout: 10 * 60_000 }, async () => {
    const run = await npmRun("backup", [STACK, "--to", path.join(work, "backups")]);
    assert.equal(run.code, 0, show(run));
    const dirs = fs.readdirSync(path.join(work, "backups"));
    assert.equal(dirs.length, 1, `one backup directory: ${dirs.join(", ")}`);
    assert.match(dirs[0]!, /^e2e-backup-\d{8}T\d{6}Z$/);
    backup = path.join(work, "backups", dirs[0]!);
    manifest = JSON.parse(fs.readFileSync(path.join(backup, "manifest.json"), "utf8"));
    baseline = await fingerprints();

    assert.equal(manifest.stack, STACK);
    assert.equal(manifest.prefix, PREFIX);
    assert.equal(manifest.jupyterhubVersion, "5.5.1");
    assert.equal(manifest.image, `${PREFIX}-hub:local`, "the helper is the stack's own hub image");
    const summary = manifest.items.map((i) => `${i.kind} ${i.volume}${i.user ? ` ${i.user}` : ""}`);
    const perUser = (user: string) => [
      `user ${PREFIX}-scratch-${escapeUserName(user)} ${user}`,
      `user ${PREFIX}-user-${escapeUserName(user)} ${user}`,
    ];
    assert.deepEqual(summary, [
      `database ${hubData}`,
      `hub-data ${hubData}`,
      // a team's folder and a curated area are backed up like any shared volume
      `shared ${PREFIX}-curated`,
      `shared ${PREFIX}-project`,
      `shared ${PREFIX}-shared`,
      ...perUser("ada"),
      ...perUser(ADMIN), // logging in spawned the admin's server, as for any user
      ...perUser("grace"),
      ...perUser("zoe.d@lab"),
    ]);
    assert.ok(summary.includes(`user ${PREFIX}-user-zoe-2ed-40lab zoe.d@lab`), "the escaped volume name maps back to the hub user");
    assert.deepEqual(manifest.skipped, [
      { volume: `${PREFIX}-archive`, reason: "read-only storage archive (a data archive; --include-readonly backs it up)" },
    ]);
    const database = manifest.items[0]!;
    assert.equal(database.engine, "sqlite");
    assert.equal(database.users, 4);
    assert.match(database.schemaRevision ?? "", /^[0-9a-f]{12}$/);

    // one progress line per item, and every file is what the manifest says
    const lines = run.stdout.split("\n");
    for (const [i, item] of manifest.items.entries()) {
      assert.ok(
        lines.some((l) => l.startsWith(`[${i + 1}/${manifest.items.length}] `) && l.includes(item.volume)),
        `a progress line for ${item.volume}:\n${run.stdout}`,
      );
      const file = path.join(backup, item.file);
      assert.equal(fs.statSync(file).size, item.bytes, item.file);
      assert.equal(await sha256(file), item.sha256, item.file);
    }
    assert.match(run.stdout, /^skipped gmap-bak-archive: read-only storage/m);
    const ada = manifest.items.find((i) => i.volume === `${PREFIX}-user-ada`)!;
    assert.ok(ada.contentBytes > 1 << 20, "ada's blob is in her archive");
    assert.equal(ada.labels?.[labelKeys.component], "user", "the volume's labels are kept to create it again");

    // nothing changed while the backup ran (so the fingerprints are the backup's content)
    assert.deepEqual(await fingerprints(), baseline);
    assert.match(baseline[`${PREFIX}-user-zoe-2ed-40lab`]!, /\.\/work\/données\/Ωmega-zoë\.txt\|regular file\|1000:100\|644\|/);
  });

  it("refuses to write a backup where one exists", { timeout: 5 * 60_000 }, async () => {
    const to = path.join(work, "taken");
    const now = Date.now();
    // every name the backup could take within the next two minutes
    for (let s = -2; s <= 120; s++) fs.mkdirSync(path.join(to, backupDirName(STACK, new Date(now + s * 1000))), { recursive: true });
    const taken = fs.readdirSync(to).sort();
    const run = await npmRun("backup", [STACK, "--to", to]);
    assert.equal(run.code, 1, show(run));
    assert.match(run.stderr, /exists; a backup is never overwritten/);
    assert.deepEqual(fs.readdirSync(to).sort(), taken, "nothing added or removed");
    for (const d of taken) assert.deepEqual(fs.readdirSync(path.join(to, d)), [], `${d} untouched`);
  });

  it("refuses to restore over volumes in use, and says which servers and the hub to stop", { timeout: 5 * 60_000 }, async () => {
    const one = await npmRun("restore", [STACK, backup, "--user", "zoe.d@lab"]);
    assert.equal(one.code, 1, show(one));
    assert.match(one.stderr, /refusing to overwrite volumes in use/);
    assert.match(one.stderr, /gmap-bak-user-zoe-2ed-40lab.*in use by the server of zoe\.d@lab/);
    assert.match(one.stderr, /\/hub\/admin \(Stop Server for zoe\.d@lab\), or docker stop gmap-bak-user-zoe-2ed-40lab/);
    assert.match(one.stderr, /Nothing was restored/);

    const all = await npmRun("restore", [STACK, backup]);
    assert.equal(all.code, 1, show(all));
    assert.match(all.stderr, /gmap-bak-hub-data: in use by the hub \(gmap-bak-hub\)/);
    assert.match(all.stderr, /docker stop gmap-bak-hub/);
    for (const user of USERS) assert.match(all.stderr, new RegExp(`the server of ${user.replace(/\./g, "\\.")}`));
    assert.deepEqual(await fingerprints(), baseline, "nothing was touched");
  });

  it("refuses a backup whose files do not match the manifest, before anything else", { timeout: 5 * 60_000 }, async () => {
    const copy = path.join(work, "tampered");
    fs.cpSync(backup, copy, { recursive: true });
    const item = manifest.items.find((i) => i.volume === `${PREFIX}-user-ada`)!;
    const file = path.join(copy, item.file);
    const bytes = fs.readFileSync(file);
    const at = bytes.length >> 1;
    bytes[at] = bytes[at]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    const run = await npmRun("restore", [STACK, copy, "--user", "ada"]);
    assert.equal(run.code, 1, show(run));
    assert.match(run.stderr, /does not match its manifest; nothing was restored/);
    assert.match(run.stderr, new RegExp(`${item.file}: SHA-256 [0-9a-f]{64}, the manifest says ${item.sha256}`));
  });

  it("restores one user whose server is stopped, and only that user", { timeout: 5 * 60_000 }, async () => {
    await api.stopServer("ada");
    // ada loses her work
    await shellOnVolume(`${PREFIX}-user-ada`, PREFIX, "wipe", "rm -rf /v/work && echo oops > /v/mistake.txt");
    assert.notEqual(await fingerprint(`${PREFIX}-user-ada`), baseline[`${PREFIX}-user-ada`]);

    const run = await npmRun("restore", [STACK, backup, "--user", "ada"]);
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /\[1\/2\] gmap-bak-scratch-ada \(user ada, storage scratch\)/);
    assert.match(run.stdout, /\[2\/2\] gmap-bak-user-ada \(user ada\)/);
    assert.match(run.stdout, /ada can start their server again/);
    assert.deepEqual(await fingerprints(), baseline, "ada's volumes are as backed up, the others untouched");

    await api.startServer("ada");
    assert.deepEqual(JSON.parse(await api.runPython("ada", readFiles(Object.keys(written.ada!)))), written.ada);
  });

  it("restores the whole stack over its volumes once the servers and the hub are stopped", { timeout: 10 * 60_000 }, async () => {
    await Promise.all([...USERS, ADMIN].map((u) => api.stopServer(u)));
    const hub = docker.getContainer(`${PREFIX}-hub`);
    await hub.stop();
    const run = await npmRun("restore", [STACK, backup]);
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /with the helper image gmap-bak-hub:local/);
    assert.doesNotMatch(run.stdout, /into a new volume/);
    assert.deepEqual(await fingerprints(), baseline);
    await hub.start();
    await waitForHealthyHub(env.url, `${PREFIX}-hub`);
    assert.equal(await login(NATIVE, PASSWORD), NATIVE, "grace logs in with her password");
    await api.startServer("zoe.d@lab");
    assert.deepEqual(JSON.parse(await api.runPython("zoe.d@lab", readFiles(Object.keys(written["zoe.d@lab"]!)))), written["zoe.d@lab"]);
  });

  it(
    "a lost host: with the Pulumi state kept and everything on the host gone, restore, then pulumi up --refresh",
    { timeout: 10 * 60_000 },
    async () => {
      const ours = { filters: { label: [`${labelKeys.prefix}=${PREFIX}`] } };
      for (const c of await docker.listContainers({ all: true, ...ours })) await docker.getContainer(c.Id).remove({ force: true });
      for (const n of await docker.listNetworks(ours)) await docker.getNetwork(n.Id).remove();
      for (const v of await stackVolumes()) await docker.getVolume(v).remove();
      await docker.getImage(`${PREFIX}-hub:local`).remove();

      const run = await npmRun("restore", [STACK, backup]);
      assert.equal(run.code, 0, show(run));
      assert.deepEqual(await fingerprints(), baseline);
      // the command of docs/operations.md: the refresh finds the containers gone; the built hub image must be named
      const image = `urn:pulumi:${STACK}::jupyterhub::jupyterhub:index:JupyterHub$jupyterhub:docker:Hub$docker:index/image:Image::jupyterhub-hub-image`;
      const redeploy = await pulumi(["up", "--yes", "--skip-preview", "--refresh", "--replace", image, "--stack", STACK]);
      assert.equal(redeploy.code, 0, `pulumi up --refresh:\n${(redeploy.stdout + redeploy.stderr).slice(-6000)}`);
      await waitForHealthyHub(env.url, `${PREFIX}-hub`);
      assert.deepEqual(await users(), usersBefore);
      assert.equal(await login(ADMIN, adminPassword), ADMIN, "the same state, the same admin password");
      await api.startServer("grace");
      assert.deepEqual(JSON.parse(await api.runPython("grace", readFiles(Object.keys(written.grace!)))), written.grace);
    },
  );

  it(
    "after pulumi destroy and deleting every volume, restores the whole stack and deploys it again",
    { timeout: 20 * 60_000 },
    async () => {
      const d = await destroy({ stack: STACK });
      assert.equal(d.code, 0, `pulumi destroy:\n${(d.stdout + d.stderr).slice(-4000)}`);
      for (const v of await stackVolumes()) await docker.getVolume(v).remove();
      assert.deepEqual(await stackVolumes(), [], "every volume of the stack is gone");
      assert.deepEqual(await docker.listContainers({ all: true, filters: { label: [`${labelKeys.prefix}=${PREFIX}`] } }), []);

      const run = await npmRun("restore", [STACK, backup]);
      assert.equal(run.code, 0, show(run));
      assert.match(
        run.stdout,
        /with the helper image localhost\/jupyterhub:5\.5\.1/,
        "the hub image is gone with the stack: its base image serves",
      );
      const n = manifest.items.length;
      for (let i = 1; i <= n; i++) assert.match(run.stdout, new RegExp(`^\\[${i}/${n}\\] `, "m"));
      assert.match(run.stdout, /Start the hub: docker start gmap-bak-hub \(or pulumi up/);
      assert.deepEqual(await stackVolumes(), [...new Set(backedUp())].sort(), "the backed-up volumes are back (not the skipped archive)");

      // every file and checksum is back; the database is the backup's copy, byte for byte
      assert.deepEqual(await fingerprints(), baseline);
      const db = manifest.items.find((i) => i.kind === "database")!;
      const copySha = createHash("sha256")
        .update(gunzipSync(fs.readFileSync(path.join(backup, db.file))))
        .digest("hex");
      assert.match(await fingerprint(hubData), new RegExp(`^${copySha}  \\./jupyterhub\\.sqlite$`, "m"));
      const restoredLabels = (await docker.getVolume(`${PREFIX}-user-grace`).inspect()).Labels;
      assert.equal(restoredLabels?.[labelKeys.component], "user", "a restored user volume has its labels again");

      const redeploy = await up({ stack: STACK });
      assert.equal(redeploy.code, 0, `pulumi up after the restore:\n${(redeploy.stdout + redeploy.stderr).slice(-6000)}`);
      env = await stackHub({ stack: STACK });
      api = new HubApi(env);
      await waitForHub(env.url);

      assert.deepEqual(await users(), usersBefore, "every account is back, admin flags included");
      assert.equal(await login(NATIVE, PASSWORD), NATIVE, "grace logs in with her password");
      assert.equal(await login(NATIVE, "Wrong-Passw0rd-2026"), undefined);
      // the restored database keeps the admin's account and password from the time of the backup
      assert.equal(await login(ADMIN, adminPassword), ADMIN, "the admin logs in with the password of the backup's time");
      await Promise.all(USERS.map((u) => api.startServer(u)));
      for (const user of USERS) {
        assert.deepEqual(JSON.parse(await api.runPython(user, readFiles(Object.keys(written[user]!)))), written[user], `${user}'s files`);
      }
      const shared = await api.runPython("ada", "import os; print(sorted(os.listdir('/home/jovyan/shared')))");
      assert.equal(shared.trim(), `['from-ada.txt', 'from-grace.txt', 'from-zoe.d@lab.txt']`);
      await Promise.all(USERS.map((u) => api.stopServer(u)));
    },
  );
});
