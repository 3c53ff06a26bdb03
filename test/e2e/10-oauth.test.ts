/**
 * GitHub, GitLab and OpenID Connect sign-in, alone and together with native accounts, against a
 * fake provider (test/standins/fake-oauth) that implements the endpoints OAuthenticator calls, and
 * for OpenID Connect discovery, published keys and signed ID tokens.
 *
 * Deploys its own stack (Pulumi.e2e-oauth.yaml: native + GitHub + GitLab + OpenID Connect, port 18001) with the real
 * `pulumi up`, starts the fake provider as a labelled container on the stack's network (alias
 * fake-oauth), then reconfigures the stack to GitHub alone, GitLab alone and OpenID Connect alone (each change
 * replaces the hub container). Last, with user servers running, a change that replaces the network
 * and then `pulumi destroy`: both stop and remove the servers first and keep every volume. Removes
 * everything, volumes included, at the end. Skipped against a hub deployed elsewhere.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { escapeUserName } from "../../components/identity";
import { saveContainerLogs } from "./artifacts";
import type { BrowserSession } from "./browser-session";
import { chromiumArgs, chromiumPath } from "./chromium";
import { containerLogs, containerNamed, docker, engineObjects, requireEngine } from "./engine";
import { FakeOAuth, fakeSession } from "./fake-oauth";
import { fakeConfig, OIDC_CLIENT_SECRET } from "./fake-oauth-users";
import { HubApi } from "./hub-api";
import type { HubEnv } from "./hub-env";
import { nativeLogin, nativeSignUp, oauthLogin, spawnThroughPages, userUrl } from "./oauth-flows";
import { formsOf, linksOf } from "./pages";
import { destroy, ensureStack, output, pulumiOk, stackHub, upOk } from "./pulumi";
import { removeStack } from "./remove-stack";
import { browserUser, githubInBrowser, nativeLoginInBrowser, nativeSignUpInBrowser } from "./sign-in-browser";
import { editedStackFile, stackSkip as skip } from "./stack";

const STACK = "e2e-oauth";
const RUN_ID = "e2e-oauth";
const PREFIX = "gmap-e2e-oauth";
const PASSWORD = "Gmap-e2e-Passw0rd";

/** The stack file edit that keeps one sign-in provider, alone (and the sizes open to everyone). */
const alone = (provider: "github" | "gitlab" | "oidc") => (config: Record<string, any>) => {
  const auth = config["jupyterhub:auth"];
  config["jupyterhub:auth"] = { providers: [provider], [provider]: auth[provider] };
  delete config["jupyterhub:sizes"];
};

/** `pulumi up` of this stack, optionally with an edited copy of its stack file; the hub it serves. */
async function up(edit?: (config: Record<string, any>) => void): Promise<HubEnv> {
  await upOk({ stack: STACK, ...(edit ? { configFile: editedStackFile(edit, STACK) } : {}) });
  return stackHub({ stack: STACK });
}

