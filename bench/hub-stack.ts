/**
 * The stack behind a running hub, as the soak and load benchmarks see it on this Docker host: its
 * prefix (STACK_PREFIX, or the stack whose proxy publishes the port of HUB_URL), its containers'
 * names, the settings and secrets the hub was given, and commands run in its containers.
 */
import { hubPaths, labelKeys, names } from "../components/names";
import { docker, dockerExec } from "../test/e2e/engine";

/** One deployed stack's containers and what the hub was configured with. */
export class HubStack {
  readonly hubContainer: string;
  readonly proxyContainer: string;

  constructor(readonly prefix: string) {
    const n = names(prefix);
    this.hubContainer = n.hubContainer;
    this.proxyContainer = n.proxyContainer;
  }

  /** The stack of `hubUrl`: STACK_PREFIX when set, else the stack whose proxy publishes the URL's port. */
  static async of(hubUrl: string): Promise<HubStack> {
    if (process.env.STACK_PREFIX) return new HubStack(process.env.STACK_PREFIX);
    const url = new URL(hubUrl);
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const proxies = await docker.listContainers({ filters: { label: [`${labelKeys.component}=proxy`] } });
    const found = proxies.filter((c) => c.Ports.some((p) => p.PublicPort === port)).map((c) => c.Labels[labelKeys.prefix]);
    const fronts = await docker.listContainers({ filters: { label: [`${labelKeys.component}=front-proxy`] } });
    found.push(...fronts.filter((c) => c.Ports.some((p) => p.PublicPort === port)).map((c) => c.Labels[labelKeys.prefix]));
    const prefix = found.find((p): p is string => !!p);
    if (!prefix) throw new Error(`no stack on this Docker host publishes port ${port} of ${hubUrl}: set STACK_PREFIX`);
    return new HubStack(prefix);
  }

  /** The hub's settings.json (as the Pulumi program wrote it). */
  async settings(): Promise<any> {
    return JSON.parse(await dockerExec(this.hubContainer, ["cat", hubPaths.settings]));
  }

  /** The idle culler's API token (its own, from the hub's secrets), to stop servers exactly as the culler does. */
  async cullerToken(): Promise<string> {
    const secrets = JSON.parse(await dockerExec(this.hubContainer, ["cat", hubPaths.secrets]));
    if (typeof secrets.cullerToken !== "string") throw new Error(`${this.hubContainer}: no cullerToken in the hub's secrets`);
    return secrets.cullerToken;
  }
}
