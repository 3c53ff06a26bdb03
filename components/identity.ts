/**
 * Who users are and where they come in: the one user-name rule, provider prefixes, the escaping of
 * user names in Docker names, admin names, the public URL and OAuth callback URLs. Pure functions of
 * the validated config; the config schema uses some of them for its rules.
 */

import { oauthProviders, oauthSpec, type OAuthProvider } from "./providers";

export { oauthProviders, type OAuthProvider };
export { userNameRule } from "./user-name-rule";

/** The login providers of auth.providers, in the order the config reference lists them: native accounts, then the OAuth providers (components/providers/). */
export const authProviders = ["native", ...oauthProviders] as readonly ["native", ...OAuthProvider[]];
export type AuthProvider = "native" | OAuthProvider;

/*
 * What these functions read of the validated stack config, written out here (the config's types
 * fit them) so that the config may use them without an import cycle.
 */
interface HubAddress {
  readonly hub: { readonly publicUrl?: string | undefined; readonly port: number };
}
interface ProviderAccounts {
  readonly admins: readonly string[];
  readonly callbackUrl?: string | undefined;
  readonly displayName?: string | undefined;
}
interface AuthChoice {
  readonly auth: {
    readonly providers: readonly AuthProvider[];
    readonly admins: readonly string[];
  } & { readonly [P in OAuthProvider]?: ProviderAccounts | undefined };
}

/** The URL users open. */
export function publicUrl(config: HubAddress): string {
  return (config.hub.publicUrl ?? `http://localhost:${config.hub.port}`).replace(/\/+$/, "");
}

/** The hub's base path: the path of its public URL without a trailing slash ("" at the root), under which its pages live (`<base>/hub/...`). */
export function basePath(url: string): string {
  return new URL(url).pathname.replace(/\/+$/, "");
}

/**
 * Prefix of the hub's user names of a provider: none with one provider; with several (the hub's
 * MultiAuthenticator) `native:`, `github:` or `gitlab:`, so equal logins of different providers
 * are different users (and get different servers and volumes).
 */
export function userNamePrefix(config: { readonly auth: Pick<AuthChoice["auth"], "providers"> }, provider: AuthProvider): string {
  return config.auth.providers.length > 1 ? `${provider}:` : "";
}

/** A provider's name on the login page (its "Sign in with ..." button): the configured displayName, else its own. */
export const loginService = (config: AuthChoice, provider: AuthProvider): string =>
  provider === "native" ? "Native" : (config.auth[provider]?.displayName ?? oauthSpec(provider).service);

/** Where a provider's pages live under /hub/ when there are several providers (the MultiAuthenticator's url_prefix). */
export function providerUrlPrefix(provider: AuthProvider): string {
  return `/${provider}`;
}

/** What the hub needs to know to sign users in with a provider: its login service name, URL prefix and user-name prefix. */
export function providerLogin(config: AuthChoice, provider: AuthProvider) {
  return {
    service: loginService(config, provider),
    urlPrefix: providerUrlPrefix(provider),
    userNamePrefix: userNamePrefix(config, provider),
  };
}

/** The hub's user name of a provider's login (logins are lower-cased by every authenticator). */
export function hubUserName(config: AuthChoice, provider: AuthProvider, login: string): string {
  return userNamePrefix(config, provider) + login.toLowerCase();
}

/**
 * DockerSpawner's escaping of a user name in container and volume names (`{username}`): a-z and
 * 0-9 are kept, every other character becomes `-` and the hex code of each of its UTF-8 bytes
 * (`:` -> `-3a`, `-` -> `-2d`, `.` -> `-2e`, `é` -> `-c3-a9`), then everything is lower-cased.
 */
export function escapeUserName(name: string): string {
  let out = "";
  for (const byte of Buffer.from(name, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[a-z0-9]/.test(c) ? c : `-${byte.toString(16).toUpperCase()}`;
  }
  return out.toLowerCase();
}

/** Native admin accounts the deployment creates (none when native sign-in is off). */
export function nativeAdmins(config: AuthChoice): string[] {
  return config.auth.providers.includes("native") ? [...new Set(config.auth.admins)].sort() : [];
}

/** Hub admins as the hub names them, per provider (native admins only when native is enabled). */
export function adminUserNames(config: AuthChoice): string[] {
  const { auth } = config;
  const names = [
    ...(auth.providers.includes("native") ? auth.admins.map((n) => hubUserName(config, "native", n)) : []),
    ...oauthProviders.flatMap((p) => (auth.providers.includes(p) ? (auth[p]?.admins ?? []).map((n) => hubUserName(config, p, n)) : [])),
  ];
  return [...new Set(names)].sort();
}

/** Path of a provider's OAuth callback under the public URL (each provider has its own prefix when there are several). */
export function oauthCallbackPath(config: AuthChoice, provider: OAuthProvider): string {
  return config.auth.providers.length > 1 ? `/hub${providerUrlPrefix(provider)}/oauth_callback` : "/hub/oauth_callback";
}

/** The OAuth callback URL the hub derives from its public URL when callbackUrl is not set. */
export function defaultOAuthCallbackUrl(config: AuthChoice & HubAddress, provider: OAuthProvider): string {
  return publicUrl(config) + oauthCallbackPath(config, provider);
}

/** The OAuth callback URL of a provider: the configured one, else derived from the public URL. */
export function oauthCallbackUrl(config: AuthChoice & HubAddress, provider: OAuthProvider): string {
  return config.auth[provider]?.callbackUrl ?? defaultOAuthCallbackUrl(config, provider);
}
