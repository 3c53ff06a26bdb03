import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { GeneratedSecrets, MonitoringTokens } from "./settings";

export interface HubSecretsArgs {
  /** Names of the API services that get a token. */
  readonly services: readonly string[];
  /** Native admin accounts the deployment creates, each with a generated password. */
  readonly nativeAdmins: readonly string[];
  /** Whether the stack runs monitoring (monitoring.enabled): Prometheus's and the exporter's tokens. */
  readonly monitoring: boolean;
}

/**
 * Secrets generated once and kept in Pulumi state (encrypted): the cookie secret (a new one would
 * log everybody out), the proxy token, the idle culler's token, one token per API service and the
 * first password of each native admin (the hub only gets its bcrypt hash); with monitoring, the
 * tokens Prometheus and the exporter talk to the hub with.
 */
export class HubSecrets extends pulumi.ComponentResource {
  /** Every generated secret, as one Pulumi secret. */
  public readonly generated: pulumi.Output<GeneratedSecrets>;
  /** The proxy's auth token (secret). */
  public readonly proxyAuthToken: pulumi.Output<string>;
  /** Service tokens keyed by service name (secret). */
  public readonly serviceTokens: pulumi.Output<Record<string, string>>;
  /** First passwords of the native admins, keyed by account name (secret). */
  public readonly adminPasswords: pulumi.Output<Record<string, string>>;
  /** Prometheus's and the exporter's hub tokens (secret), with monitoring on. */
  public readonly monitoringTokens: pulumi.Output<MonitoringTokens> | undefined;

  constructor(name: string, args: HubSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:random:Secrets", name, {}, opts);
    const password = (suffix: string, length: number) =>
      new random.RandomPassword(`${name}-${suffix}`, { length, special: false }, { parent: this });
    const token = (suffix: string) => password(suffix, 48).result;
    const cookieSecret = new random.RandomBytes(`${name}-cookie-secret`, { length: 32 }, { parent: this }).hex;
    this.proxyAuthToken = token("proxy-token");
    const cullerToken = token("culler-token");
    const services = [...args.services].sort();
    this.serviceTokens = pulumi.secret(pulumi.all(Object.fromEntries(services.map((s) => [s, token(`service-${s}`)]))));
    const admins = [...args.nativeAdmins].sort().map((admin) => [admin, password(`admin-${admin}`, 24)] as const);
    this.adminPasswords = pulumi.secret(pulumi.all(Object.fromEntries(admins.map(([admin, p]) => [admin, p.result]))));
    this.monitoringTokens = args.monitoring
      ? pulumi.secret(
          pulumi
            .all([token("prometheus-token"), token("exporter-token")])
            .apply(([prometheus, exporter]): MonitoringTokens => ({ prometheus, exporter })),
        )
      : undefined;
    const adminPasswordHashes = pulumi.all(Object.fromEntries(admins.map(([admin, p]) => [admin, p.bcryptHash])));
    this.generated = pulumi.secret(
      pulumi
        .all([cookieSecret, this.proxyAuthToken, cullerToken, this.serviceTokens, adminPasswordHashes, this.monitoringTokens])
        .apply(([cookie, proxyToken, culler, tokens, hashes, monitoringTokens]): GeneratedSecrets => ({
          cookieSecret: cookie,
          proxyAuthToken: proxyToken,
          cullerToken: culler,
          serviceTokens: tokens,
          adminPasswordHashes: hashes,
          ...(monitoringTokens ? { monitoringTokens } : {}),
        })),
    );
    this.registerOutputs({ serviceTokens: this.serviceTokens, adminPasswords: this.adminPasswords });
  }
}
