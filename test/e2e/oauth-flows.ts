/**
 * Sign-in flows of the GitHub/GitLab sign-in scenario (10-oauth.test.ts) through the hub's pages,
 * as a browser-like session: OAuth with the fake provider, native sign-up and login under one
 * provider or several, and a spawn through the spawn page.
 */
import assert from "node:assert/strict";
import type { BrowserSession } from "./browser-session";
import type { HubApi } from "./hub-api";
import { formsOf, type Page } from "./pages";
import { waitFor } from "./wait";

/**
 * Signs in with GitHub, GitLab or OpenID Connect: the hub's login link (with several providers from the login
 * page's button), the provider's authorize form filled with `login`, back through the callback.
 */
export async function oauthLogin(s: BrowserSession, provider: "github" | "gitlab" | "oidc", login: string, multi: boolean): Promise<Page> {
  const start = multi ? await s.click(await s.get("/hub/login"), `/hub/${provider}/oauth_login`) : await s.get("/hub/oauth_login");
  if (!formsOf(start).length)
    throw new Error(`expected the provider's authorize form, got HTTP ${start.status} at ${start.url}: ${start.text.slice(0, 300)}`);
  return s.submit(start, { login });
}

/** The native login page, through the login page's link when there are several providers. */
async function nativeLoginPage(s: BrowserSession, multi: boolean): Promise<Page> {
  return multi ? s.click(await s.get("/hub/login"), "/hub/native/login") : s.get("/hub/login");
}

/** Native sign-up through the login page's links (several providers: under /hub/native/). */
export async function nativeSignUp(s: BrowserSession, name: string, password: string, multi: boolean): Promise<Page> {
  const signup = await s.click(await nativeLoginPage(s, multi), multi ? "/hub/native/signup" : "/hub/signup");
  return s.submit(signup, { username: name, signup_password: password, signup_password_confirmation: password });
}

/** Native login through the login page's links and the login form's own action. */
export async function nativeLogin(s: BrowserSession, name: string, password: string, multi: boolean): Promise<Page> {
  return s.submit(await nativeLoginPage(s, multi), { username: name, password });
}

/** A user's server URL path as the scenario's sessions request it. */
export const userUrl = (name: string, rest: string) => `/user/${encodeURIComponent(name)}${rest}`;

/** Spawns the session's server through the hub's spawn page and waits until it answers the user's own cookie. */
export async function spawnThroughPages(api: HubApi, s: BrowserSession, name: string): Promise<void> {
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
