/** The users and memberships of the fake GitHub, GitLab and OpenID Connect provider of the sign-in scenario (10-oauth.test.ts). */
import type { FakeOAuthConfig } from "./fake-oauth";

/** The client secret of the fake OpenID Connect provider (Pulumi.e2e-oauth.yaml holds it encrypted as oidcClientSecret). */
export const OIDC_CLIENT_SECRET = "e2e-oidc-client-secret";

/** Users and memberships of the fake providers; the hub's OAuth callbacks under `hubUrl`. */
export function fakeConfig(hubUrl: string): FakeOAuthConfig {
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
    oidc: {
      clientId: "e2e-oidc-client",
      clientSecret: OIDC_CLIENT_SECRET,
      redirectUris: callbacks("oidc"),
      users: [
        { sub: "egi-1", preferred_username: "ada", groups: ["gmap-science"] },
        {
          sub: "egi-2",
          preferred_username: "entitled",
          groups: [],
          claims: { eduperson_entitlement: ["urn:mace:egi.eu:group:gmap:role=member"] },
        },
        { sub: "egi-3", preferred_username: "stranger", groups: ["other-project"] },
        { sub: "egi-4", preferred_username: "mallory", groups: ["gmap-science"], signWithOtherKey: true },
        { sub: "egi-5", preferred_username: "sam", groups: ["gmap-science"] },
      ],
    },
  };
}
