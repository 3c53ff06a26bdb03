/**
 * auth and the OAuth providers' secret keys (<provider>ClientSecret): who can log in, with which
 * providers (native accounts here; each OAuth provider's section and rules: components/providers/),
 * and what each enabled provider needs.
 */
import { z } from "zod";
import { authProviders, defaultOAuthCallbackUrl, oauthProviders, type OAuthProvider, userNameRule } from "../../identity";
import { clientSecretKey } from "../../providers/provider";
import { groupRulesAllow, oauthSections } from "../../providers";
import { duplicates, orList, urlPath, type Issue } from "../rules";

/**
 * User names as the hub sees them (identity.ts userNameRule): every authenticator lower-cases
 * logins, so a name with capitals would never match. Names are written without the provider prefix
 * (`github:`) of multi-provider hubs; the program adds it.
 */
export const userName = new RegExp(`^${userNameRule.source}$`);
export const nativeUserName = z
  .string()
  .regex(
    userName,
    'user names are 1-48 lower-case letters, digits, ".", "_", "@" and "-", starting with a letter, digit or "_" (the hub lower-cases every login; no provider prefix)',
  );
const nativeAuth = z
  .object({
    openSignup: z.boolean().default(false).describe("Let new sign-ups log in without an admin authorizing them at /hub/authorize."),
    minimumPasswordLength: z.int().min(8, "use at least 8 characters").max(128).default(10).describe("Minimum password length."),
    allowedFailedLogins: z.int().min(1).max(100).default(5).describe("Failed logins before the account is locked for a while."),
    secondsBeforeNextTry: z.int().min(10).max(86400).default(600).describe("Lockout time after too many failed logins, in seconds."),
    checkCommonPassword: z.boolean().default(true).describe("Refuse the most common passwords at sign-up."),
    askEmail: z.boolean().default(false).describe("Ask for an e-mail address at sign-up."),
  })
  .strict();

export const authFields = z
  .object({
    providers: z
      .array(z.enum(authProviders, { error: `providers are ${orList(authProviders.map((p) => JSON.stringify(p)))}` }))
      .min(1, "enable at least one provider")
      .default(["native"])
      .describe(
        "Login providers; several at once are offered side by side, and user names then carry the provider's prefix (`github:octocat`, see docs/oauth.md).",
      ),
    admins: z
      .array(nativeUserName)
      .default([])
      .describe(
        "Native accounts that are hub admins. The deployment creates each with a generated password (pulumi stack output --show-secrets adminPasswords); nobody can sign up with these names. Admins of GitHub and GitLab: auth.github.admins, auth.gitlab.admins.",
      ),
    allowedUsers: z
      .array(nativeUserName)
      .default([])
      .describe(
        "Native accounts allowed to log in (they still sign up and are authorized by an admin); empty: anyone who signs up and is authorized. Removing a name revokes its access.",
      ),
    native: nativeAuth.prefault({}).describe("NativeAuthenticator (sign-up with user name and password)."),
    ...oauthSections,
  })
  .strict()
  .prefault({})
  .describe("Who can log in.");

/** The keys every OAuth provider's section has (components/providers/provider.ts oauthCommon). */
interface OAuthCommon {
  readonly clientId: string;
  readonly callbackUrl?: string | undefined;
  readonly allowedUsers: readonly string[];
  readonly admins: readonly string[];
  readonly allowAll: boolean;
}

/** What authChecks reads of the config. */
type AuthView = {
  readonly auth: z.output<typeof authFields>;
  readonly hub: { readonly publicUrl?: string | undefined; readonly port: number };
} & { readonly [P in OAuthProvider as `${P}ClientSecret`]?: string | undefined };

/** Providers listed once, native accounts only with native, and what each OAuth provider needs when enabled (and only then). */
export function authChecks(cfg: AuthView, issue: Issue): void {
  const providers = cfg.auth.providers;
  duplicates(providers).forEach((p) => issue(["auth", "providers"], `provider "${p}" is listed twice`));
  if (!providers.includes("native")) {
    for (const key of ["admins", "allowedUsers"] as const) {
      if (cfg.auth[key].length > 0) {
        issue(
          ["auth", key],
          `auth.${key} lists native accounts, but "native" is not in auth.providers: use auth.github.${key} or auth.gitlab.${key}`,
        );
      }
    }
  }
  for (const p of oauthProviders) oauthChecks(cfg, p, issue);
}

function oauthChecks(cfg: AuthView, p: OAuthProvider, issue: Issue): void {
  const providers = cfg.auth.providers;
  const section = cfg.auth[p] as OAuthCommon | undefined;
  const secretKey = clientSecretKey(p);
  if (providers.includes(p)) {
    if (!section) issue(["auth", p], `provider ${p} is enabled: set auth.${p}.clientId (and its allow rules)`);
    const secret = cfg[secretKey];
    if (!secret) issue([secretKey], `provider ${p} is enabled: pulumi config set --secret ${secretKey} <client secret>`);
    else if (secret.trim() !== secret || /\s/.test(secret))
      issue([secretKey], "the client secret contains spaces or line breaks: set it again without them");
    if (section) {
      const rules = section.allowAll || section.allowedUsers.length > 0 || section.admins.length > 0 || groupRulesAllow(p, section);
      if (!rules) issue(["auth", p], `nobody could log in with ${p}: add allowed users/organizations/groups, or allowAll: true`);
      const got = section.callbackUrl !== undefined ? urlPath(section.callbackUrl) : undefined;
      const expected = urlPath(defaultOAuthCallbackUrl(cfg, p));
      if (got !== undefined && expected !== undefined) {
        if (got !== expected) {
          const why = providers.length > 1 ? " (with several providers each has its own prefix)" : "";
          issue(
            ["auth", p, "callbackUrl"],
            `the hub serves the ${p} callback at ${expected}${why}, not at ${got || "/"}: fix the path or leave callbackUrl unset`,
          );
        }
      }
    }
  } else if (section) {
    issue(["auth", p], `auth.${p} is configured but "${p}" is not in auth.providers`);
  }
}
