/**
 * The shape of a sign-in provider of the OAuth kind (GitHub, GitLab): one descriptor per provider
 * (its own file beside this one, listed in index.ts) says everything the program knows of it: its
 * login facts, its stack config section and allow rules, its settings for the hub and their
 * contract, the groups it gives. The secret key of its client secret is `<id>ClientSecret`. The hub
 * side is one module, hub-config/gmap_hub/configure/<id>.py (docs/architecture.md).
 */
import { z } from "zod";
import { httpUrl } from "../config/rules";

/** A descriptor: `Section` is the shape of its stack config section beyond the common keys, `Settings` that of its hub settings. */
export interface OAuthProviderSpec<Id extends string, Section extends z.ZodRawShape, Settings extends z.ZodRawShape> {
  /** Its name in auth.providers, in URLs and in secret keys. */
  readonly id: Id;
  /** Its name on the login page ("Sign in with ..."). */
  readonly service: string;
  /** The shape of its logins as the stack config writes them (allowedUsers, admins; lower case, no prefix). */
  readonly login: z.ZodString;
  /** The plural noun of its logins in descriptions, e.g. "GitHub logins". */
  readonly logins: string;
  /** auth.<id> beyond clientId, callbackUrl, allowedUsers, admins and allowAll. */
  readonly section: Section;
  /** The description of auth.<id>. */
  readonly description: string;
  /** Its own allow rules: true when one of them lets someone in. */
  readonly groupRules: (section: z.output<z.ZodObject<Section>>) => boolean;
  /** The group names it gives with manageGroups, and how they are written. */
  readonly groupName: { readonly pattern: RegExp; readonly hint: string };
  /** settings.json auth.<id> beyond the common OAuth keys: the contract, and the values from the section. */
  readonly settingsContract: Settings;
  readonly settings: (section: z.output<z.ZodObject<Section>>) => z.input<z.ZodObject<Settings>>;
}

/** Keeps a descriptor's literal types. */
export function oauthProvider<const Id extends string, Section extends z.ZodRawShape, Settings extends z.ZodRawShape>(
  spec: OAuthProviderSpec<Id, Section, Settings>,
): OAuthProviderSpec<Id, Section, Settings> {
  return spec;
}

/** The keys every OAuth provider's stack config section has. */
export const oauthCommon = (login: z.ZodString, what: string) => ({
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

/** The stack config section of a provider. */
export const sectionOf = <Id extends string, Section extends z.ZodRawShape, Settings extends z.ZodRawShape>(
  spec: OAuthProviderSpec<Id, Section, Settings>,
) =>
  z
    .object({ ...oauthCommon(spec.login, spec.logins), ...spec.section })
    .strict()
    .optional()
    .describe(spec.description);

/** The secret key of a provider's client secret. */
export const clientSecretKey = <Id extends string>(id: Id) => `${id}ClientSecret` as const;

/** A URL as the hub takes it: without trailing slashes. */
export const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, "");

/** settings.json auth.<id>.manageGroups: present when the provider gives the users' groups. */
export const manageGroupsSetting = z
  .literal(true)
  .optional()
  .describe("Present when the provider gives the users' groups (GitHub teams org:team-slug, GitLab group paths), read at every sign-in.");
