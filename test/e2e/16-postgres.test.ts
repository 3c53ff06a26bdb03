/**
 * The hub database in PostgreSQL (hub.database.type postgres), on its own stack
 * (Pulumi.e2e-pg.yaml, prefix gmap-upg-pg, port 18031) deployed with the real `pulumi up`: the hub
 * waits for a healthy PostgreSQL and keeps its users there; users, a native account with its
 * password, a login and a file survive a hub restart, a hub replacement, a PostgreSQL restart under
 * the running hub, and a `pulumi destroy` followed by `pulumi up` (the data volume is retained);
 * `npm run backup` dumps the database with pg_dump while the hub runs and `npm run restore` puts it
 * back with the hub stopped (a deleted native account logs in again, a later user is gone); the
 * generated password appears nowhere in plain text (state, outputs, container configuration,
 * labels, logs, the CLI's output). Removes everything, volumes included, at the end. Skipped
 * against a hub deployed elsewhere.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { labelKeys } from "../../components/names";
import type { Manifest } from "../../ops/backups/manifest";
import { saveContainerLogs } from "./artifacts";
import { BrowserSession } from "./browser-session";
import { npmRun, show } from "./commands";
import { containerLogs, docker, dockerExec, inspectContainer, waitForHealthy } from "./engine";
import { HubApi } from "./hub-api";
import type { HubEnv } from "./hub-env";
import { destroy, ensureStack, output, preview, pulumiOk, stackHub, up as pulumiUp } from "./pulumi";
import { removeStack } from "./remove-stack";
import { editedStackFile, stackSkip as skip } from "./stack";
import { waitFor, waitForHub } from "./wait";

const STACK = "e2e-pg";
const PREFIX = "gmap-upg-pg";
const HUB = `${PREFIX}-hub`;
const POSTGRES = `${PREFIX}-postgres`;
const VOLUME = `${PREFIX}-hub-postgres`;
const ADMIN = "pg-admin";
const WORKER = "pg-worker";
const PERSON = "pg-person";
const PASSWORD = "Pg-Person-Passw0rd";

/** Every `pulumi` run's output, searched for the password at the end. */
const cliOutput: string[] = [];
/** Every `npm run backup` / `npm run restore` output, searched for the password at the end. */
const toolOutput: string[] = [];

