/**
 * The GMAP JupyterHub stack: validates the stack config, then declares the whole deployment.
 * `pulumi up` per stack; every setting is documented in docs/configuration.md ("Config reference").
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig, projectFiles, type LoadedConfig } from "./components/config";
import { JupyterHub } from "./components/jupyterhub";
import { adminUserNames } from "./components/identity";
import { engineAt } from "./components/pull-progress";

/**
 * Whether a config key holds an encrypted value: the CLI tells the program which keys do, and the
 * SDK reads that list (its own `isConfigSecret`, not in its type declarations).
 */
const isSecretKey = (key: string): boolean => (pulumi.runtime as unknown as { isConfigSecret(k: string): boolean }).isConfigSecret(key);

function load(): LoadedConfig {
  try {
    return loadConfig(pulumi.runtime.allConfig(), projectFiles(__dirname), isSecretKey);
  } catch (e) {
    // The keyed list of problems, once, without a stack trace; nothing has been declared yet.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

const { config, hookFiles } = load();

const hub = new JupyterHub("jupyterhub", {
  config,
  hookFiles,
  stack: pulumi.getStack(),
  hubContext: "hub-config",
  // `pulumi up` pulls missing images itself first, to report their progress; a preview pulls nothing
  // (nor does a run without the Pulumi engine, such as the unit tests' mocks)
  engine:
    pulumi.runtime.isDryRun() || pulumi.runtime.getEngine() === undefined ? undefined : engineAt(new pulumi.Config("docker").get("host")),
});

/** The URL users open. */
export const hubUrl = hub.url;
/** The main Docker network: the hub and the proxy (each user server runs on a network of its own). */
export const networkName = hub.networkName;
/** Volumes declared by the stack; they survive `pulumi destroy`. */
export const volumeNames = hub.volumeNames;
/** Notebook images users choose from, by short name. */
export const images = hub.images;
/** Hub admins, as the hub names them (with several providers: native:admin, github:octocat, ...). */
export const adminUsers = adminUserNames(config);
/** The hub container, for `docker logs`. */
export const hubContainer = hub.hubContainer;
/** API service tokens (secret): `pulumi stack output --show-secrets serviceTokens`. */
export const serviceTokens = hub.serviceTokens;
/**
 * First passwords of the native admins (secret), made by the deployment, never by sign-up:
 * `pulumi stack output --show-secrets adminPasswords`. Change it after the first login.
 */
export const adminPasswords = hub.adminPasswords;
