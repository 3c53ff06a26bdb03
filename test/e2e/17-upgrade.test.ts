/**
 * Upgrading JupyterHub with `pulumi up`, on its own stack (Pulumi.e2e-upgrade.yaml, prefix
 * gmap-upg-up, port 18030): deployed first at an older JupyterHub 5.x (an edited copy of the stack
 * file whose hub.baseImage is the stand-in HUB_BASE_PREVIOUS of test/infra/standins.sh), with users, a
 * native account, a running server and a file; then `pulumi up` with the stack file as it is (the
 * pinned JupyterHub): the plan rebuilds the hub image and replaces the hub container, nothing else;
 * the database is at the new JupyterHub's schema (a SQLite backup file is left exactly when a
 * migration was needed); users, the running server, the login and the file survive. A base image
 * of the next major JupyterHub (HUB_BASE_NEXT) is refused by the image build without touching the
 * running hub. Then a rollback to the older version the same way. Removes everything, volumes included, at the end.
 * Skipped against a hub deployed elsewhere.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { escapeUserName } from "../../components/identity";
import { saveContainerLogs } from "./artifacts";
import { BrowserSession } from "./browser-session";
import { dockerExec, inspectContainer, userContainer, waitForHealthy } from "./engine";
import { HubApi } from "./hub-api";
import type { HubEnv } from "./hub-env";
import { ensureStack, output, preview, stackHub, up as pulumiUp, upOk } from "./pulumi";
import { removeStack } from "./remove-stack";
import { editedStackFile, projectDir, stackSkip as skip } from "./stack";
import { waitForHub } from "./wait";

const STACK = "e2e-upgrade";
const PREFIX = "gmap-upg-up";
const HUB = `${PREFIX}-hub`;
const ADMIN = "up-admin";
const WORKER = "up-worker";
const PERSON = "up-person";
const PASSWORD = "Up-Person-Passw0rd";
const DATA = "/srv/jupyterhub/data";

/** A hub base stand-in of test/infra/standins.sh (HUB_BASE_PREVIOUS, HUB_BASE_NEXT) and its JupyterHub version. */
function standIn(key: string): { image: string; version: string } {
  const lines = execFileSync("bash", ["test/infra/standins.sh", "--print"], { cwd: projectDir, encoding: "utf8" });
  const image = new RegExp(`^${key}=(.+)$`, "m").exec(lines)![1]!;
  return { image, version: image.split(":").pop()! };
}
/** The older JupyterHub the scenario starts from. */
const previous = standIn("HUB_BASE_PREVIOUS");
/** The next major JupyterHub, which the hub image refuses (docs/operations.md, "Upgrading"). */
const next = standIn("HUB_BASE_NEXT");

/** The stack file with the older base image: what the operator ran before the upgrade. */
const olderStackFile = () =>
  editedStackFile((config) => {
    config["jupyterhub:hub"].baseImage = previous.image;
  }, STACK);

async function up(configFile?: string): Promise<HubEnv> {
  await upOk({ stack: STACK, ...(configFile ? { configFile } : {}) });
  const env = await stackHub({ stack: STACK });
  await waitForHealthy(HUB);
  await waitForHub(env.url, 60);
  return env;
}

/** The JupyterHub version of hub-config/requirements.txt. */
const pinnedVersion = () =>
  fs.readFileSync(path.join(projectDir, "hub-config", "requirements.txt"), "utf8").match(/^jupyterhub==(.+)$/m)![1]!;

/** Python in the hub container (its JupyterHub, its database file). */
const python = async (code: string) => (await dockerExec(HUB, ["python3", "-c", code])).trim();
/** The JupyterHub schema revision the hub's code expects (alembic head). */
const codeRevision = () =>
  python(
    "import os, jupyterhub; from alembic.script import ScriptDirectory; " +
      "print(ScriptDirectory(os.path.join(os.path.dirname(jupyterhub.__file__), 'alembic')).get_current_head())",
  );
/** The schema revision of the database file. */
const databaseRevision = () =>
  python(
    `import sqlite3; print(sqlite3.connect('${DATA}/jupyterhub.sqlite').execute('select version_num from alembic_version').fetchone()[0])`,
  );
/** Backup files JupyterHub's upgrade-db made beside the database (jupyterhub.sqlite.<timestamp>). */
const backups = async () =>
  (await dockerExec(HUB, ["ls", "-A", DATA]))
    .split("\n")
    .filter((f) => f.startsWith("jupyterhub.sqlite."))
    .sort();

