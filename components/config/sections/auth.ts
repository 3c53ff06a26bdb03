/**
 * auth and the secret keys githubClientSecret and gitlabClientSecret: who can log in, with which
 * providers (the provider list and its login facts: identity.ts), and what each enabled provider
 * needs.
 */
import { z } from "zod";
import { authProviders, defaultOAuthCallbackUrl, oauthProviders, type OAuthProvider, userNameRule } from "../../identity";
import { baseUrl, duplicates, httpUrl, orList, urlPath, type Issue } from "../rules";

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
export const githubLogin = z
  .string()
  .regex(
    /^[a-z0-9](?:-?[a-z0-9]){0,38}$/,
    'GitHub logins are lower-case letters, digits and single hyphens, at most 39 characters (the hub lower-cases logins; write them without a "github:" prefix)',
  );
export const gitlabUsername = z
  .string()
  .regex(
    /^[a-z0-9_][a-z0-9_.-]{0,47}$/,
    'GitLab usernames are lower-case letters, digits, "_", "." and "-", at most 48 characters here (the hub lower-cases logins; write them without a "gitlab:" prefix)',
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

const oauthCommon = (login: z.ZodString, what: string) => ({
  clientId: z
    .string()
    .regex(/^\S+$/, "clientId is the OAuth application's client id (no spaces)")
    .describe("Client id of the OAuth application (the client secret goes into a secret key)."),
  callbackUrl: httpUrl("callbackUrl")
    .optional()
    .describe(
      "OAuth callback URL registered with the provider; default <hub.publicUrl>/hub/oauth_callback with this provider alone, <hub.publicUrl>/hub/<provider>/oauth_callback with several providers.",
    ),
  allowedUsers: z.array(login).default([]).describe(`${what} allowed to log in besides the group rules (without the provider prefix).`),
  admins: z.array(login).default([]).describe(`${what} who are hub admins (and may log in).`),
  allowAll: z.boolean().default(false).describe("Allow every account of the provider (no allow rule needed)."),
});

const githubAuth = z
  .object({
    ...oauthCommon(githubLogin, "GitHub logins"),
    url: baseUrl("url", "https://github.example.org").optional().describe("GitHub Enterprise Server base URL; default https://github.com."),
    apiUrl: baseUrl("apiUrl", "https://github.example.org/api/v3")
      .optional()
      .describe("GitHub REST API URL; default https://api.github.com for github.com, <url>/api/v3 for GitHub Enterprise Server."),
    allowedOrganizations: z
      .array(z.string().regex(/^[A-Za-z0-9-]+(:[A-Za-z0-9_.-]+)?$/, "entries are `org` or `org:team-slug`"))
      .default([])
      .describe("GitHub organizations (`org`) or teams (`org:team-slug`) whose members may log in (asks for the read:org scope)."),
    manageGroups: z
      .boolean()
      .default(false)
      .describe(
        "JupyterHub groups from the user's GitHub teams, named `org:team-slug` in lower case and read at every sign-in (asks for the read:org scope); sizes name them in groups. The stack config then declares no groups.",
      ),
  })
  .strict();

const gitlabAuth = z
  .object({
    ...oauthCommon(gitlabUsername, "GitLab usernames"),
    url: baseUrl("url", "https://gitlab.example.org")
      .default("https://gitlab.com")
      .describe("Base URL of the GitLab instance (self-hosted allowed, also under a path)."),
    allowedGroups: z
      .array(
        z
          .string()
          .regex(
            /^[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*$/,
            "entries are group paths such as `gmap` or `gmap/science` (no leading or trailing /)",
          ),
      )
      .default([])
      .describe("GitLab group paths (with subgroups: `group/subgroup`) whose members, direct or inherited, may log in."),
    allowedProjectIds: z.array(z.int().positive()).default([]).describe("Members (developer or above) of these project ids may log in."),
    manageGroups: z
      .boolean()
      .default(false)
      .describe(
        "JupyterHub groups from the user's GitLab groups, named by their full path in lower case (`gmap/science`) and read at every sign-in (asks for the read_api scope); sizes name them in groups. The stack config then declares no groups.",
      ),
  })
  .strict();

type OAuthSection<P extends OAuthProvider> = z.output<{ github: typeof githubAuth; gitlab: typeof gitlabAuth }[P]>;

/** Each OAuth provider's own allow rules (besides allowAll, allowedUsers and admins): true when one lets someone in. */
const groupRules: { readonly [P in OAuthProvider]: (section: OAuthSection<P>) => boolean } = {
  github: (s) => s.allowedOrganizations.length > 0,
  gitlab: (s) => s.allowedGroups.length > 0 || s.allowedProjectIds.length > 0,
};

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
    github: githubAuth.optional().describe("GitHub OAuth; client secret in secret key githubClientSecret."),
    gitlab: gitlabAuth.optional().describe("GitLab OAuth; client secret in secret key gitlabClientSecret."),
  })
  .strict()
  .prefault({})
  .describe("Who can log in.");

/** The secret key of an OAuth provider's client secret. */
export const clientSecretKey = <P extends OAuthProvider>(provider: P) => `${provider}ClientSecret` as const;

/** Secret key githubClientSecret. */
export const githubClientSecretField = z.string().min(1).optional().describe("Secret: GitHub OAuth client secret.");
/** Secret key gitlabClientSecret. */
export const gitlabClientSecretField = z.string().min(1).optional().describe("Secret: GitLab OAuth client secret.");

/** What authChecks reads of the config. */
type AuthView = {
  readonly auth: z.output<typeof authFields>;
  readonly hub: { readonly publicUrl?: string | undefined; readonly port: number };
} & { readonly [P in OAuthProvider as ReturnType<typeof clientSecretKey<P>>]?: string | undefined };

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

function oauthChecks<P extends OAuthProvider>(cfg: AuthView, p: P, issue: Issue): void {
  const providers = cfg.auth.providers;
  const section = cfg.auth[p] as OAuthSection<P> | undefined;
  const secretKey = clientSecretKey(p);
  if (providers.includes(p)) {
    if (!section) issue(["auth", p], `provider ${p} is enabled: set auth.${p}.clientId (and its allow rules)`);
    const secret = cfg[secretKey];
    if (!secret) issue([secretKey], `provider ${p} is enabled: pulumi config set --secret ${secretKey} <client secret>`);
    else if (secret.trim() !== secret || /\s/.test(secret))
      issue([secretKey], "the client secret contains spaces or line breaks: set it again without them");
    if (section) {
      const rules = section.allowAll || section.allowedUsers.length > 0 || section.admins.length > 0 || groupRules[p](section);
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
