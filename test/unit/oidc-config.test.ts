/** auth.oidc (components/providers/oidc.ts): what the config takes and refuses, and what the hub receives. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig, withoutSecrets } from "../../components/config";
import { hubSecrets, hubSettings } from "../../components/settings";
import { refused } from "./config-problems";

const issuer = "https://aai.egi.eu/auth/realms/egi";
const alone = (section: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  hub: { publicUrl: "https://hub.example.org" },
  auth: { providers: ["oidc"], oidc: { clientId: "gmap-hub", issuer, ...section } },
  oidcClientSecret: "client-secret",
  ...extra,
});

describe("OpenID Connect sign-in", () => {
  it("gives the hub the issuer, the claims and the rules, with the defaults", () => {
    const config = parseConfig(
      alone({ allowedClaims: { eduperson_entitlement: ["urn:mace:egi.eu:group:gmap"] }, displayName: "EGI Check-in" }),
    );
    const settings = hubSettings(withoutSecrets(config), "unit", {}, {});
    assert.deepEqual(settings.auth.oidc, {
      clientId: "gmap-hub",
      callbackUrl: "https://hub.example.org/hub/oauth_callback",
      allowedUsers: [],
      admins: [],
      allowAll: false,
      issuer,
      displayName: "EGI Check-in",
      scopes: ["openid", "profile", "email"],
      usernameClaim: "preferred_username",
      groupsClaim: "groups",
      allowedGroups: [],
      allowedClaims: { eduperson_entitlement: ["urn:mace:egi.eu:group:gmap"] },
      manageGroups: undefined,
    });
    assert.equal(
      hubSecrets(config, { cookieSecret: "", proxyAuthToken: "", cullerToken: "", serviceTokens: {}, adminPasswordHashes: {} })
        .oidcClientSecret,
      "client-secret",
    );
  });

  it("names itself on the login page by displayName beside other providers", () => {
    const config = parseConfig({
      ...alone({ allowedGroups: ["gmap"], displayName: "EGI Check-in" }),
      auth: { providers: ["native", "oidc"], oidc: { clientId: "gmap-hub", issuer, allowedGroups: ["gmap"], displayName: "EGI Check-in" } },
    });
    const logins = hubSettings(withoutSecrets(config), "unit", {}, {}).auth.logins;
    assert.deepEqual(logins.oidc, { service: "EGI Check-in", urlPrefix: "/oidc", userNamePrefix: "oidc:" });
  });

  it("refuses what cannot work, by key", () => {
    refused(alone({ scopes: ["profile"], allowAll: true }), "jupyterhub:auth.oidc.scopes", /must include "openid"/);
    refused(alone({ allowAll: true, issuer: "not a url" }), "jupyterhub:auth.oidc.issuer", /./);
    refused(alone({}), "jupyterhub:auth.oidc", /nobody could log in with oidc/);
    refused(
      alone({ allowAll: true }, { oidcClientSecret: undefined }),
      "jupyterhub:oidcClientSecret",
      /pulumi config set --secret oidcClientSecret/,
    );
    refused(alone({ allowedUsers: ["Ada"] }), "jupyterhub:auth.oidc.allowedUsers[0]", /lower-case/);
  });
});
