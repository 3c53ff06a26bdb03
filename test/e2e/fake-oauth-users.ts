/** The users and memberships of the fake GitHub and GitLab of the sign-in scenario (10-oauth.test.ts). */
import type { FakeOAuthConfig } from "./fake-oauth";

/** Users and memberships of the fake GitHub and GitLab; the hub's OAuth callbacks under `hubUrl`. */
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
  };
}
