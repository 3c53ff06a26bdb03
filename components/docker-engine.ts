/**
 * A client of the Docker engine a stack deploys to, from the stack's `docker:` settings (those of
 * the Docker provider: `docker:host`, `docker:certPath`, `docker:caMaterial`, ...), for what the
 * program and the operator commands do through the engine's API: pulls with progress reports and
 * registry credentials, looking up digests, pruning old versions.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Docker from "dockerode";

/** The `docker:` settings of a stack, as the Docker provider reads them. */
export interface DockerSettings {
  readonly host?: string | undefined;
  readonly certPath?: string | undefined;
  readonly caMaterial?: string | undefined;
  readonly certMaterial?: string | undefined;
  readonly keyMaterial?: string | undefined;
  readonly sshOpts?: readonly string[] | undefined;
  readonly context?: string | undefined;
}

/** Keys of the `docker:` namespace that DockerSettings holds. */
export const dockerSettingKeys = ["host", "certPath", "caMaterial", "certMaterial", "keyMaterial", "sshOpts", "context"] as const;

/** The engine the settings name, or the settings an API client cannot follow (the Docker CLI's own options). */
export type EngineClient = { readonly docker: Docker } | { readonly unsupported: string };

/**
 * A client of the engine the settings name: without `host`, the engine of DOCKER_HOST (else the
 * local socket), as the provider does; `unix://`, `tcp://` (TLS from certPath or the materials, or
 * port 2376) and `ssh://` (keys from the SSH agent) otherwise. `sshOpts` and `context` are options
 * of the Docker CLI, which the provider runs: no API client follows them.
 */
export function engineClient(settings: DockerSettings): EngineClient {
  const cliOnly = (["sshOpts", "context"] as const).filter((k) => settings[k] !== undefined && settings[k]?.length !== 0);
  if (cliOnly.length) return { unsupported: cliOnly.map((k) => `docker:${k}`).join(", ") };
  const host = settings.host;
  if (!host) return { docker: new Docker() };
  if (host.startsWith("unix://")) return { docker: new Docker({ socketPath: host.slice("unix://".length) }) };
  const url = new URL(host.includes("://") ? host : `tcp://${host}`);
  if (url.protocol === "ssh:") {
    return {
      docker: new Docker({
        protocol: "ssh",
        host: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        ...(url.username ? { username: url.username } : {}),
        sshOptions: { agent: process.env.SSH_AUTH_SOCK },
      }),
    };
  }
  if (url.protocol !== "tcp:" && url.protocol !== "http:" && url.protocol !== "https:")
    return { unsupported: `docker:host ${url.protocol}` };
  const file = (name: string) => (settings.certPath ? fs.readFileSync(path.join(settings.certPath, name), "utf8") : undefined);
  const tls = {
    ca: settings.caMaterial ?? file("ca.pem"),
    cert: settings.certMaterial ?? file("cert.pem"),
    key: settings.keyMaterial ?? file("key.pem"),
  };
  const https = url.protocol === "https:" || url.port === "2376" || Object.values(tls).some((v) => v !== undefined);
  return {
    docker: new Docker({
      protocol: https ? "https" : "http",
      host: url.hostname,
      port: Number(url.port || (https ? 2376 : 2375)),
      ...(https ? Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined)) : {}),
    }),
  };
}
