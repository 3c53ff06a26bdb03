/**
 * The registry of OAuth sign-in providers: a new one is its descriptor file beside this one, one
 * entry in `oauthRegistry`, and its hub module hub-config/gmap_hub/configure/<id>.py. Everything
 * else (the stack config's auth.<id> and <id>ClientSecret, the allow rules, the login facts, the
 * hub's settings and secrets and their contract, the groups it gives) follows from the descriptor.
 */
import { z } from "zod";
import { github } from "./github";
import { gitlab } from "./gitlab";
import { oidc } from "./oidc";
import { clientSecretKey, type OAuthProviderSpec, sectionOf } from "./provider";

/** The OAuth providers, in the order the config reference lists them. */
export const oauthRegistry = [github, gitlab, oidc] as const;

type Spec = (typeof oauthRegistry)[number];
/** An OAuth provider's id. */
export type OAuthProvider = Spec["id"];
type SpecOf<P extends OAuthProvider> = Extract<Spec, { readonly id: P }>;
type SectionSchema<P extends OAuthProvider> = ReturnType<typeof sectionOf<P, SpecOf<P>["section"], SpecOf<P>["settingsContract"]>>;
/** A provider's stack config section, validated. */
export type OAuthSection<P extends OAuthProvider> = NonNullable<z.output<SectionSchema<P>>>;

/** The ids of the OAuth providers. */
export const oauthProviders = oauthRegistry.map((p) => p.id) as unknown as readonly [OAuthProvider, ...OAuthProvider[]];

/** A provider's descriptor. */
export const oauthSpec = <P extends OAuthProvider>(id: P) => oauthRegistry.find((p) => p.id === id) as SpecOf<P>;

/** Whether a provider's own allow rules let someone in (its section as the schema validated it). */
export const groupRulesAllow = (p: OAuthProvider, section: object): boolean =>
  // each descriptor's function takes its own section: the registry calls it with that section only
  (oauthSpec(p).groupRules as unknown as (s: object) => boolean)(section);

const byProvider = <T>(value: (p: Spec) => T) => Object.fromEntries(oauthRegistry.map((p) => [p.id, value(p)]));

/** auth.<id> of every provider: the stack config's sections. */
export const oauthSections = byProvider((p) => sectionOf(p as unknown as OAuthProviderSpec<string, z.ZodRawShape, z.ZodRawShape>)) as {
  [P in OAuthProvider]: SectionSchema<P>;
};

/** <id>ClientSecret of every provider: the stack config's secret keys. */
export const clientSecretFields = Object.fromEntries(
  oauthRegistry.map((p) => [clientSecretKey(p.id), z.string().min(1).optional().describe(`Secret: ${p.service} OAuth client secret.`)]),
) as { [P in OAuthProvider as `${P}ClientSecret`]: z.ZodOptional<z.ZodString> };

/** The keys every provider's hub settings have. */
const commonSettings = {
  clientId: z.string().min(1),
  callbackUrl: z.url(),
  allowedUsers: z.array(z.string().min(1)),
  admins: z.array(z.string().min(1)),
  allowAll: z.boolean(),
};
type SettingsSchema<P extends OAuthProvider> = ReturnType<typeof settingsSchema<SpecOf<P>["settingsContract"]>>;
const settingsSchema = <S extends z.ZodRawShape>(own: S) => z.strictObject({ ...commonSettings, ...own }).optional();

/** settings.json auth.<id> of every provider: the contract. */
export const oauthSettingsContract = byProvider((p) => settingsSchema(p.settingsContract as z.ZodRawShape)) as {
  [P in OAuthProvider]: SettingsSchema<P>;
};

/** secrets.json <id>ClientSecret of every provider: the contract. */
export const clientSecretsContract = Object.fromEntries(
  oauthRegistry.map((p) => [clientSecretKey(p.id), z.string().min(1).optional()]),
) as {
  [P in OAuthProvider as `${P}ClientSecret`]: z.ZodOptional<z.ZodString>;
};

/** What the settings of the providers read of the config. */
interface ProvidersView {
  readonly auth: { readonly providers: readonly string[] } & { readonly [P in OAuthProvider]?: OAuthSection<P> | undefined };
}

/** settings.json auth.<id> of the enabled providers (absent for the others): the common keys, then the provider's own. */
export function oauthSettings(config: ProvidersView, callbackUrl: (p: OAuthProvider) => string) {
  return byProvider((p) => {
    const section = config.auth.providers.includes(p.id) ? config.auth[p.id] : undefined;
    if (!section) return undefined;
    const { clientId, allowedUsers, admins, allowAll } = section;
    const own = (p.settings as (s: typeof section) => object)(section);
    return { clientId, callbackUrl: callbackUrl(p.id), allowedUsers, admins, allowAll, ...own };
  }) as { [P in OAuthProvider]: z.input<SettingsSchema<P>> };
}

/** secrets.json <id>ClientSecret of the enabled providers. */
export function clientSecrets(config: { readonly auth: { readonly providers: readonly string[] } } & { readonly [K: string]: unknown }) {
  return Object.fromEntries(
    oauthRegistry.map((p) => {
      const key = clientSecretKey(p.id);
      return [key, config.auth.providers.includes(p.id) ? (config[key] as string | undefined) : undefined];
    }),
  ) as { [P in OAuthProvider as `${P}ClientSecret`]?: string };
}
