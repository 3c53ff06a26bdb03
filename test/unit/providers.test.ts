/** The registry of OAuth providers (components/providers/): every place that knows providers follows from it. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig, withoutSecrets } from "../../components/config";
import { secretKeys } from "../../components/config/schema";
import { hubSecretsSchema, hubSettingsSchema } from "../../components/contract";
import { authProviders, providerLogin } from "../../components/identity";
import { oauthProviders, oauthRegistry } from "../../components/providers";
import { hubSettings } from "../../components/settings";
import { refused } from "./config-problems";

const everyProvider = {
  hub: { publicUrl: "https://hub.example.org" },
  auth: {
    providers: [...authProviders],
    github: { clientId: "gh", allowAll: true },
    gitlab: { clientId: "gl", allowAll: true },
    oidc: { clientId: "oi", issuer: "https://aai.example.org/realms/gmap", allowedGroups: ["gmap"] },
  },
  githubClientSecret: "s1",
  gitlabClientSecret: "s2",
  oidcClientSecret: "s3",
};

describe("the OAuth provider registry", () => {
  it("gives auth.providers, the secret keys and the contracts one entry per provider", () => {
    assert.deepEqual(authProviders, ["native", ...oauthRegistry.map((p) => p.id)]);
    for (const p of oauthProviders) {
      assert.ok(secretKeys.includes(`${p}ClientSecret`), p);
      assert.ok(`${p}ClientSecret` in hubSecretsSchema.shape, p);
      assert.ok(p in hubSettingsSchema.shape.auth.shape, p);
    }
    assert.equal(Object.keys(everyProvider.auth).length - 1, authProviders.length - 1, "the test config names every OAuth provider");
  });

  it("hands the hub every enabled provider's login facts and section, the common keys first", () => {
    const config = parseConfig(everyProvider);
    const settings = hubSettings(withoutSecrets(config), "unit", {}, {});
    for (const spec of oauthRegistry) {
      assert.deepEqual(settings.auth.logins[spec.id], providerLogin(config, spec.id));
      assert.equal(settings.auth.logins[spec.id]!.service, spec.service);
      const section = settings.auth[spec.id]!;
      assert.deepEqual(Object.keys(section).slice(0, 5), ["clientId", "callbackUrl", "allowedUsers", "admins", "allowAll"]);
      assert.equal(section.callbackUrl, `https://hub.example.org/hub/${spec.id}/oauth_callback`);
    }
    // a provider that is not enabled has no settings
    const githubOnly = parseConfig({ auth: { providers: ["github"], github: everyProvider.auth.github }, githubClientSecret: "s1" });
    assert.equal(hubSettings(withoutSecrets(githubOnly), "unit", {}, {}).auth.gitlab, undefined);
  });

  it("refuses an unknown provider by key", () => {
    refused({ auth: { providers: ["orcid"] } }, "jupyterhub:auth.providers[0]", /providers are "native", "github", "gitlab" or "oidc"/);
  });
});
