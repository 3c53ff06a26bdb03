import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { GeneratedSecrets } from "./settings";

export interface HubSecretsArgs {
  /** Names of the API services that get a token. */
  readonly services: readonly string[];
}

/**
 * Secrets generated once and kept in Pulumi state (encrypted): the cookie secret (a new one would
 * log everybody out), the proxy token, the idle culler's token and one token per API service.
 */
export class HubSecrets extends pulumi.ComponentResource {
  /** Every generated secret, as one Pulumi secret. */
  public readonly generated: pulumi.Output<GeneratedSecrets>;
  /** The proxy's auth token (secret). */
  public readonly proxyAuthToken: pulumi.Output<string>;
  /** Service tokens keyed by service name (secret). */
  public readonly serviceTokens: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: HubSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:random:Secrets", name, {}, opts);
    const token = (suffix: string) =>
      new random.RandomPassword(`${name}-${suffix}`, { length: 48, special: false }, { parent: this }).result;
    const cookieSecret = new random.RandomBytes(`${name}-cookie-secret`, { length: 32 }, { parent: this }).hex;
    this.proxyAuthToken = token("proxy-token");
    const cullerToken = token("culler-token");
    const services = [...args.services].sort();
    this.serviceTokens = pulumi.secret(
      pulumi.all(Object.fromEntries(services.map((s) => [s, token(`service-${s}`)]))),
    );
    this.generated = pulumi.secret(
      pulumi
        .all([cookieSecret, this.proxyAuthToken, cullerToken, this.serviceTokens])
        .apply(([cookie, proxyToken, culler, tokens]): GeneratedSecrets => ({
          cookieSecret: cookie,
          proxyAuthToken: proxyToken,
          cullerToken: culler,
          serviceTokens: tokens,
        })),
    );
    this.registerOutputs({ serviceTokens: this.serviceTokens });
  }
}
