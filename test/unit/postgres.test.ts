/** The optional PostgreSQL hub database (hub.database): config, settings, and what the program declares. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runProgram } from "./run-program";
import { ConfigError, parseConfig } from "../../components/config";
import { postgresEntrypoint, postgresEnvs, postgresHealthcheck } from "../../components/containers";
import { names } from "../../components/names";
import { databaseSettings, hubSecrets, hubSettings } from "../../components/settings";
import { defaultImages } from "../../components/versions";

const withPostgres = { "jupyterhub:hub": JSON.stringify({ database: { type: "postgres" } }) };

const generated = {
  cookieSecret: "0".repeat(64),
  proxyAuthToken: "proxy",
  cullerToken: "culler",
  serviceTokens: {},
  adminPasswordHashes: {},
  databasePassword: "pg-secret",
};

function problems(raw: Record<string, unknown>): readonly string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("hub.database config", () => {
  it("defaults to SQLite, and the official postgres image pinned in versions.json for postgres", () => {
    assert.deepEqual(parseConfig({}).hub.database, { type: "sqlite", image: defaultImages.postgres });
    assert.match(defaultImages.postgres, /^docker\.io\/library\/postgres:\d+\.\d+-bookworm$/);
    assert.equal(parseConfig({ hub: { database: { type: "postgres" } } }).hub.database.type, "postgres");
  });

  it("reports wrong values by key", () => {
    assert.deepEqual(problems({ hub: { database: { type: "mysql" } } }), [
      'jupyterhub:hub.database.type: hub.database.type must be "sqlite" or "postgres"',
    ]);
    assert.deepEqual(problems({ hub: { database: { type: "postgres", password: "x" } } }), [
      "jupyterhub:hub.database.password: unknown key (check the spelling against the config reference)",
    ]);
    const [untagged] = problems({ hub: { database: { type: "postgres", image: "postgres" } } });
    assert.match(untagged!, /^jupyterhub:hub\.database\.image: must pin a tag or digest/);
  });
});

describe("hub.database settings", () => {
  it("SQLite: settings.json and secrets.json stay exactly as before (no database, no password)", () => {
    const config = parseConfig({ prefix: "gmap-x" });
    assert.equal(databaseSettings(config), undefined);
    assert.ok(!("database" in JSON.parse(JSON.stringify(hubSettings(config, "s", {}, {}).hub))));
    assert.equal(hubSecrets(config, generated).databasePassword, undefined);
  });

  it("PostgreSQL: the hub finds the server by its alias and gets the password in secrets.json only", () => {
    const config = parseConfig({ prefix: "gmap-x", hub: { database: { type: "postgres" } } });
    const settings = hubSettings(config, "s", {}, {});
    assert.deepEqual(settings.hub.database, { type: "postgres", host: "postgres", port: 5432, name: "jupyterhub", user: "jupyterhub" });
    assert.ok(!JSON.stringify(settings).includes("pg-secret"));
    assert.equal(hubSecrets(config, generated).databasePassword, "pg-secret");
  });

  it("the container's environment names the password file, never a password; the healthcheck needs TCP", () => {
    assert.deepEqual(postgresEnvs(), [
      "POSTGRES_USER=jupyterhub",
      "POSTGRES_DB=jupyterhub",
      "POSTGRES_PASSWORD_FILE=/run/secrets/gmap-postgres-password",
    ]);
    const health = postgresHealthcheck();
    assert.equal(health.tests[0], "CMD-SHELL");
    assert.match(health.tests[1]!, /^test -f \/run\/gmap-postgres-password-set && pg_isready --quiet -h 127\.0\.0\.1 /);
    assert.equal(health.startPeriod, "2m0s");
  });

  it("the container starts the image's entrypoint and sets the role's password from the file, never from a command line", () => {
    const [sh, flag, script, name] = postgresEntrypoint();
    assert.deepEqual([sh, flag, name], ["sh", "-c", "gmap-postgres"]);
    assert.match(script!, /^docker-entrypoint\.sh postgres &$/m);
    assert.match(script!, /^\\set pw `cat \/run\/secrets\/gmap-postgres-password`$/m);
    assert.match(script!, /^ALTER ROLE jupyterhub PASSWORD :'pw';$/m);
    assert.match(script!, /trap 'kill -INT "\$pid" 2>\/dev\/null' INT TERM/);
  });

  it("its volume is one of the stack's reserved hub-* names, which no storage mount can take", () => {
    assert.equal(names("gmap-x").postgresVolume, "gmap-x-hub-postgres");
    assert.match(problems({ storage: [{ name: "hub-postgres", source: { type: "volume" }, mountPath: "/mnt/x" }] })[0]!, /reserved/);
  });
});

describe("the program with hub.database", () => {
  it("SQLite (the default, or said explicitly) declares exactly the resources it declared before", () => {
    const implicit = runProgram("dev");
    const explicit = runProgram("dev", { "jupyterhub:hub": JSON.stringify({ database: { type: "sqlite" } }) });
    assert.deepEqual(explicit.resources, implicit.resources);
    assert.ok(!implicit.resources.some((r) => r.name.includes("postgres")));
  });

  it("PostgreSQL adds a password, the image, a retained volume and a container; the password stays secret", () => {
    const plain = runProgram("dev");
    const pg = runProgram("dev", withPostgres);
    const added = pg.resources
      .filter((r) => !plain.resources.some((p) => p.type === r.type && p.name === r.name))
      .map((r) => `${r.type}::${r.name}`)
      .sort();
    assert.deepEqual(added, [
      "docker:index/container:Container::jupyterhub-postgres",
      "docker:index/remoteImage:RemoteImage::jupyterhub-postgres-image",
      "docker:index/volume:Volume::jupyterhub-postgres-data",
      "jupyterhub:docker:Postgres::jupyterhub-postgres",
      "random:index/randomPassword:RandomPassword::jupyterhub-postgres-password",
    ]);
    const container = pg.resources.find((r) => r.name === "jupyterhub-postgres" && r.type === "docker:index/container:Container")!;
    assert.equal(container.inputs.name, "gmap-dev-postgres");
    assert.deepEqual(container.inputs.envs, postgresEnvs());
    assert.deepEqual(container.inputs.entrypoints, postgresEntrypoint());
    assert.deepEqual(container.inputs.networksAdvanced, [{ name: "gmap-dev", aliases: ["postgres"] }]);
    assert.deepEqual(container.inputs.volumes, [{ volumeName: "gmap-dev-hub-postgres", containerPath: "/var/lib/postgresql/data" }]);
    assert.ok(
      container.secretPaths.some((p) => /^\.?uploads/.test(p)),
      `uploads are secret: ${container.secretPaths}`,
    );
    const text = JSON.stringify(pg.resources.map((r) => r.inputs)) + JSON.stringify(pg.outputs);
    assert.ok(!text.includes("password-of-jupyterhub-postgres-password"), "the password appears in plain inputs or outputs");
    assert.deepEqual(pg.outputs.volumeNames!.value, ["gmap-dev-hub-data", "gmap-dev-hub-postgres", "gmap-dev-shared"]);
  });
});
