/**
 * The stack configuration: one zod schema that is the single source of truth for its types,
 * defaults, documentation (the config reference in docs/configuration.md is generated from it) and
 * error messages. Each section (sections/*.ts) holds its fields, its value rules and its cross-key
 * checks; this file puts them together in the order of the config reference.
 *
 * Every top-level key lives in the `jupyterhub:` namespace of `Pulumi.<stack>.yaml`.
 */
import { z } from "zod";
import type { Issue } from "./rules";
import { authChecks, authFields } from "./sections/auth";
import { clientSecretFields, oauthProviders, type OAuthProvider } from "../providers";
import { clientSecretKey } from "../providers/provider";
import { egressChecks } from "./sections/egress";
import { engineChecks, engineFields } from "./sections/engine";
import { hubFields, proxyFields } from "./sections/hub";
import { imageChecks, imageFields } from "./sections/images";
import { logsFields } from "./sections/logs";
import { monitoringChecks, monitoringFields } from "./sections/monitoring";
import { cullerFields, serviceChecks, servicesFields } from "./sections/services";
import { sizeChecks, sizeFields } from "./sections/sizes";
import { spawnerChecks, spawnerFields } from "./sections/spawner";
import { hooksFields, stackFields } from "./sections/stack";
import { registryChecks, registryFields, registryPasswordsField } from "./sections/registries";
import { quotaChecks, shareCredentialsField, storageChecks, storageFields } from "./sections/storage";
import { tlsCertificateField, tlsChecks, tlsKeyField } from "./sections/tls";

/** Namespace of every config key (the project name in Pulumi.yaml). */
export const configNamespace = "jupyterhub";

/** The schema of every `jupyterhub:` key. Secrets are separate keys, set with `pulumi config set --secret`. */
export const configFields = z
  .object({
    ...stackFields,
    engine: engineFields,
    hub: hubFields,
    proxy: proxyFields,
    auth: authFields,
    ...imageFields,
    ...registryFields,
    ...sizeFields,
    spawner: spawnerFields,
    storage: storageFields,
    hooks: hooksFields,
    services: servicesFields,
    culler: cullerFields,
    logs: logsFields,
    monitoring: monitoringFields,
    ...clientSecretFields,
    tlsCertificate: tlsCertificateField,
    tlsKey: tlsKeyField,
    shareCredentials: shareCredentialsField,
    registryPasswords: registryPasswordsField,
  })
  .strict();

type Fields = z.output<typeof configFields>;

/** Every section's rules across keys, in the order their problems are listed. */
const sectionChecks: readonly ((cfg: Fields, issue: Issue) => void)[] = [
  imageChecks,
  registryChecks,
  sizeChecks,
  storageChecks,
  quotaChecks,
  engineChecks,
  authChecks,
  tlsChecks,
  serviceChecks,
  spawnerChecks,
  egressChecks,
  monitoringChecks,
];

/** The schema of every `jupyterhub:` key, with each section's rules across keys. */
export const configSchema = configFields.superRefine((cfg, ctx) => {
  const issue: Issue = (path, message) => ctx.addIssue({ code: "custom", path, message });
  for (const check of sectionChecks) check(cfg, issue);
});

/** A validated stack config, defaults applied. */
export type StackConfig = z.output<typeof configSchema>;
/** What an operator may write in the stack file. */
export type StackConfigInput = z.input<typeof configSchema>;

/** Config keys holding secrets: read with requireSecret and never copied into plain settings. */
export type SecretKey = `${OAuthProvider}ClientSecret` | "shareCredentials" | "tlsCertificate" | "tlsKey" | "registryPasswords";
export const secretKeys: readonly SecretKey[] = [
  ...oauthProviders.map(clientSecretKey),
  "shareCredentials",
  "tlsCertificate",
  "tlsKey",
  "registryPasswords",
];

/** The part of the config that never holds a secret. */
export type PublicConfig = Omit<StackConfig, SecretKey>;

/** The config without its secret keys (what may go into plain settings). */
export function withoutSecrets(config: StackConfig): PublicConfig {
  const copy: Partial<StackConfig> = { ...config };
  for (const key of secretKeys) delete copy[key];
  return copy as PublicConfig;
}