async function up(configFile?: string): Promise<HubEnv> {
  const run = await pulumiUp({ stack: STACK, ...(configFile ? { configFile } : {}) });
  cliOutput.push(run.stdout, run.stderr);
  assert.equal(run.code, 0, `pulumi up ${STACK} failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
  const env = await stackHub({ stack: STACK });
  await waitForHub(env.url);
  return env;
}

/** A SQL query as the hub's role, inside the PostgreSQL container (local connections need no password). */
async function sql(query: string): Promise<string[]> {
  const out = await dockerExec(POSTGRES, ["psql", "-U", "jupyterhub", "-d", "jupyterhub", "-tAc", query]);
  return out.split("\n").filter(Boolean);
}

describe("PostgreSQL hub database (own stack Pulumi.e2e-pg.yaml)", { skip }, () => {
  let env: HubEnv;
  let api: HubApi;
  let person: BrowserSession;

  before(
    async () => {
      await removeStack(STACK);
      await ensureStack(STACK);
      env = await up();
      api = new HubApi(env);
    },
    { timeout: 20 * 60_000 },
  );

  after(
    async () => {
      await saveContainerLogs([HUB, POSTGRES]);
      const problems = await removeStack(STACK);
      assert.deepEqual(problems, [], "the stack and its volumes are removed");
    },
    { timeout: 10 * 60_000 },
  );

  it("the hub started after a healthy PostgreSQL and keeps its database there, not in SQLite", async () => {
    const pg = await inspectContainer(POSTGRES);
    const hub = await inspectContainer(HUB);
    assert.equal(pg.State.Health?.Status, "healthy");
    assert.ok(Date.parse(hub.State.StartedAt) >= Date.parse(pg.State.StartedAt), "the hub started after PostgreSQL");
    assert.deepEqual(Object.keys(pg.NetworkSettings.Networks), [PREFIX], "PostgreSQL is on the main network only");
    assert.deepEqual(pg.NetworkSettings.Networks[PREFIX]!.Aliases?.includes("postgres"), true);
    const volume = await docker.getVolume(VOLUME).inspect();
    assert.equal(volume.Labels[labelKeys.component], "hub-postgres");
    assert.ok(pg.Mounts.some((m) => m.Name === VOLUME && m.Destination === "/var/lib/postgresql/data"));
    const data = await dockerExec(HUB, ["ls", "-A", "/srv/jupyterhub/data"]);
    assert.ok(!data.includes("jupyterhub.sqlite"), `no SQLite database in hub-data: ${data}`);
    assert.match(await containerLogs(HUB), /Connecting to db: postgresql\+psycopg2:\/\/jupyterhub:\[redacted\]@postgres:5432\/jupyterhub/);
    assert.ok((await sql("select name from users")).includes(ADMIN), "the deployment's admin is a row in PostgreSQL");
  });

  it("users, a native account, a server and a file are kept in PostgreSQL and the user volume", async () => {
    await api.createUser(WORKER);
    await api.startServer(WORKER);
    assert.equal((await api.putFile(WORKER, "keep.txt", "kept in a volume")).status, 201);
    person = new BrowserSession(env);
    assert.equal((await person.signUp(PERSON, PASSWORD)).status, 200);
    const admin = new BrowserSession(env);
    const adminPassword = ((await output("adminPasswords", { stack: STACK })) as Record<string, string>)[ADMIN]!;
    await admin.login(ADMIN, adminPassword);
    assert.equal(await admin.whoami(), ADMIN);
    await admin.authorize(PERSON);
    await person.login(PERSON, PASSWORD);
    assert.equal(await person.whoami(), PERSON);
    const users = await sql("select name from users order by name");
    for (const name of [ADMIN, PERSON, WORKER]) assert.ok(users.includes(name), `${name} in ${users}`);
    assert.deepEqual(
      await sql(`select count(*) from spawners s join users u on u.id = s.user_id where u.name = '${WORKER}' and s.server_id is not null`),
      ["1"],
    );
  });

  async function assertKept(when: string): Promise<void> {
    assert.equal((await api.user(WORKER)).servers[""]?.ready, true, `${WORKER}'s server runs ${when}`);
    assert.equal(await api.getFile(WORKER, "keep.txt"), "kept in a volume", `the file ${when}`);
    assert.equal(await person.whoami(), PERSON, `still logged in ${when}`);
    const again = new BrowserSession(env);
    await again.login(PERSON, PASSWORD);
    assert.equal(await again.whoami(), PERSON, `the native account logs in with its password ${when}`);
  }

  it("everything survives a hub restart", async () => {
    await docker.getContainer(HUB).restart({ t: 10 });
    await waitForHealthy(HUB);
    await waitForHub(env.url, 60);
    await assertKept("after a hub restart");
  });

  it("everything survives a hub replacement; PostgreSQL is kept; the next preview is quiet", async () => {
    const hubBefore = (await inspectContainer(HUB)).Id;
    const pgBefore = (await inspectContainer(POSTGRES)).Id;
    await up(
      editedStackFile((config) => {
        config["jupyterhub:spawner"].environment = { GMAP_E2E_GENERATION: "2" };
      }, STACK),
    );
    assert.notEqual((await inspectContainer(HUB)).Id, hubBefore, "the hub was replaced");
    assert.equal((await inspectContainer(POSTGRES)).Id, pgBefore, "PostgreSQL was kept");
    await waitForHealthy(HUB);
    await assertKept("after a hub replacement");
    await up();
    const p = await preview({ stack: STACK });
    cliOutput.push(p.stdout, p.stderr);
    assert.equal(p.code, 0, p.stdout + p.stderr);
    assert.deepEqual(
      p.changes.map((s) => `${s.op} ${s.type} ${s.name}`),
      [],
      "pulumi preview right after pulumi up plans no change",
    );
  });

  it("a PostgreSQL restart under a running hub: the hub reconnects, nothing is lost", async () => {
    const hubBefore = (await inspectContainer(HUB)).Id;
    await docker.getContainer(POSTGRES).restart({ t: 30 });
    await waitForHealthy(POSTGRES);
    await waitFor(
      "the hub to answer from its database again",
      async () => ((await api.request("/hub/api/users")).status === 200 ? true : undefined),
      120_000,
    );
    assert.equal((await inspectContainer(HUB)).Id, hubBefore, "the hub was not replaced");
    await assertKept("after a PostgreSQL restart");
    const probe = `pg-probe-${Date.now().toString(36)}`;
    await api.createUser(probe);
    assert.deepEqual(await sql(`select name from users where name = '${probe}'`), [probe], "the hub writes to PostgreSQL again");
  });

  it("pulumi destroy keeps the PostgreSQL volume: pulumi up again finds every user and password", async () => {
    await api.stopServer(WORKER);
    const d = await destroy({ stack: STACK });
    cliOutput.push(d.stdout, d.stderr);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    await assert.rejects(inspectContainer(POSTGRES), "the PostgreSQL container is gone");
    assert.equal((await docker.getVolume(VOLUME).inspect()).Name, VOLUME, "its data volume is kept");
    env = await up();
    api = new HubApi(env);
    const users = (await api.hub<{ name: string }[]>("/users")).map((u) => u.name);
    for (const name of [ADMIN, PERSON, WORKER]) assert.ok(users.includes(name), `${name} after destroy and up: ${users}`);
    const again = new BrowserSession(env);
    await again.login(PERSON, PASSWORD);
    assert.equal(await again.whoami(), PERSON, "the native account logs in with its password after destroy and up");
    await api.startServer(WORKER);
    assert.equal(await api.getFile(WORKER, "keep.txt"), "kept in a volume");
    await api.stopServer(WORKER);
  });

  it("npm run backup dumps the database while the hub runs; npm run restore puts it back with the hub stopped", async (t) => {
    const LATER = "pg-later";
    const to = fs.mkdtempSync(path.join(os.tmpdir(), "gmap-pg-backup-"));
    try {
      const backup = await npmRun("backup", [STACK, "--to", to]);
      toolOutput.push(backup.stdout, backup.stderr);
      assert.equal(backup.code, 0, show(backup));
      const [name] = fs.readdirSync(to);
      const dir = path.join(to, name!);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Manifest;
      const database = manifest.items.find((i) => i.kind === "database")!;
      assert.equal(database.engine, "postgres");
      assert.equal(database.format, "pg_dump-custom");
      assert.equal(database.file, "database/jupyterhub.pgdump");
      assert.equal(database.volume, VOLUME);
      assert.match(database.serverVersion ?? "", /^15\.\d+$/, "the server's version is recorded");
      assert.ok((database.users ?? 0) >= 3, `users counted: ${database.users}`);
      const dump = fs.readFileSync(path.join(dir, database.file));
      assert.equal(dump.subarray(0, 5).toString("latin1"), "PGDMP", "a pg_dump custom-format archive");
      assert.equal(dump.length, database.bytes);
      assert.ok(!manifest.items.some((i) => i.volume === VOLUME && i.kind !== "database"), "the data directory is not archived as files");
      assert.ok(!fs.existsSync(path.join(dir, "volumes", `${VOLUME}.tar.gz`)));
      assert.ok(
        manifest.skipped.some((s) => s.volume === VOLUME),
        "the data volume is listed as skipped",
      );
      for (const file of ["manifest.json", database.file, ...manifest.items.map((i) => i.file)]) {
        assert.equal(fs.statSync(path.join(dir, file)).mode & 0o777, 0o600, `${file} is its owner's only`);
      }
      assert.match(backup.stdout, /hub database \(postgres\) in gmap-upg-pg-hub-postgres/);

      // the database changes after the backup: a native account deleted, a user added
      assert.equal((await api.request(`/hub/api/users/${PERSON}`, { method: "DELETE" })).status, 204);
      await api.createUser(LATER);
      assert.deepEqual(await sql(`select name from users where name in ('${PERSON}', '${LATER}')`), [LATER]);

      const refused = await npmRun("restore", [STACK, dir]);
      toolOutput.push(refused.stdout, refused.stderr);
      assert.equal(refused.code, 1, show(refused));
      assert.match(refused.stderr, new RegExp(`docker stop ${HUB}`), "the operator is told to stop the hub");
      assert.match(refused.stderr, /Nothing was restored/);
      assert.deepEqual(await sql(`select name from users where name = '${LATER}'`), [LATER], "nothing changed");

      await docker.getContainer(HUB).stop({ t: 10 });
      const restore = await npmRun("restore", [STACK, dir]);
      toolOutput.push(restore.stdout, restore.stderr);
      assert.equal(restore.code, 0, show(restore));
      for (const line of [...backup.stdout.split("\n"), ...restore.stdout.split("\n")].filter((l) => /hub database|complete/.test(l)))
        t.diagnostic(line);
      assert.match(restore.stdout, /hub database \(postgres\) in gmap-upg-pg-hub-postgres: .* restored/);
      await docker.getContainer(HUB).start();
      await waitForHealthy(HUB);
      await waitForHub(env.url, 60);

      const users = (await api.hub<{ name: string }[]>("/users")).map((u) => u.name);
      assert.ok(users.includes(PERSON), `the deleted account is back: ${users}`);
      assert.ok(!users.includes(LATER), `the user made after the backup is gone: ${users}`);
      const again = new BrowserSession(env);
      await again.login(PERSON, PASSWORD);
      assert.equal(await again.whoami(), PERSON, "the restored native account logs in with its password");
    } finally {
      fs.rmSync(to, { recursive: true, force: true });
    }
  });

  it("the generated password appears nowhere in plain text", async () => {
    const secrets = JSON.parse(await dockerExec(HUB, ["cat", "/srv/jupyterhub/secrets.json"])) as { databasePassword?: string };
    const password = secrets.databasePassword;
    assert.ok(password && password.length >= 32, "the hub has the generated password in secrets.json");
    const mode = (await dockerExec(HUB, ["stat", "-c", "%a", "/srv/jupyterhub/secrets.json"])).trim();
    assert.equal(mode, "600");
    const places: Record<string, string> = {
      "pulumi stack export": (await pulumiOk(["stack", "export", "--stack", STACK])).stdout,
      "pulumi stack output": (await pulumiOk(["stack", "output", "--json", "--stack", STACK])).stdout,
      "the CLI's output": cliOutput.join("\n"),
      "npm run backup / restore": toolOutput.join("\n"),
      "docker inspect": JSON.stringify([
        await inspectContainer(HUB),
        await inspectContainer(POSTGRES),
        await docker.getVolume(VOLUME).inspect(),
      ]),
      "the hub's log": await containerLogs(HUB),
      "PostgreSQL's log": await containerLogs(POSTGRES),
      "settings.json": await dockerExec(HUB, ["cat", "/srv/jupyterhub/settings.json"]),
    };
    for (const [where, text] of Object.entries(places)) {
      assert.ok(text.length > 0, `${where} is empty`);
      assert.ok(!text.includes(password), `the password appears in ${where}`);
    }
    assert.match(places["pulumi stack export"]!, /"ciphertext"/, "the state holds secrets encrypted");
  });
});
