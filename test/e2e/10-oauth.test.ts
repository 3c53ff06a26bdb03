/**
 * GitHub and GitLab sign-in, alone and together with native accounts, against a fake OAuth
 * provider (test/standins/fake-oauth) that implements the endpoints OAuthenticator calls.
 *
 * Deploys its own stack (Pulumi.e2e-oauth.yaml: native + GitHub + GitLab, port 18001) with the real
 * `pulumi up`, starts the fake provider as a labelled container on the stack's network (alias
 * fake-oauth), then reconfigures the stack to GitHub alone and to GitLab alone (each change
 * replaces the hub container). Last, with user servers running, a change that replaces the network
 * and then `pulumi destroy`: both stop and remove the servers first and keep every volume. Removes
 * everything, volumes included, at the end. Skipped against a hub deployed elsewhere.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { labelKeys } from "../../components/names";
import { escapeUserName } from "../../components/identity";
import { type BrowserSession, chromiumArgs, chromiumPath, formsOf, HubApi, type HubEnv, linksOf, waitFor } from "./client";
import {
  destroy,
  docker,
  editedStackFile,
  ensureStack,
  output,
  projectDir,
  removeStack,
  stackHub,
  stackSkip as skip,
  up as pulumiUp,
  requireEngine,
} from "./stack";
import { FakeOAuth, type FakeOAuthConfig, fakeSession, nativeLogin, nativeSignUp, oauthLogin } from "./oauth";

const STACK = "e2e-oauth";
const RUN_ID = "e2e-oauth";
const PREFIX = "gmap-e2e-oauth";
const PASSWORD = "Gmap-e2e-Passw0rd";

/** Users and memberships of the fake GitHub and GitLab. */
function fakeConfig(hubUrl: string): FakeOAuthConfig {
  const callbacks = (p: string) => [`${hubUrl}/hub/${p}/oauth_callback`, `${hubUrl}/hub/oauth_callback`];
  return {
    github: {
      clientId: "e2e-github-client",
      clientSecret: "e2e-github-client-secret",
      redirectUris: callbacks("github"),
      users: [
        { login: "sam", id: 1001, orgs: ["europlanet-gmap"] },
        { login: "octo-cat", id: 1002, orgs: ["europlanet-gmap"] },
        { login: "imager", id: 1003, orgs: ["planetary-lab"], teams: ["planetary-lab:imaging"] },
        { login: "radar", id: 1004, orgs: ["planetary-lab"], teams: ["planetary-lab:radar"] },
        { login: "outsider", id: 1005, orgs: ["another-org"] },
        { login: "gh-boss", id: 1006 },
      ],
    },
    gitlab: {
      clientId: "e2e-gitlab-client",
      clientSecret: "e2e-gitlab-client-secret",
      redirectUris: callbacks("gitlab"),
      users: [
        { username: "sam", id: 2001, groups: { "gmap/science": 30 } },
        { username: "geologist", id: 2002, groups: { "gmap/science": 30 } },
        { username: "elder", id: 2003, groups: { gmap: 50 } },
        { username: "dev", id: 2004, projects: { "4242": 30 } },
        { username: "reporter", id: 2005, projects: { "4242": 20 } },
        { username: "stranger", id: 2006, groups: { "gmap-other": 30 } },
        { username: "gl-boss", id: 2007 },
      ],
    },
  };
}

