/**
 * The GMAP JupyterHub stack: validates the stack config, then declares the whole deployment.
 * `pulumi up` per stack; every setting is documented in docs/configuration.md ("Config reference").
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig, projectFiles, type LoadedConfig } from "./components/config";
import { JupyterHub } from "./components/jupyterhub";
import { adminUserNames } from "./components/identity";
import type Docker from "dockerode";
import { type DockerSettings, dockerSettingKeys, engineClient } from "./components/docker-engine";

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

/**
 * The engine `pulumi up` pulls on first (with the registries' credentials, reporting progress): the
 * one the stack's `docker:` settings name. None in a preview, nor without the Pulumi engine (the unit
 * tests' mocks), nor where the settings are the Docker CLI's own (then the provider pulls, silently).
 */
function pullEngine(): Docker | undefined {
  if (pulumi.runtime.isDryRun() || pulumi.runtime.getEngine() === undefined) return undefined;
  const docker = new pulumi.Config("docker");
  const settings = Object.fromEntries(
    dockerSettingKeys.map((k) => [k, k === "sshOpts" ? docker.getObject<string[]>(k) : docker.get(k)]),
  ) as DockerSettings;
  const client = engineClient(settings);
  if ("docker" in client) return client.docker;
  if (config.registries.length > 0) {
    throw new pulumi.RunError(
      `registries: \`pulumi up\` pulls with the registries' credentials through the Docker engine's API, which cannot follow ${client.unsupported}: give docker:host (and docker:certPath) instead`,
    );
  }
  pulumi.log.warn(`long pulls are not reported: the engine's API cannot follow ${client.unsupported}`);
  return undefined;
}

const hub = new JupyterHub("jupyterhub", {
  config,
  hookFiles,
  stack: pulumi.getStack(),
  hubContext: "hub-config",
  engine: pullEngine(),
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
/** The dashboards (monitoring.enabled), for the hub's admins: the hub's and the host's state. */
export const dashboardsUrl = config.monitoring.enabled ? `${hub.url}/hub/monitoring/` : undefined;
/** The hub container, for `docker logs`. */
export const hubContainer = hub.hubContainer;
/** API service tokens (secret): `pulumi stack output --show-secrets serviceTokens`. */
export const serviceTokens = hub.serviceTokens;
/**
 * First passwords of the native admins (secret), made by the deployment, never by sign-up:
 * `pulumi stack output --show-secrets adminPasswords`. Change it after the first login.
 */
export const adminPasswords = hub.adminPasswords;
