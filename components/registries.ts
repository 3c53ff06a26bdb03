import type { StackConfig } from "./config";
import { registryOf } from "./image-reference";

/** One registry's credentials (the password is secret config). */
export interface RegistryCredentials {
  readonly server: string;
  readonly username: string;
  readonly password: string;
}

/** The credentials of every configured registry, in config order. */
export function registryCredentials(config: Pick<StackConfig, "registries" | "registryPasswords">): RegistryCredentials[] {
  return config.registries.map((r) => ({ server: r.server, username: r.username, password: config.registryPasswords[r.server]! }));
}

/** The credentials for pulling `ref`, when its registry is configured. */
export function credentialsFor(ref: string, credentials: readonly RegistryCredentials[]): RegistryCredentials | undefined {
  const server = registryOf(ref);
  return credentials.find((c) => c.server === server);
}

/** Docker's own key for Docker Hub in a client configuration file. */
const dockerHubKey = "https://index.docker.io/v1/";

/**
 * A Docker client configuration file (`config.json`, the format `docker login` writes) holding the
 * credentials: what the hub's Docker client reads for its pulls and, in swarm mode, sends with every
 * service it creates so that the workers pull with them.
 */
export function dockerClientConfig(credentials: readonly RegistryCredentials[]): string {
  const auths = Object.fromEntries(
    [...credentials]
      .sort((a, b) => a.server.localeCompare(b.server))
      .map((c) => [
        c.server === "docker.io" ? dockerHubKey : c.server,
        { auth: Buffer.from(`${c.username}:${c.password}`).toString("base64") },
      ]),
  );
  return `${JSON.stringify({ auths }, null, 2)}\n`;
}