/** `pulumi up` of this stack, optionally with an edited copy of its stack file; the hub it serves. */
async function up(edit?: (config: Record<string, any>) => void): Promise<HubEnv> {
  const run = await pulumiUp({ stack: STACK, ...(edit ? { configFile: editedStackFile(edit, STACK) } : {}) });
  assert.equal(run.code, 0, `pulumi up ${STACK} failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
  return stackHub({ stack: STACK });
}

async function containerLogs(name: string): Promise<string> {
  try {
    const buf = (await docker.getContainer(name).logs({ stdout: true, stderr: true, tail: 2000 })) as unknown as Buffer;
    return buf.toString("utf8");
  } catch (e) {
    return `(no logs: ${(e as Error).message})`;
  }
}

describe("GitHub and GitLab sign-in (own stack Pulumi.e2e-oauth.yaml, fake OAuth provider)", { skip }, () => {
  let hubUrl = "";
  let api: HubApi;
  let fake: FakeOAuth;
  const session = () => fakeSession(api.env, fake);
  const userUrl = (name: string, rest: string) => `/user/${encodeURIComponent(name)}${rest}`;

  async function userModel(name: string): Promise<any | undefined> {
    const res = await api.request(`/hub/api/users/${encodeURIComponent(name)}`);
    if (res.status === 404) return undefined;
    assert.equal(res.status, 200, `GET user ${name}`);
    return res.json();
  }

  async function lastAuthorize(provider: "github" | "gitlab") {
    const all = (await fake.requests()).filter((r) => r.provider === provider && r.kind === "authorize");
    return all[all.length - 1];
  }

  /** Spawns the session's server through the hub's spawn page and waits until it answers the user's own cookie. */
  async function spawn(s: BrowserSession, name: string): Promise<void> {
    await s.get("/hub/spawn");
    await api.waitReady(name, 180_000);
    // a page first: the server's own OAuth login with the hub gives the session its cookie
    await waitFor(
      `${name}'s JupyterLab through the proxy`,
      async () => {
        const page = await s.get(userUrl(name, "/lab"));
        return page.status === 200 ? page : undefined;
      },
      60_000,
      1000,
    );
    const status = await s.get(userUrl(name, "/api/status"));
    assert.equal(status.status, 200);
    assert.ok(JSON.parse(status.text).started, "the single-user server reports its status to its own user");
  }

  async function container(name: string) {
    const list = await docker.listContainers({ all: true, filters: { name: [`^/${PREFIX}-user-${escapeUserName(name)}$`] } });
    return list[0] ? docker.getContainer(list[0].Id).inspect() : undefined;
  }

  before(
    async () => {
      await requireEngine();
      // leftovers of an interrupted run of this file (only objects labelled with this run id)
      await FakeOAuth.removeAll(docker, RUN_ID);
      await removeStack(STACK);
      await ensureStack(STACK);
      const env = await up();
      hubUrl = env.url;
      api = new HubApi(env);
      fake = await FakeOAuth.start({
        docker,
        name: `${PREFIX}-fake-oauth`,
        network: PREFIX,
        runId: RUN_ID,
        prefix: PREFIX,
        config: fakeConfig(hubUrl),
      });
    },
    { timeout: 20 * 60_000 },
  );

  after(
    async () => {
      fs.mkdirSync(path.join(projectDir, "test-artifacts"), { recursive: true });
      for (const name of [`${PREFIX}-hub`, `${PREFIX}-fake-oauth`]) {
        fs.writeFileSync(path.join(projectDir, "test-artifacts", `${name}.log`), await containerLogs(name));
      }
      await FakeOAuth.removeAll(docker, RUN_ID);
      const problems = await removeStack(STACK);
      assert.deepEqual(problems, [], "the stack and its volumes are removed");
    },
    { timeout: 10 * 60_000 },
  );

  describe("native, GitHub and GitLab side by side", () => {
    let admin: BrowserSession | undefined;
    /** The native admin hub-admin (auth.admins), logged in with its generated password through the native pages. */
    async function adminSession(): Promise<BrowserSession> {
      if (admin) return admin;
      const s = session();
      const signup = await nativeSignUp(s, "hub-admin", PASSWORD, true);
      assert.match(signup.text, /already in use/, "nobody can sign up as the native admin");
      const password = ((await output("adminPasswords", { stack: STACK })) as Record<string, string>)["hub-admin"]!;
      await nativeLogin(s, "hub-admin", password, true);
      assert.equal(await s.whoami(), "native:hub-admin");
      admin = s;
      return s;
    }

    it("the login page offers every provider under its own prefix; native pages stay under /hub/native/", async () => {
      const s = session();
      const login = await s.get("/hub/login");
      assert.equal(login.status, 200);
      const links = linksOf(login);
      for (const p of ["/hub/native/login", "/hub/github/oauth_login", "/hub/gitlab/oauth_login"]) {
        assert.ok(
          links.some((l) => l.startsWith(`${hubUrl}${p}`)),
          `no link to ${p}`,
        );
      }
      const native = await s.click(login, "/hub/native/login");
      assert.equal(native.status, 200);
      assert.equal(formsOf(native)[0]?.action, `${hubUrl}/hub/native/login?next=`, "the login form posts to the native login handler");
      const signup = await s.click(native, "/hub/native/signup");
      assert.equal(signup.status, 200);
      assert.ok(linksOf(signup).includes(`${hubUrl}/hub/native/login`));
    });

    it("GitHub: a member of an allowed organization logs in and spawns", async () => {
      const s = session();
      const page = await oauthLogin(s, "github", "octo-cat", true);
      assert.equal(page.status, 200, page.text.slice(0, 500));
      assert.equal(await s.whoami(), "github:octo-cat");
      const authorize = await lastAuthorize("github");
      assert.equal(
        authorize?.redirect_uri,
        `${hubUrl}/hub/github/oauth_callback`,
        "callback derived from the public URL, under the provider's prefix",
      );
      assert.deepEqual(authorize?.scope.split(" ").sort(), ["read:org", "read:user"]);
      await spawn(s, "github:octo-cat");
      const c = await container("github:octo-cat");
      assert.equal(c?.Name, `/${PREFIX}-user-github-3aocto-2dcat`);
      assert.ok(
        c?.Mounts.some((m) => m.Type === "volume" && m.Name === `${PREFIX}-user-github-3aocto-2dcat`),
        "per-user volume with the escaped name",
      );
      await api.stopServer("github:octo-cat");
    });

    it("GitHub: the team rule lets a team member in, not other members of that organization", async () => {
      const member = session();
      assert.equal((await oauthLogin(member, "github", "imager", true)).status, 200);
      assert.equal(await member.whoami(), "github:imager");
      const other = session();
      const refused = await oauthLogin(other, "github", "radar", true);
      assert.equal(refused.status, 403);
      assert.equal(await other.whoami(), undefined);
      assert.equal(await userModel("github:radar"), undefined);
    });

    it("GitHub: someone outside the allowed organizations is refused", async () => {
      const s = session();
      const page = await oauthLogin(s, "github", "outsider", true);
      assert.equal(page.status, 403);
      assert.equal(await s.whoami(), undefined);
      assert.equal(await userModel("github:outsider"), undefined);
    });

    it("GitLab under a custom base URL: members of an allowed group (direct or inherited) log in", async () => {
      for (const login of ["geologist", "elder"]) {
        const s = session();
        const page = await oauthLogin(s, "gitlab", login, true);
        assert.equal(page.status, 200, `${login}: ${page.text.slice(0, 300)}`);
        assert.equal(await s.whoami(), `gitlab:${login}`);
      }
      const authorize = await lastAuthorize("gitlab");
      assert.ok(authorize?.redirect_uri === `${hubUrl}/hub/gitlab/oauth_callback`);
      assert.deepEqual(authorize?.scope.split(" ").sort(), ["read_api", "read_user"]);
    });

    it("GitLab: the project rule lets developers in; reporters and non-members are refused", async () => {
      const dev = session();
      assert.equal((await oauthLogin(dev, "gitlab", "dev", true)).status, 200);
      assert.equal(await dev.whoami(), "gitlab:dev");
      for (const login of ["reporter", "stranger"]) {
        const s = session();
        assert.equal((await oauthLogin(s, "gitlab", login, true)).status, 403, `${login} is refused`);
        assert.equal(await userModel(`gitlab:${login}`), undefined);
      }
    });

    it("native, GitHub and GitLab users with the same login get their own server, volume and files", async () => {
      const admin = await adminSession();
      const native = session();
      const signup = await nativeSignUp(native, "sam", PASSWORD, true);
      assert.match(signup.text, /sent to the admin/);
      const authorize = await admin.get("/hub/native/authorize/sam");
      assert.equal(authorize.status, 200);
      assert.equal(authorize.url, `${hubUrl}/hub/native/authorize#sam`, "back to the native authorization area");
      await nativeLogin(native, "sam", PASSWORD, true);
      const github = session();
      await oauthLogin(github, "github", "sam", true);
      const gitlab = session();
      await oauthLogin(gitlab, "gitlab", "sam", true);
      const sessions: Array<[string, BrowserSession]> = [
        ["native:sam", native],
        ["github:sam", github],
        ["gitlab:sam", gitlab],
      ];
      for (const [name, s] of sessions) assert.equal(await s.whoami(), name);

      for (const [name, s] of sessions) await spawn(s, name);
      const containers = await Promise.all(sessions.map(([name]) => container(name)));
      assert.deepEqual(
        containers.map((c) => c?.Name),
        [`/${PREFIX}-user-native-3asam`, `/${PREFIX}-user-github-3asam`, `/${PREFIX}-user-gitlab-3asam`],
      );
      const volumes = containers.map((c) => c?.Mounts.find((m) => m.Destination === "/home/jovyan")?.Name);
      assert.deepEqual(volumes, [`${PREFIX}-user-native-3asam`, `${PREFIX}-user-github-3asam`, `${PREFIX}-user-gitlab-3asam`]);

      assert.equal((await api.putFile("github:sam", "work/from-github.txt", "written by github:sam")).status, 201);
      for (const [name] of sessions) {
        assert.equal((await api.putFile(name, "work/whoami.txt", name)).status, 201);
      }
      for (const [name] of sessions) {
        assert.equal(await api.getFile(name, "work/whoami.txt"), name, `${name} reads its own file`);
      }
      assert.equal(await api.getFile("github:sam", "work/from-github.txt"), "written by github:sam");
      assert.equal(await api.getFile("native:sam", "work/from-github.txt"), undefined, "invisible to native:sam");
      assert.equal(await api.getFile("gitlab:sam", "work/from-github.txt"), undefined, "invisible to gitlab:sam");

      const cross = await native.get(userUrl("github:sam", "/api/contents/work"));
      assert.notEqual(cross.status, 200, "native:sam cannot open github:sam's server");
      for (const [name] of sessions) await api.stopServer(name);
    });

    it("admin rules per provider give admin rights; everyone else is not admin", async () => {
      const admin = await adminSession();
      const boss = session();
      assert.equal(
        (await oauthLogin(boss, "github", "gh-boss", true)).status,
        200,
        "a GitHub admin outside the allowed organizations may log in",
      );
      const glBoss = session();
      assert.equal((await oauthLogin(glBoss, "gitlab", "gl-boss", true)).status, 200);
      for (const name of ["native:hub-admin", "github:gh-boss", "gitlab:gl-boss"]) {
        assert.equal((await userModel(name))?.admin, true, `${name} is admin`);
      }
      for (const name of ["native:sam", "github:sam", "gitlab:sam", "github:octo-cat", "github:imager", "gitlab:dev"]) {
        assert.equal((await userModel(name))?.admin, false, `${name} is not admin`);
      }
      assert.equal((await boss.get("/hub/admin")).status, 200);
      assert.equal((await admin.get("/hub/admin")).status, 200);
      const plain = session();
      await oauthLogin(plain, "github", "imager", true);
      assert.equal((await plain.get("/hub/admin")).status, 403);
      assert.equal((await plain.get("/hub/native/authorize")).status, 403);
      assert.equal((await admin.get("/hub/native/authorize")).status, 200);
    });

    it(
      "a browser signs in with GitHub and with a native account",
      { skip: chromiumPath() ? false : "Chromium is not installed" },
      async () => {
        const { chromium } = await import("playwright-core");
        // a page navigation needs no XSRF token (a fetch from the page would)
        const userOf = async (p: import("playwright-core").Page) => {
          await p.goto(`${hubUrl}/hub/api/user`);
          return JSON.parse((await p.textContent("body")) ?? "{}").name as string | undefined;
        };
        // every host name but fake-oauth and the loopback hub is unresolvable: nothing else is reached
        const browser = await chromium.launch({
          executablePath: chromiumPath(),
          headless: true,
          args: [`--host-resolver-rules=MAP fake-oauth ${fake.ip}, MAP localhost 127.0.0.1, MAP * ~NOTFOUND`, ...chromiumArgs],
        });
        try {
          const gh = await (await browser.newContext()).newPage();
          await gh.goto(`${hubUrl}/hub/login`);
          await gh.getByText("Sign in with GitHub").click();
          await gh.waitForURL(/fake-oauth:8080\/github\/login\/oauth\/authorize/);
          await gh.fill("#login", "imager");
          await gh.click("#authorize");
          await gh.waitForURL((u) => u.toString().startsWith(`${hubUrl}/`) && !u.pathname.includes("oauth"));
          assert.equal(await userOf(gh), "github:imager");

          const page = await (await browser.newContext()).newPage();
          await page.goto(`${hubUrl}/hub/login`);
          await page.getByText("Sign in with Native").click();
          await page.waitForURL(/\/hub\/native\/login/);
          await page.getByRole("link", { name: "Sign up" }).click();
          await page.waitForURL(/\/hub\/native\/signup/);
          await page.fill("#username_input", "lab-user");
          await page.fill("#password_input", PASSWORD);
          await page.fill("#password_confirmation_input", PASSWORD);
          await page.click("#signup_submit");
          await page.getByText("Your information has been sent to the admin").waitFor();
          await (await adminSession()).get("/hub/native/authorize/lab-user");
          await page.goto(`${hubUrl}/hub/native/login`);
          await page.fill("#username_input", "lab-user");
          await page.fill("#password_input", PASSWORD);
          await page.click("#login_submit");
          await page.waitForURL((u) => !u.pathname.endsWith("/login"));
          assert.equal(await userOf(page), "native:lab-user");
        } finally {
          await browser.close();
        }
      },
    );
  });

  describe("GitHub alone", () => {
    before(
      async () => {
        const env = await up((config) => {
          const auth = config["jupyterhub:auth"];
          config["jupyterhub:auth"] = { providers: ["github"], github: auth.github };
        });
        api = new HubApi(env);
      },
      { timeout: 15 * 60_000 },
    );

    it("user names are the bare logins and the callback is <publicUrl>/hub/oauth_callback", async () => {
      const s = session();
      const page = await oauthLogin(s, "github", "octo-cat", false);
      assert.equal(page.status, 200, page.text.slice(0, 500));
      assert.equal(await s.whoami(), "octo-cat");
      assert.equal((await lastAuthorize("github"))?.redirect_uri, `${hubUrl}/hub/oauth_callback`);
      await spawn(s, "octo-cat");
      const c = await container("octo-cat");
      assert.equal(c?.Name, `/${PREFIX}-user-octo-2dcat`);
      assert.ok(c?.Mounts.some((m) => m.Name === `${PREFIX}-user-octo-2dcat`));
      await api.stopServer("octo-cat");
    });

    it("non-members are refused and there are no native pages", async () => {
      const s = session();
      assert.equal((await oauthLogin(s, "github", "outsider", false)).status, 403);
      assert.equal((await s.get("/hub/signup")).status, 404);
      assert.equal((await s.get("/hub/native/login")).status, 404);
    });
  });

  describe("GitLab alone", () => {
    before(
      async () => {
        const env = await up((config) => {
          const auth = config["jupyterhub:auth"];
          config["jupyterhub:auth"] = { providers: ["gitlab"], gitlab: auth.gitlab };
        });
        api = new HubApi(env);
      },
      { timeout: 15 * 60_000 },
    );

    it("a project developer logs in with the bare login; a non-member is refused", async () => {
      const s = session();
      assert.equal((await oauthLogin(s, "gitlab", "dev", false)).status, 200);
      assert.equal(await s.whoami(), "dev");
      assert.equal((await lastAuthorize("gitlab"))?.redirect_uri, `${hubUrl}/hub/oauth_callback`);
      assert.equal((await oauthLogin(session(), "gitlab", "stranger", false)).status, 403);
    });
  });

  describe("with user servers running", () => {
    const gitlabAlone = (config: Record<string, any>) => {
      const auth = config["jupyterhub:auth"];
      config["jupyterhub:auth"] = { providers: ["gitlab"], gitlab: auth.gitlab };
    };
    const keeper = "keeper";
    const stackObjects = async () => {
      const ours = { filters: { label: [`${labelKeys.prefix}=${PREFIX}`] } };
      return {
        containers: (await docker.listContainers({ all: true, ...ours })).map((c) => c.Names[0]!.slice(1)).sort(),
        networks: (await docker.listNetworks({ filters: { name: [PREFIX] } })).map((n) => n.Id),
        volumes: ((await docker.listVolumes(ours)).Volumes ?? []).map((v) => v.Name).sort(),
      };
    };

    before(
      async () => {
        // the fake provider is done; it would hold the network
        await FakeOAuth.removeAll(docker, RUN_ID);
        await api.createUser(keeper);
        await api.startServer(keeper);
        assert.equal((await api.putFile(keeper, "work/kept.txt", "survives")).status, 201);
      },
      { timeout: 10 * 60_000 },
    );

    it("a change that replaces the network removes the servers first and keeps their volumes", async () => {
      const before = await stackObjects();
      assert.ok(before.containers.includes(`${PREFIX}-user-${keeper}`), before.containers.join(", "));
      const env = await up((config) => {
        gitlabAlone(config);
        config["jupyterhub:labels"] = { "org.europlanet-gmap.e2e-generation": "2" };
      });
      const after = await stackObjects();
      assert.notDeepEqual(after.networks, before.networks, "the network was replaced");
      assert.ok(!after.containers.includes(`${PREFIX}-user-${keeper}`), "the user server was removed");
      assert.deepEqual(after.volumes, before.volumes, "every volume is kept");
      api = new HubApi(env);
      await api.startServer(keeper);
      assert.equal(await api.getFile(keeper, "work/kept.txt"), "survives");
    });

    it("pulumi destroy stops and removes the servers, then removes containers, network and hub image; volumes stay", async () => {
      assert.equal((await api.user(keeper)).servers[""].ready, true, "a server runs");
      const before = await stackObjects();
      const run = await destroy({ stack: STACK });
      assert.equal(run.code, 0, (run.stdout + run.stderr).slice(-6000));
      const after = await stackObjects();
      assert.deepEqual(after.containers, [], "no container of the stack is left");
      assert.deepEqual(after.networks, [], "the network is removed");
      await assert.rejects(docker.getImage(`${PREFIX}-hub:local`).inspect(), /no such image/i, "the hub image is removed");
      assert.deepEqual(after.volumes, before.volumes, "every volume is kept");
      assert.ok(
        after.volumes.includes(`${PREFIX}-hub-data`) && after.volumes.includes(`${PREFIX}-user-${keeper}`),
        after.volumes.join(", "),
      );
    });
  });
});
