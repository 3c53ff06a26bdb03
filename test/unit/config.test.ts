import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configKey, loadConfig, parseConfig } from "../../components/config";
import { defaultImages } from "../../components/versions";
import { problemsOf } from "./config-problems";

const github = { clientId: "id", allowedOrganizations: ["europlanet"] };
const gitlab = { clientId: "id", url: "https://git.example.org", allowedGroups: ["gmap"] };

describe("config defaults", () => {
  it("an empty stack config is a working native-auth hub on localhost", () => {
    const c = parseConfig({});
    assert.equal(c.prefix, "jupyterhub");
    assert.deepEqual(c.auth.providers, ["native"]);
    assert.equal(c.auth.native.openSignup, false);
    assert.equal(c.auth.native.minimumPasswordLength, 10);
    assert.equal(c.auth.native.allowedFailedLogins, 5);
    assert.equal(c.auth.native.secondsBeforeNextTry, 600);
    assert.equal(c.hub.bindAddress, "127.0.0.1");
    assert.equal(c.hub.baseImage, defaultImages.hubBase);
    assert.equal(c.proxy.image, defaultImages.proxy);
    assert.deepEqual(c.images, [{ name: "minimal", displayName: "Minimal (Python)", image: defaultImages.notebook }]);
    assert.equal(c.spawner.startTimeout, 600);
    assert.equal(c.spawner.defaultUrl, "/lab");
    assert.equal(c.spawner.workVolume.enabled, true);
    assert.equal(c.culler.enabled, true);
    assert.equal(c.hub.dataReserveMiB, 64);
    assert.equal(c.spawner.concurrentSpawnLimit, 20);
  });

  it("default images follow the pinned JupyterHub version", () => {
    assert.match(defaultImages.hubBase, /^quay\.io\/jupyterhub\/jupyterhub:5\.5\.\d+$/);
    assert.match(defaultImages.notebook, /^quay\.io\/jupyter\/minimal-notebook:hub-5\.5\.\d+$/);
  });

  it("accepts a full production-like config", () => {
    const c = parseConfig({
      prefix: "gmap",
      hub: { publicUrl: "https://hub.example.org", bindAddress: "0.0.0.0", tls: { mode: "acme", acme: { email: "ops@example.org" } } },
      auth: { providers: ["native", "github", "gitlab"], admins: ["admin"], github, gitlab },
      githubClientSecret: "s1",
      gitlabClientSecret: "s2",
      images: [
        { name: "isis", displayName: "ISIS", image: "gmap/jupyter-isis:8.0.0" },
        { name: "gispy", displayName: "GISPy", image: "gmap/jupyter-gispy:2024.1" },
      ],
      defaultImage: "gispy",
      storage: [
        {
          name: "isis-data",
          source: { type: "nfs", server: "nas", export: "/isis" },
          mountPath: "/mnt/isis/data",
          readOnly: true,
          environment: { ISISDATA: "/mnt/isis/data" },
        },
        { name: "scratch", source: { type: "cifs", server: "smb", share: "scratch/{username}" }, mountPath: "/mnt/scratch", perUser: true },
      ],
      shareCredentials: { scratch: { username: "u", password: "p" } },
      services: [{ name: "monitoring", scopes: ["read:metrics"] }],
    });
    assert.equal(c.defaultImage, "gispy");
    assert.equal(c.storage[0]!.readOnly, true);
    assert.equal(c.storage[1]!.perUser, true);
  });
});

