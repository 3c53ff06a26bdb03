/**
 * HTTPS (hub.tls): the front proxy's Caddy configuration as JSON, the paths inside its container
 * and the names it uses. Pure functions of the validated config; components/front-proxy.ts
 * declares the container, and docs/https.md tells the operator's side.
 *
 * Caddy (https://caddyserver.com) terminates TLS in front of configurable-http-proxy: it obtains
 * and renews ACME certificates by itself (HTTP-01 and TLS-ALPN-01), keeps them with its ACME
 * account in its storage directory (a retained volume), and proxies websockets without extra
 * configuration. Its JSON config is generated here in full, so nothing is left to its
 * automatic defaults that could differ between versions: one HTTP server that only redirects to
 * the public URL (ACME HTTP-01 challenges are answered before any route), one HTTPS server for the
 * public host name, and explicit TLS automation (acme) or loaded files (files).
 */
import { acmeDirectoryUrl, type PublicConfig } from "./config";
import { endpoints } from "./names";
import { stableJson } from "./settings";

/** The TLS settings of a validated config. */
export type TlsSettings = PublicConfig["hub"]["tls"];

/** True when the stack serves HTTPS itself (a front proxy container exists). */
export function tlsEnabled(config: Pick<PublicConfig, "hub">): boolean {
  return config.hub.tls.mode !== "off";
}

/** Paths inside the front proxy container. */
export const frontPaths = {
  /** The generated Caddy config (JSON). */
  config: "/etc/caddy/gmap-caddy.json",
  /** Root certificate(s) of a private ACME directory (hub.tls.acme.caRoot). */
  acmeCaRoot: "/etc/caddy/gmap-acme-ca-root.pem",
  /** The operator's certificate chain and key (mode files). */
  certificate: "/etc/caddy/gmap-tls/certificate.pem",
  key: "/etc/caddy/gmap-tls/key.pem",
  /** Mount point of the retained volume; Caddy's storage (ACME account, certificates) is below it. */
  data: "/data",
  storage: "/data/caddy",
} as const;

/** Ports Caddy listens on inside its container (published on the host's hub.tls ports). */
export const frontPorts = { http: 80, https: 443 } as const;

/** Where the front proxy forwards to: configurable-http-proxy's public port, by its alias on the front network. */
export const frontUpstream = `${endpoints.proxyFrontAlias}:${endpoints.proxyPort}`;

/** The public URL's origin (scheme, host, port other than 443) that HTTP redirects to. */
export function publicOrigin(url: string): string {
  return new URL(url).origin;
}

/** What the Caddy config is made of: the validated TLS settings and the public URL. */
export interface CaddyInput {
  readonly tls: TlsSettings;
  /** The hub's public URL (https, its host name is the certificate's). */
  readonly publicUrl: string;
}

/**
 * The front proxy's Caddy config (admin API off, nothing autosaved). Deterministic: the same input
 * always gives the same JSON, so `pulumi preview` stays quiet.
 */
export function caddyConfig(input: CaddyInput): Record<string, unknown> {
  const { tls } = input;
  if (tls.mode === "off") throw new Error("caddyConfig: hub.tls.mode is off, there is no front proxy");
  const url = new URL(input.publicUrl);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const headers =
    tls.hstsMaxAge > 0 ? [{ handler: "headers", response: { set: { "Strict-Transport-Security": [`max-age=${tls.hstsMaxAge}`] } } }] : [];
  const https = {
    listen: [`:${frontPorts.https}`],
    // HTTP/3 would need UDP published too; browsers use HTTP/2
    protocols: ["h1", "h2"],
    routes: [
      {
        match: [{ host: [host] }],
        handle: [
          ...headers,
          {
            handler: "reverse_proxy",
            upstreams: [{ dial: frontUpstream }],
            // JupyterHub's and the servers' event streams (spawn progress) and websockets pass as they come
            flush_interval: -1,
          },
        ],
        terminal: true,
      },
      // another Host over this certificate's connection: not ours
      { handle: [{ handler: "static_response", status_code: 421, body: "Misdirected Request\n" }] },
    ],
    // the HTTP server below redirects to the public URL itself (with its port)
    automatic_https: {
      disable_redirects: true,
      ...(tls.mode === "files" ? { skip_certificates: [host] } : {}),
    },
  };
  const http = {
    listen: [`:${frontPorts.http}`],
    routes: [
      {
        handle: [
          {
            handler: "static_response",
            status_code: 308,
            headers: { Location: [`${publicOrigin(input.publicUrl)}{http.request.uri}`] },
          },
        ],
      },
    ],
  };
  const tlsApp =
    tls.mode === "acme"
      ? {
          automation: {
            policies: [
              {
                subjects: [host],
                issuers: [
                  {
                    module: "acme",
                    ca: acmeDirectoryUrl(tls.acme?.directory ?? "letsencrypt"),
                    ...(tls.acme?.email ? { email: tls.acme.email } : {}),
                    ...(tls.acme?.caRoot ? { trusted_roots_pem_files: [frontPaths.acmeCaRoot] } : {}),
                  },
                ],
              },
            ],
          },
        }
      : { certificates: { load_files: [{ certificate: frontPaths.certificate, key: frontPaths.key, tags: ["gmap-operator"] }] } };
  return {
    admin: { disabled: true, config: { persist: false } },
    logging: { logs: { default: { level: "INFO" } } },
    storage: { module: "file_system", root: frontPaths.storage },
    apps: {
      http: { http_port: frontPorts.http, https_port: frontPorts.https, servers: { http, https } },
      tls: tlsApp,
    },
  };
}

/** The files written into the front proxy container, by path; `secret` ones hold the operator's key. */
export interface FrontFile {
  readonly file: string;
  readonly content: string;
  readonly permissions: string;
  readonly secret: boolean;
}

/**
 * Every file of the front proxy container: the config, a private ACME server's root (acme), the
 * operator's certificate and key (files). `certificate` and `key` are the values of the secret
 * keys tlsCertificate and tlsKey.
 */
export function frontFiles(input: CaddyInput, secrets: { certificate?: string; key?: string } = {}): FrontFile[] {
  const files: FrontFile[] = [{ file: frontPaths.config, content: stableJson(caddyConfig(input)), permissions: "0644", secret: false }];
  if (input.tls.mode === "acme" && input.tls.acme?.caRoot) {
    files.push({ file: frontPaths.acmeCaRoot, content: withNewline(input.tls.acme.caRoot), permissions: "0644", secret: false });
  }
  if (input.tls.mode === "files") {
    if (!secrets.certificate || !secrets.key) throw new Error("frontFiles: mode files needs tlsCertificate and tlsKey");
    files.push({ file: frontPaths.certificate, content: withNewline(secrets.certificate), permissions: "0644", secret: true });
    files.push({ file: frontPaths.key, content: withNewline(secrets.key), permissions: "0600", secret: true });
  }
  return files;
}

const withNewline = (s: string) => (s.endsWith("\n") ? s : `${s}\n`);

/** How Caddy starts: its own binary with the generated config, no autosave, no admin endpoint. */
export function caddyCommand(): string[] {
  return ["caddy", "run", "--config", frontPaths.config];
}
