/**
 * Sign-in config: GitHub and GitLab OAuth alone or beside native accounts. Bad OAuth config is
 * rejected with its key; good config becomes the hub's auth settings (callback URLs derived from
 * the public URL, per-provider paths with several providers) and user names as the hub sees them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../components/config";
import { authSettings, hubSecrets, hubSettings, stableJson } from "../../components/settings";
import { adminUserNames, escapeUserName, hubUserName, oauthCallbackUrl, userNamePrefix } from "../../components/identity";
import { problemsOf } from "./config-problems";

const github = { clientId: "gh-id", allowedOrganizations: ["europlanet-gmap", "planetary-lab:imaging"], admins: ["gh-boss"] };
const gitlab = {
  clientId: "gl-id",
  url: "https://git.example.org/",
  allowedGroups: ["gmap/science"],
  allowedProjectIds: [42],
  admins: ["gl-boss"],
};
const secrets = { githubClientSecret: "gh-secret", gitlabClientSecret: "gl-secret" };
const multi = { auth: { providers: ["native", "github", "gitlab"], admins: ["hub-admin"], github, gitlab }, ...secrets };

describe("OAuth sign-in config: accepted configs become hub settings", () => {
  it("several providers: callbacks derived per provider from the public URL", () => {
    const c = parseConfig({ ...multi, hub: { publicUrl: "https://hub.example.org/" } });
    assert.equal(oauthCallbackUrl(c, "github"), "https://hub.example.org/hub/github/oauth_callback");
    assert.equal(oauthCallbackUrl(c, "gitlab"), "https://hub.example.org/hub/gitlab/oauth_callback");
    const auth = authSettings(c);
    assert.equal(auth.github?.callbackUrl, "https://hub.example.org/hub/github/oauth_callback");
    assert.equal(auth.gitlab?.callbackUrl, "https://hub.example.org/hub/gitlab/oauth_callback");
  });

  it("one provider: the callback is <publicUrl>/hub/oauth_callback, also under a path prefix", () => {
    const c = parseConfig({
      auth: { providers: ["github"], github },
      githubClientSecret: "s",
      hub: { publicUrl: "https://example.org/jupyter" },
    });
    assert.equal(authSettings(c).github?.callbackUrl, "https://example.org/jupyter/hub/oauth_callback");
    const local = parseConfig({ auth: { providers: ["gitlab"], gitlab }, gitlabClientSecret: "s", hub: { port: 18001 } });
    assert.equal(authSettings(local).gitlab?.callbackUrl, "http://localhost:18001/hub/oauth_callback");
  });

  it("an explicit callback URL with the right path is kept as given (another host name is fine)", () => {
    const c = parseConfig({
      ...multi,
      hub: { publicUrl: "https://hub.example.org" },
      auth: { ...multi.auth, github: { ...github, callbackUrl: "https://jupyter.example.org/hub/github/oauth_callback" } },
    });
    assert.equal(authSettings(c).github?.callbackUrl, "https://jupyter.example.org/hub/github/oauth_callback");
  });

  it("GitHub Enterprise and self-hosted GitLab base URLs reach the settings without trailing slash", () => {
    const c = parseConfig({
      ...multi,
      auth: { ...multi.auth, github: { ...github, url: "https://github.example.org/", apiUrl: "https://github.example.org/api/v3/" } },
    });
    const auth = authSettings(c);
    assert.equal(auth.github?.url, "https://github.example.org");
    assert.equal(auth.github?.apiUrl, "https://github.example.org/api/v3");
    assert.equal(auth.gitlab?.url, "https://git.example.org");
    const plain = authSettings(parseConfig(multi));
    assert.equal(plain.github?.url, null, "github.com unless set");
    assert.equal(plain.github?.apiUrl, null);
  });

  it("GitLab under a path (http://host/gitlab) is a valid base URL", () => {
    const c = parseConfig({
      auth: { providers: ["gitlab"], gitlab: { ...gitlab, url: "http://fake-oauth:8080/gitlab" } },
      gitlabClientSecret: "s",
    });
    assert.equal(authSettings(c).gitlab?.url, "http://fake-oauth:8080/gitlab");
  });

  it("settings.json carries no client secret; secrets.json carries those of enabled providers only", () => {
    const c = parseConfig(multi);
    const text = stableJson(hubSettings(c, "dev", {}, {}));
    assert.ok(!text.includes("gh-secret") && !text.includes("gl-secret"), "settings.json leaks a client secret");
    const generated = { cookieSecret: "c", proxyAuthToken: "p", cullerToken: "t", serviceTokens: {}, adminPasswordHashes: {} };
    const both = hubSecrets(c, generated);
    assert.equal(both.githubClientSecret, "gh-secret");
    assert.equal(both.gitlabClientSecret, "gl-secret");
    const onlyGithub = parseConfig({ auth: { providers: ["github"], github }, ...secrets });
    assert.equal(hubSecrets(onlyGithub, generated).gitlabClientSecret, undefined);
    assert.equal(authSettings(onlyGithub).gitlab, undefined);
  });

  it("a provider section of a disabled provider never reaches the settings", () => {
    const c = parseConfig({ auth: { providers: ["native"] } });
    assert.equal(authSettings(c).github, undefined);
    assert.equal(authSettings(c).gitlab, undefined);
  });
});

describe("OAuth sign-in config: user names", () => {
  it("with several providers names carry the provider's prefix; alone, none", () => {
    const c = parseConfig(multi);
    assert.equal(userNamePrefix(c, "github"), "github:");
    assert.equal(hubUserName(c, "native", "sam"), "native:sam");
    assert.equal(hubUserName(c, "github", "Sam"), "github:sam", "logins are lower-cased");
    assert.equal(hubUserName(c, "gitlab", "sam"), "gitlab:sam");
    const single = parseConfig({ auth: { providers: ["github"], github }, githubClientSecret: "s" });
    assert.equal(hubUserName(single, "github", "sam"), "sam");
  });

  it("container and volume names escape like DockerSpawner", () => {
    assert.equal(escapeUserName("sam"), "sam");
    assert.equal(escapeUserName("native:sam"), "native-3asam");
    assert.equal(escapeUserName("github:octo-cat"), "github-3aocto-2dcat");
    assert.equal(escapeUserName("gitlab:ada.lovelace"), "gitlab-3aada-2elovelace");
    assert.equal(escapeUserName("Ada.Lovelace"), "-41da-2e-4covelace", "capitals are escaped, not lower-cased");
    assert.equal(escapeUserName("josé"), "jos-c3-a9");
    assert.equal(escapeUserName("a_b"), "a-5fb");
  });

  it("equal logins of different providers never share a container or volume name", () => {
    const c = parseConfig(multi);
    const names = (["native", "github", "gitlab"] as const).map((p) => escapeUserName(hubUserName(c, p, "sam")));
    assert.equal(new Set(names).size, 3);
  });

  it("admins are listed as the hub names them", () => {
    assert.deepEqual(adminUserNames(parseConfig(multi)), ["github:gh-boss", "gitlab:gl-boss", "native:hub-admin"]);
    const single = parseConfig({ auth: { providers: ["gitlab"], gitlab }, gitlabClientSecret: "s" });
    assert.deepEqual(adminUserNames(single), ["gl-boss"]);
    assert.deepEqual(adminUserNames(parseConfig({ auth: { admins: ["admin"] } })), ["admin"]);
  });
});

describe("OAuth sign-in config: bad config is rejected with its key", () => {
  const gh = (extra: Record<string, unknown>) => ({
    auth: { providers: ["github"], github: { ...github, ...extra } },
    githubClientSecret: "s",
  });
  const gl = (extra: Record<string, unknown>) => ({
    auth: { providers: ["gitlab"], gitlab: { ...gitlab, ...extra } },
    gitlabClientSecret: "s",
  });
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      "github enabled without secret",
      { auth: { providers: ["github"], github } },
      "jupyterhub:githubClientSecret: provider github is enabled",
    ],
    [
      "gitlab enabled without secret",
      { auth: { providers: ["native", "gitlab"], gitlab } },
      "jupyterhub:gitlabClientSecret: provider gitlab is enabled",
    ],
    ["empty secret", { auth: { providers: ["github"], github }, githubClientSecret: "" }, "jupyterhub:githubClientSecret"],
    [
      "secret with a line break",
      { auth: { providers: ["github"], github }, githubClientSecret: "abc\n" },
      "jupyterhub:githubClientSecret: the client secret contains spaces",
    ],
    [
      "github enabled without section",
      { auth: { providers: ["github"] }, githubClientSecret: "s" },
      "jupyterhub:auth.github: provider github is enabled",
    ],
    ["client id with a space", gh({ clientId: "my id" }), "jupyterhub:auth.github.clientId"],
    ["github url without scheme", gh({ url: "github.example.org" }), "jupyterhub:auth.github.url"],
    ["github url with a query", gh({ url: "https://github.example.org/?x=1" }), "jupyterhub:auth.github.url: url must not have a query"],
    ["github api url not http", gh({ apiUrl: "ftp://github.example.org/api/v3" }), "jupyterhub:auth.github.apiUrl"],
    ["gitlab url with a fragment", gl({ url: "https://git.example.org/#top" }), "jupyterhub:auth.gitlab.url"],
    ["gitlab url malformed", gl({ url: "https//git.example.org" }), "jupyterhub:auth.gitlab.url"],
    ["callback URL malformed", gh({ callbackUrl: "hub/oauth_callback" }), "jupyterhub:auth.github.callbackUrl"],
    [
      "callback path of one provider with several",
      { ...multi, auth: { ...multi.auth, github: { ...github, callbackUrl: "http://localhost:8000/hub/oauth_callback" } } },
      "jupyterhub:auth.github.callbackUrl: the hub serves the github callback at /hub/github/oauth_callback",
    ],
    [
      "callback path of several with one provider",
      gl({ callbackUrl: "http://localhost:8000/hub/gitlab/oauth_callback" }),
      "jupyterhub:auth.gitlab.callbackUrl: the hub serves the gitlab callback at /hub/oauth_callback",
    ],
    [
      "callback outside the public URL's path",
      { ...gh({ callbackUrl: "https://example.org/hub/oauth_callback" }), hub: { publicUrl: "https://example.org/jupyter" } },
      "jupyterhub:auth.github.callbackUrl",
    ],
    ["github without allow rules", gh({ allowedOrganizations: [], admins: [] }), "jupyterhub:auth.github: nobody could log in"],
    [
      "gitlab without allow rules",
      gl({ allowedGroups: [], allowedProjectIds: [], admins: [], allowAll: false }),
      "jupyterhub:auth.gitlab: nobody could log in",
    ],
    ["github login with prefix", gh({ admins: ["github:octocat"] }), "jupyterhub:auth.github.admins[0]"],
    ["github login with capitals", gh({ allowedUsers: ["OctoCat"] }), "jupyterhub:auth.github.allowedUsers[0]"],
    ["github login with a double hyphen", gh({ allowedUsers: ["octo--cat"] }), "jupyterhub:auth.github.allowedUsers[0]"],
    ["gitlab user with prefix", gl({ admins: ["gitlab:tanuki"] }), "jupyterhub:auth.gitlab.admins[0]"],
    ["team written with a slash", gh({ allowedOrganizations: ["org/team"] }), "jupyterhub:auth.github.allowedOrganizations[0]"],
    ["group path with trailing slash", gl({ allowedGroups: ["gmap/"] }), "jupyterhub:auth.gitlab.allowedGroups[0]"],
    ["project id zero", gl({ allowedProjectIds: [0] }), "jupyterhub:auth.gitlab.allowedProjectIds[0]"],
    [
      "native admins without native",
      { ...gh({}), auth: { providers: ["github"], admins: ["admin"], github } },
      "jupyterhub:auth.admins: auth.admins lists native accounts",
    ],
    [
      "native allowed users without native",
      { ...gl({}), auth: { providers: ["gitlab"], allowedUsers: ["ada"], gitlab } },
      "jupyterhub:auth.allowedUsers",
    ],
    ["native admin with a colon", { auth: { admins: ["native:admin"] } }, "jupyterhub:auth.admins[0]"],
    ["native admin with capitals", { auth: { admins: ["Admin"] } }, "jupyterhub:auth.admins[0]"],
    [
      "provider listed twice",
      { auth: { providers: ["native", "native"] } },
      'jupyterhub:auth.providers: provider "native" is listed twice',
    ],
    ["unknown key in a provider", gh({ organizations: ["x"] }), "jupyterhub:auth.github.organizations: unknown key"],
  ];
  for (const [what, raw, key] of cases) {
    it(what, () => {
      const problems = problemsOf(raw);
      assert.ok(
        problems.some((p) => p.startsWith(key)),
        `expected a problem starting with ${key}, got:\n${problems.join("\n")}`,
      );
    });
  }

  it("never repeats a secret in an error message", () => {
    const problems = problemsOf({ auth: { providers: ["github"], github }, githubClientSecret: "top secret value" });
    assert.ok(problems.every((p) => !p.includes("top secret value")));
  });
});