describe("invalid configs are rejected with their keys", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["prefix with capitals", { prefix: "GMAP" }, "jupyterhub:prefix"],
    ["unknown top-level key", { imagez: [] }, "jupyterhub:imagez: unknown key"],
    ["unknown nested key", { hub: { prot: 8000 } }, "jupyterhub:hub.prot: unknown key"],
    ["port out of range", { hub: { port: 70000 } }, "jupyterhub:hub.port"],
    ["port not an integer", { hub: { port: "eighty" } }, "jupyterhub:hub.port"],
    ["bind address not an IP", { hub: { bindAddress: "everywhere" } }, "jupyterhub:hub.bindAddress"],
    ["public URL not http(s)", { hub: { publicUrl: "ftp://hub" } }, "jupyterhub:hub.publicUrl"],
    ["untagged base image", { hub: { baseImage: "quay.io/jupyterhub/jupyterhub" } }, "jupyterhub:hub.baseImage"],
    ["log level", { hub: { logLevel: "LOUD" } }, "jupyterhub:hub.logLevel"],
    ["negative data reserve", { hub: { dataReserveMiB: -1 } }, "jupyterhub:hub.dataReserveMiB"],
    ["negative spawn limit", { spawner: { concurrentSpawnLimit: -1 } }, "jupyterhub:spawner.concurrentSpawnLimit"],
    ["no images", { images: [] }, "jupyterhub:images"],
    [
      "untagged notebook image",
      { images: [{ name: "isis", displayName: "ISIS", image: "gmap/jupyter-isis" }] },
      "jupyterhub:images[0].image",
    ],
    ["image without display name", { images: [{ name: "isis", image: "gmap/jupyter-isis:1" }] }, "jupyterhub:images[0].displayName"],
    [
      "duplicate image names",
      {
        images: [
          { name: "a", displayName: "A", image: "x/a:1" },
          { name: "a", displayName: "B", image: "x/b:1" },
        ],
      },
      'jupyterhub:images: image name "a" is used twice',
    ],
    ["default image not listed", { defaultImage: "isis" }, "jupyterhub:defaultImage"],
    ["unknown provider", { auth: { providers: ["ldap"] } }, "jupyterhub:auth.providers[0]"],
    ["no provider", { auth: { providers: [] } }, "jupyterhub:auth.providers"],
    ["github without client id", { auth: { providers: ["github"] }, githubClientSecret: "s" }, "jupyterhub:auth.github"],
    ["github without secret", { auth: { providers: ["github"], github } }, "jupyterhub:githubClientSecret"],
    [
      "github without allow rules",
      { auth: { providers: ["github"], github: { clientId: "id" } }, githubClientSecret: "s" },
      "jupyterhub:auth.github: nobody could log in",
    ],
    [
      "gitlab malformed URL",
      { auth: { providers: ["gitlab"], gitlab: { ...gitlab, url: "git.example.org" } }, gitlabClientSecret: "s" },
      "jupyterhub:auth.gitlab.url",
    ],
    [
      "gitlab project id not a number",
      { auth: { providers: ["gitlab"], gitlab: { ...gitlab, allowedProjectIds: ["x"] } }, gitlabClientSecret: "s" },
      "jupyterhub:auth.gitlab.allowedProjectIds[0]",
    ],
    [
      "provider section without provider",
      { auth: { gitlab } },
      'jupyterhub:auth.gitlab: auth.gitlab is configured but "gitlab" is not in auth.providers',
    ],
    ["weak password length", { auth: { native: { minimumPasswordLength: 4 } } }, "jupyterhub:auth.native.minimumPasswordLength"],
    ["lockout too short", { auth: { native: { secondsBeforeNextTry: 0 } } }, "jupyterhub:auth.native.secondsBeforeNextTry"],
    ["relative mount path", { storage: [{ name: "d", source: { type: "volume" }, mountPath: "data" }] }, "jupyterhub:storage[0].mountPath"],
    ["unknown storage type", { storage: [{ name: "d", source: { type: "s3" }, mountPath: "/d" }] }, "jupyterhub:storage[0].source"],
    [
      "host path relative",
      { storage: [{ name: "d", source: { type: "host", path: "srv/d" }, mountPath: "/d" }] },
      "jupyterhub:storage[0].source.path",
    ],
    [
      "duplicate mount paths",
      {
        storage: [
          { name: "a", source: { type: "volume" }, mountPath: "/d" },
          { name: "b", source: { type: "volume" }, mountPath: "/d" },
        ],
      },
      "jupyterhub:storage: mount path /d is used twice",
    ],
    [
      "mount path hides the home volume",
      { storage: [{ name: "a", source: { type: "volume" }, mountPath: "/home/jovyan", perUser: true }] },
      "mount path /home/jovyan is used twice",
    ],
    [
      "per-user host path without {username}",
      { storage: [{ name: "a", source: { type: "host", path: "/srv/a" }, mountPath: "/a", perUser: true }] },
      "jupyterhub:storage[0].source.path",
    ],
    [
      "shared nfs with {username}",
      { storage: [{ name: "a", source: { type: "nfs", server: "n", export: "/e/{username}" }, mountPath: "/a" }] },
      "jupyterhub:storage[0].perUser",
    ],
    [
      "cifs without credentials",
      { storage: [{ name: "a", source: { type: "cifs", server: "s", share: "x" }, mountPath: "/a" }] },
      "jupyterhub:storage[0].source: CIFS needs credentials",
    ],
    ["credentials of no mount", { shareCredentials: { ghost: { username: "u", password: "p" } } }, "jupyterhub:shareCredentials.ghost"],
    ["reserved storage name", { storage: [{ name: "user", source: { type: "volume" }, mountPath: "/u" }] }, "jupyterhub:storage[0].name"],
    ["bad env name", { spawner: { environment: { "1BAD": "x" } } }, "jupyterhub:spawner.environment.1BAD"],
    ["memory limit format", { spawner: { memLimit: "lots" } }, "jupyterhub:spawner.memLimit"],
    ["start timeout too short", { spawner: { startTimeout: 5 } }, "jupyterhub:spawner.startTimeout"],
    ["service without scopes", { services: [{ name: "ci", scopes: [] }] }, "jupyterhub:services[0].scopes"],
    [
      "duplicate services",
      {
        services: [
          { name: "ci", scopes: ["read:users"] },
          { name: "ci", scopes: ["read:users"] },
        ],
      },
      'jupyterhub:services: service "ci" is declared twice',
    ],
    ["culler timeout under activity interval", { culler: { timeout: 60 } }, "jupyterhub:culler.timeout"],
    ["hook not a python file", { hooks: { postAuth: "hooks/post_auth.sh" } }, "jupyterhub:hooks.postAuth"],
    ["structured key given as a string", { storage: "none" }, "jupyterhub:storage"],
  ];
  assert.ok(cases.length >= 20);
  for (const [title, raw, expected] of cases) {
    it(title, () => {
      const problems = problemsOf(raw);
      assert.ok(
        problems.some((p) => p.startsWith("jupyterhub:") && p.includes(expected)),
        `expected a problem containing "${expected}", got:\n${problems.join("\n")}`,
      );
    });
  }

  it("lists every problem in one message", () => {
    const problems = problemsOf({
      prefix: "X",
      hub: { port: 0 },
      images: [{ name: "a", displayName: "A", image: "a" }],
      culler: { timeout: 1 },
    });
    assert.equal(problems.length, 4, problems.join("\n"));
    try {
      parseConfig({ prefix: "X", hub: { port: 0 } });
    } catch (e) {
      assert.match((e as Error).message, /^Invalid stack config: 2 problems\n {2}- jupyterhub:prefix: .*\n {2}- jupyterhub:hub\.port: /);
    }
  });

  it("error messages never echo secret values", () => {
    const problems = problemsOf({ githubClientSecret: 42, shareCredentials: { a: { username: "u", password: "hunter2-secret" } } });
    assert.ok(!problems.join("\n").includes("hunter2-secret"));
  });

  it("names config keys the way pulumi config set --path does", () => {
    assert.equal(configKey(["storage", 2, "source", "path"]), "jupyterhub:storage[2].source.path");
  });
});