describe("GitHub, GitLab and OpenID Connect sign-in (own stack Pulumi.e2e-oauth.yaml, fake provider)", { skip }, () => {
  let hubUrl = "";
  let api: HubApi;
  let fake: FakeOAuth;
  const session = () => fakeSession(api.env, fake);
  const spawn = (s: BrowserSession, name: string) => spawnThroughPages(api, s, name);

  async function userModel(name: string): Promise<any | undefined> {
    const res = await api.request(`/hub/api/users/${encodeURIComponent(name)}`);
    if (res.status === 404) return undefined;
    assert.equal(res.status, 200, `GET user ${name}`);
    return res.json();
  }

  const lastAuthorize = (provider: "github" | "gitlab" | "oidc") => fake.lastAuthorize(provider);
  const container = (name: string) => containerNamed(`${PREFIX}-user-${escapeUserName(name)}`);

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
      await saveContainerLogs([`${PREFIX}-hub`, `${PREFIX}-fake-oauth`], 2000);
      await FakeOAuth.removeAll(docker, RUN_ID);
      const problems = await removeStack(STACK);
      assert.deepEqual(problems, [], "the stack and its volumes are removed");
    },
    { timeout: 10 * 60_000 },
  );

  describe("native, GitHub, GitLab and OpenID Connect side by side", () => {
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
      for (const p of ["/hub/native/login", "/hub/github/oauth_login", "/hub/gitlab/oauth_login", "/hub/oidc/oauth_login"]) {
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

    it("OpenID Connect: an allowed group's member (or a claim's holder) signs in and lands in the claim's group; others are refused and not created", async () => {
      const s = session();
      const page = await oauthLogin(s, "oidc", "ada", true);
      assert.equal(page.status, 200, page.text.slice(0, 500));
      assert.equal(await s.whoami(), "oidc:ada");
      assert.deepEqual((await userModel("oidc:ada")).groups, ["gmap-science"]);
      const authorize = await lastAuthorize("oidc");
      assert.equal(authorize?.redirect_uri, `${hubUrl}/hub/oidc/oauth_callback`);
      assert.ok(authorize?.scope.split(" ").includes("openid"), authorize?.scope);
      // allowed by another claim's value (allowedClaims), in no group
      const entitled = session();
      assert.equal((await oauthLogin(entitled, "oidc", "entitled", true)).status, 200);
      assert.equal(await entitled.whoami(), "oidc:entitled");
      assert.deepEqual((await userModel("oidc:entitled")).groups, []);
      const other = session();
      assert.equal((await oauthLogin(other, "oidc", "stranger", true)).status, 403);
      assert.equal(await other.whoami(), undefined);
      assert.equal(await userModel("oidc:stranger"), undefined);
    });

    it("OpenID Connect: an ID token signed by a key the provider does not publish, and a forged state, are refused", async () => {
      const s = session();
      const page = await oauthLogin(s, "oidc", "mallory", true);
      assert.equal(page.status, 403, page.text.slice(0, 300));
      assert.equal(await s.whoami(), undefined);
      assert.equal(await userModel("oidc:mallory"), undefined);
      const logs = await containerLogs(`${PREFIX}-hub`, 200);
      assert.match(logs, /OpenID Connect ID token refused: Signature verification failed/);
      // a callback whose state is not the one the login began with (the state cookie is set)
      const forged = session();
      await forged.get("/hub/oidc/oauth_login");
      const callback = await forged.get(
        `/hub/oidc/oauth_callback?code=made-up&state=${Buffer.from('{"state_id": "forged"}').toString("base64url")}`,
      );
      assert.equal(callback.status, 400, callback.text.slice(0, 300));
      assert.equal(await forged.whoami(), undefined);
    });

    it("OpenID Connect: the same login as on GitHub is another user, and the client secret appears nowhere in plain text", async () => {
      const viaOidc = session();
      assert.equal((await oauthLogin(viaOidc, "oidc", "sam", true)).status, 200);
      const viaGithub = session();
      assert.equal((await oauthLogin(viaGithub, "github", "sam", true)).status, 200);
      assert.deepEqual([await viaOidc.whoami(), await viaGithub.whoami()], ["oidc:sam", "github:sam"]);
      const places = {
        "pulumi stack export": (await pulumiOk(["stack", "export", "--stack", STACK])).stdout,
        "stack outputs (secrets shown)": (await pulumiOk(["stack", "output", "--json", "--show-secrets", "--stack", STACK])).stdout,
        "docker inspect": JSON.stringify(await docker.getContainer(`${PREFIX}-hub`).inspect()),
        "hub log": await containerLogs(`${PREFIX}-hub`),
      };
      for (const [where, text] of Object.entries(places))
        assert.ok(!text.includes(OIDC_CLIENT_SECRET), `the client secret appears in ${where}`);
    });

    it("groups come from the providers at sign-in (GitHub teams, GitLab groups), and the sizes follow them", async () => {
      const members = [
        { provider: "github", login: "imager", group: "planetary-lab:imaging", size: "imaging", other: "elders" },
        { provider: "gitlab", login: "elder", group: "gmap", size: "elders", other: "imaging" },
      ] as const;
      for (const { provider, login, group, size, other } of members) {
        const s = session();
        assert.equal((await oauthLogin(s, provider, login, true)).status, 200);
        assert.deepEqual((await userModel(`${provider}:${login}`)).groups, [group]);
        const form = await s.get("/hub/spawn");
        assert.match(form.text, new RegExp(`<option value="${size}" data-images="">${size}</option>`));
        assert.doesNotMatch(form.text, new RegExp(`value="${other}"`));
      }
      // a member of the organization only: no team, no group, and one size (no menu)
      const octo = session();
      assert.equal((await oauthLogin(octo, "github", "octo-cat", true)).status, 200);
      assert.deepEqual((await userModel("github:octo-cat")).groups, []);
      const scopes = (await lastAuthorize("github"))?.scope.split(" ").sort();
      assert.deepEqual(scopes, ["read:org", "read:user"]);
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
        // every host name but fake-oauth and the loopback hub is unresolvable: nothing else is reached
        const browser = await chromium.launch({
          executablePath: chromiumPath(),
          headless: true,
          args: [`--host-resolver-rules=MAP fake-oauth ${fake.ip}, MAP localhost 127.0.0.1, MAP * ~NOTFOUND`, ...chromiumArgs],
        });
        try {
          const gh = await (await browser.newContext()).newPage();
          await githubInBrowser(gh, hubUrl, "imager");
          assert.equal(await browserUser(gh, hubUrl), "github:imager");

          const page = await (await browser.newContext()).newPage();
          await nativeSignUpInBrowser(page, hubUrl, "lab-user", PASSWORD);
          await (await adminSession()).get("/hub/native/authorize/lab-user");
          await nativeLoginInBrowser(page, hubUrl, "lab-user", PASSWORD);
          assert.equal(await browserUser(page, hubUrl), "native:lab-user");
        } finally {
          await browser.close();
        }
      },
    );
  });

  describe("GitHub alone", () => {
    before(
      async () => {
        const env = await up(alone("github"));
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
        const env = await up(alone("gitlab"));
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

  describe("OpenID Connect alone", () => {
    before(
      async () => {
        const env = await up(alone("oidc"));
        api = new HubApi(env);
      },
      { timeout: 15 * 60_000 },
    );

    it("a group member logs in with the bare user name at <publicUrl>/hub/oauth_callback; a non-member is refused", async () => {
      const s = session();
      assert.equal((await oauthLogin(s, "oidc", "ada", false)).status, 200);
      assert.equal(await s.whoami(), "ada");
      assert.equal((await lastAuthorize("oidc"))?.redirect_uri, `${hubUrl}/hub/oauth_callback`);
      assert.equal((await oauthLogin(session(), "oidc", "stranger", false)).status, 403);
    });
  });

  describe("with user servers running", () => {
    const keeper = "keeper";
    const stackObjects = () => engineObjects(PREFIX);

    before(
      async () => {
        // the fake provider is done; it would hold the network
        await FakeOAuth.removeAll(docker, RUN_ID);
        await api.createUser(keeper);
        await api.startServer(keeper);
        await api.startNamed(keeper, "extra");
        assert.equal((await api.putFile(keeper, "work/kept.txt", "survives")).status, 201);
      },
      { timeout: 10 * 60_000 },
    );

    it("a change that replaces the network removes the servers first and keeps their volumes", async () => {
      const before = await stackObjects();
      assert.ok(before.containers.includes(`${PREFIX}-user-${keeper}`), before.containers.join(", "));
      assert.ok(before.containers.includes(`${PREFIX}-user-${keeper}--extra`), before.containers.join(", "));
      const env = await up((config) => {
        alone("gitlab")(config);
        config["jupyterhub:labels"] = { "org.europlanet-gmap.e2e-generation": "2" };
      });
      const after = await stackObjects();
      assert.notDeepEqual(after.networks, before.networks, "the network was replaced");
      assert.ok(
        !after.containers.some((c) => c.startsWith(`${PREFIX}-user-${keeper}`)),
        "the user's servers were removed, the named one too",
      );
      assert.deepEqual(after.volumes, before.volumes, "every volume is kept");
      api = new HubApi(env);
      await api.startServer(keeper);
      assert.equal(await api.getFile(keeper, "work/kept.txt"), "survives");
    });

    it("pulumi destroy stops and removes the servers, then removes containers, network and hub image; volumes stay", async () => {
      await api.startNamed(keeper, "extra");
      assert.equal((await api.user(keeper)).servers[""].ready, true, "a server runs");
      const before = await stackObjects();
      assert.ok(before.containers.includes(`${PREFIX}-user-${keeper}--extra`), before.containers.join(", "));
      assert.ok(await docker.getNetwork(`${PREFIX}-u-${keeper}--extra`).inspect(), "the named server's own network");
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
