import * as fs from "node:fs";
import * as path from "node:path";

/** Root of the Pulumi project (the folder holding Pulumi.yaml). */
const projectDir = path.resolve(__dirname, "..");

/** The hub image's build context. */
const hubConfigDir = path.join(projectDir, "hub-config");

/**
 * Reads the pinned version of a Python package from hub-config/requirements.txt, the one place
 * where every Python version of the hub is pinned.
 */
export function pinnedPythonVersion(
  pkg: string,
  requirements = fs.readFileSync(path.join(hubConfigDir, "requirements.txt"), "utf8"),
): string {
  const line = requirements
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.toLowerCase().startsWith(`${pkg.toLowerCase()}==`));
  if (!line) throw new Error(`hub-config/requirements.txt does not pin ${pkg} (expected a line "${pkg}==X.Y.Z")`);
  return line.slice(pkg.length + 2).trim();
}

/** Versions that are not Python packages, pinned in versions.json at the project root. */
interface OtherVersions {
  readonly configurableHttpProxy: string;
  readonly caddy: string;
  /** PostgreSQL of the optional hub database (hub.database.type postgres). */
  readonly postgres: string;
  /** Prometheus of the optional monitoring. */
  readonly prometheus: string;
}

const otherVersions: OtherVersions = JSON.parse(fs.readFileSync(path.join(projectDir, "versions.json"), "utf8"));

/** JupyterHub version of the hub image; notebook images should bundle the same major version. */
export const jupyterhubVersion = pinnedPythonVersion("jupyterhub");

/** configurable-http-proxy version of the proxy image. */
export const configurableHttpProxyVersion = otherVersions.configurableHttpProxy;

/** Caddy version of the TLS front proxy image (hub.tls). */
export const caddyVersion = otherVersions.caddy;
/** PostgreSQL version of the optional hub database's image. */
export const postgresVersion = otherVersions.postgres;
/** Prometheus version of the optional monitoring's image. */
export const prometheusVersion = otherVersions.prometheus;

/** Upstream default images, derived from the pins above. */
export const defaultImages = {
  hubBase: `quay.io/jupyterhub/jupyterhub:${jupyterhubVersion}`,
  proxy: `quay.io/jupyterhub/configurable-http-proxy:${configurableHttpProxyVersion}`,
  notebook: `quay.io/jupyter/minimal-notebook:hub-${jupyterhubVersion}`,
  caddy: `caddy:${caddyVersion}`,
  postgres: `docker.io/library/postgres:${postgresVersion}-bookworm`,
  prometheus: `quay.io/prometheus/prometheus:v${prometheusVersion}`,
} as const;