describe("loadConfig", () => {
  const files: Record<string, string> = { "hooks/post_auth.py": "def post_auth_hook(a, h, x):\n    return x\n" };
  const read = (f: string) => files[f];
  /** Every key counts as encrypted in the stack file. */
  const encrypted = () => true;

  it("decodes structured values and keeps string keys as strings", () => {
    const { config } = loadConfig(
      { "jupyterhub:prefix": "123abc".replace("123", "g"), "jupyterhub:hub": '{"port": 8001}', "other:key": "x" },
      read,
      encrypted,
    );
    assert.equal(config.prefix, "gabc");
    assert.equal(config.hub.port, 8001);
  });

  it("reads hook files and reports missing ones with the key", () => {
    const { hookFiles } = loadConfig({ "jupyterhub:hooks": '{"postAuth": "hooks/post_auth.py"}' }, read, encrypted);
    assert.match(hookFiles.postAuth!, /post_auth_hook/);
    assert.throws(
      () => loadConfig({ "jupyterhub:hooks": '{"preSpawn": "hooks/missing.py"}', "jupyterhub:hub": '{"port": 0}' }, read, encrypted),
      (e: Error) =>
        /jupyterhub:hooks\.preSpawn: file hooks\/missing\.py does not exist/.test(e.message) && /jupyterhub:hub\.port/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ "jupyterhub:hooks": '{"start": "../etc/passwd"}' }, read, encrypted),
      /jupyterhub:hooks\.start: give a path inside the project/,
    );
  });

  it("refuses secrets in plain text, by key, without showing them", () => {
    const config = {
      "jupyterhub:hub": '{"tls": {"mode": "files"}}',
      "jupyterhub:tlsCertificate": "-----BEGIN CERTIFICATE-----",
      "jupyterhub:tlsKey": "-----BEGIN PRIVATE KEY----- plain-key-material",
      "jupyterhub:shareCredentials": '{"smb": {"username": "gmap", "password": "plain-password"}}',
    };
    const encryptedOnly = new Set(["jupyterhub:tlsCertificate"]);
    assert.throws(
      () => loadConfig(config, read, (key) => encryptedOnly.has(key)),
      (e: Error) =>
        /jupyterhub:tlsKey: holds a secret in plain text/.test(e.message) &&
        /jupyterhub:shareCredentials: holds a secret in plain text/.test(e.message) &&
        !/jupyterhub:tlsCertificate: holds/.test(e.message) &&
        !e.message.includes("plain-key-material") &&
        !e.message.includes("plain-password"),
    );
  });
});