describe(
  `Upgrading JupyterHub ${previous.version} to the pinned version with pulumi up (own stack Pulumi.e2e-upgrade.yaml)`,
  { skip },
  () => {
    let env: HubEnv;
    let api: HubApi;
    let person: BrowserSession;
    let serverId = "";
    const before_ = { revision: "", hub: "" };

    before(
      async () => {
        await removeStack(STACK);
        await ensureStack(STACK);
        env = await up(olderStackFile());
        api = new HubApi(env);
      },
      { timeout: 20 * 60_000 },
    );

    after(
      async () => {
        await saveContainerLogs([HUB]);
        const problems = await removeStack(STACK);
        assert.deepEqual(problems, [], "the stack and its volumes are removed");
      },
      { timeout: 10 * 60_000 },
    );

    it(`the older hub runs JupyterHub ${previous.version} (its base image's, not the pinned one)`, async () => {
      assert.equal((await api.hub<{ version: string }>("")).version, previous.version);
      assert.equal(await python("import jupyterhub; print(jupyterhub.__version__)"), previous.version);
    });

    it("users, a native account, a running server and a file exist before the upgrade", async () => {
      await api.createUser(WORKER);
      await api.startServer(WORKER);
      assert.equal((await api.putFile(WORKER, "before-upgrade.txt", "written under the older hub")).status, 201);
      serverId = (await userContainer(escapeUserName(WORKER), STACK))!.Id;
      person = new BrowserSession(env);
      assert.equal((await person.signUp(PERSON, PASSWORD)).status, 200);
      const admin = new BrowserSession(env);
      await admin.login(ADMIN, ((await output("adminPasswords", { stack: STACK })) as Record<string, string>)[ADMIN]!);
      assert.equal(await admin.whoami(), ADMIN);
      await admin.authorize(PERSON);
      await person.login(PERSON, PASSWORD);
      assert.equal(await person.whoami(), PERSON);
      before_.revision = await databaseRevision();
      assert.equal(before_.revision, await codeRevision(), "the older hub's database is at its own schema");
      before_.hub = (await inspectContainer(HUB)).Id;
    });

    it("the upgrade plans a new hub image and a replaced hub container, nothing else", async () => {
      const p = await preview({ stack: STACK });
      assert.equal(p.code, 0, p.stdout + p.stderr);
      const changes = p.changes.map((s) => `${s.op} ${s.type} ${s.name}`).sort();
      assert.deepEqual(changes, [
        "replace docker:index/container:Container jupyterhub-hub",
        "update docker:index/image:Image jupyterhub-hub-image",
      ]);
    });

    it("pulumi up upgrades: database at the new schema (backed up when migrated); users, server, login and file survive", async () => {
      env = await up();
      assert.notEqual((await inspectContainer(HUB)).Id, before_.hub, "the hub container was replaced");
      const pinned = fs.readFileSync(path.join(projectDir, "hub-config", "requirements.txt"), "utf8").match(/^jupyterhub==(.+)$/m)![1]!;
      assert.equal((await api.hub<{ version: string }>("")).version, pinned);
      const revision = await codeRevision();
      assert.equal(await databaseRevision(), revision, "the database is at the new JupyterHub's schema");
      const files = await backups();
      if (revision === before_.revision) {
        assert.deepEqual(files, [], "no migration was needed (same schema): no backup file");
      } else {
        assert.equal(files.length, 1, `one backup of the database before the migration: ${files}`);
        const old = await python(
          `import sqlite3; print(sqlite3.connect('${DATA}/${files[0]}').execute('select version_num from alembic_version').fetchone()[0])`,
        );
        assert.equal(old, before_.revision, "the backup holds the database as it was");
      }
      assert.equal((await userContainer(escapeUserName(WORKER), STACK))!.Id, serverId, "the running server was not restarted");
      assert.equal((await api.user(WORKER)).servers[""]?.ready, true);
      assert.equal(await api.getFile(WORKER, "before-upgrade.txt"), "written under the older hub");
      assert.equal(await person.whoami(), PERSON, "still logged in after the upgrade");
      const again = new BrowserSession(env);
      await again.login(PERSON, PASSWORD);
      assert.equal(await again.whoami(), PERSON, "the native account logs in with its password");
      const quiet = await preview({ stack: STACK });
      assert.deepEqual(
        quiet.changes.map((s) => `${s.op} ${s.type} ${s.name}`),
        [],
        "pulumi preview after the upgrade plans no change",
      );
    });

    it(`a base image of JupyterHub ${next.version} is refused by the image build; the running hub is untouched`, async () => {
      const hubBefore = (await inspectContainer(HUB)).Id;
      const run = await pulumiUp({
        stack: STACK,
        configFile: editedStackFile((config) => {
          config["jupyterhub:hub"].baseImage = next.image;
        }, STACK),
      });
      assert.notEqual(run.code, 0, "pulumi up fails");
      const refusal = `hub.baseImage has JupyterHub ${next.version}, but this hub supports JupyterHub ${pinnedVersion().split(".")[0]}.x only`;
      assert.ok((run.stdout + run.stderr).includes(refusal), `the build says why:\n${(run.stdout + run.stderr).slice(-3000)}`);
      assert.equal((await inspectContainer(HUB)).Id, hubBefore, "the hub container was not replaced");
      assert.equal((await api.hub<{ version: string }>("")).version, pinnedVersion());
      assert.equal((await api.user(WORKER)).servers[""]?.ready, true);
      assert.equal(await person.whoami(), PERSON);
      const quiet = await preview({ stack: STACK });
      assert.deepEqual(
        quiet.changes.map((s) => `${s.op} ${s.type} ${s.name}`),
        [],
        "the failed up changed nothing: the stack file as it was plans no change",
      );
    });

    it(`rolling back to JupyterHub ${previous.version} (same schema) is the same pulumi up with the older base image`, async () => {
      assert.equal(await databaseRevision(), before_.revision, "a rollback without restoring the backup needs the same schema");
      env = await up(olderStackFile());
      assert.equal((await api.hub<{ version: string }>("")).version, previous.version);
      assert.equal((await api.user(WORKER)).servers[""]?.ready, true);
      assert.equal(await api.getFile(WORKER, "before-upgrade.txt"), "written under the older hub");
      assert.equal(await person.whoami(), PERSON, "still logged in after the rollback");
      await api.stopServer(WORKER);
    });
  },
);
