/**
 * hub.tls and the secret keys tlsCertificate and tlsKey: HTTPS by a TLS-terminating front proxy
 * (Caddy) in front of the proxy (docs/https.md), and what each TLS mode needs of the hub's address.
 */
import { z } from "zod";
import { defaultImages } from "../../versions";
import { acmeDirectoryUrl, letsEncryptDirectories } from "../acme";
import { certificateForHostProblem, certificatePemProblem, privateKeyPemProblem } from "../pem";
import {
  imageRef,
  isIpHost,
  isLoopbackAddress,
  isPublicBindAddress,
  parsedUrl,
  reportProblem,
  secretPlaceholder,
  type Issue,
} from "../rules";

const acmeDirectoryError = 'hub.tls.acme.directory is "letsencrypt", "letsencrypt-staging" or the https URL of an ACME directory';

/** HTTPS: a TLS-terminating front proxy (Caddy) in front of the proxy (docs/https.md). */
export const tlsFields = z
  .object({
    mode: z
      .enum(["off", "acme", "files"], { error: 'hub.tls.mode is "off", "acme" or "files"' })
      .default("off")
      .describe(
        "off: plain HTTP from the proxy on hub.port (a host that terminates TLS itself); acme: automatic certificates for the host name of hub.publicUrl (Let's Encrypt by default); files: the operator's certificate and key (secret keys tlsCertificate, tlsKey).",
      ),
    acme: z
      .object({
        email: z
          .email({ error: "hub.tls.acme.email must be an e-mail address such as ops@example.org" })
          .optional()
          .describe("Contact e-mail of the ACME account (the CA's notices about the certificates)."),
        directory: z
          .union([z.enum(["letsencrypt", "letsencrypt-staging"]), z.url({ protocol: /^https$/, error: acmeDirectoryError })], {
            error: acmeDirectoryError,
          })
          .default("letsencrypt")
          .describe(
            'ACME directory: "letsencrypt" (production), "letsencrypt-staging" (untrusted test certificates, generous rate limits) or the https URL of another ACME server.',
          ),
        caRoot: z
          .string()
          .superRefine(reportProblem((v) => certificatePemProblem(v, "hub.tls.acme.caRoot")))
          .optional()
          .describe(
            "PEM root certificate(s) the ACME directory's own HTTPS is trusted with, for a private ACME server (e.g. step-ca, Pebble); not needed for Let's Encrypt.",
          ),
      })
      .strict()
      .optional()
      .describe("Automatic certificates (mode acme)."),
    httpPort: z
      .int()
      .min(1)
      .max(65535)
      .default(80)
      .describe("Host port of plain HTTP (redirects to HTTPS; ACME HTTP-01 validation) with tls on."),
    httpsPort: z.int().min(1).max(65535).default(443).describe("Host port of HTTPS with tls on."),
    hstsMaxAge: z
      .int()
      .min(0)
      .max(63072000)
      .default(31536000)
      .describe("Strict-Transport-Security max-age in seconds sent over HTTPS (0: no HSTS header)."),
    image: imageRef.default(defaultImages.caddy).describe("Caddy image of the front proxy."),
  })
  .strict()
  .prefault({})
  .describe(
    "HTTPS. With acme or files a Caddy container publishes hub.tls.httpPort and hub.tls.httpsPort on hub.bindAddress, redirects HTTP to HTTPS, sends HSTS and keeps its certificates in the volume <prefix>-hub-tls; the proxy then publishes nothing.",
  );

/** Secret key tlsCertificate. */
export const tlsCertificateField = z
  .string()
  .superRefine(reportProblem((v) => (v === secretPlaceholder ? undefined : certificatePemProblem(v, "tlsCertificate"))))
  .optional()
  .describe("Secret: PEM certificate chain of hub.tls.mode files (the server's certificate first, then intermediates).");

/** Secret key tlsKey. */
export const tlsKeyField = z
  .string()
  .superRefine(reportProblem((v) => (v === secretPlaceholder ? undefined : privateKeyPemProblem(v, "tlsKey"))))
  .optional()
  .describe("Secret: PEM private key of tlsCertificate (hub.tls.mode files), unencrypted.");

/** What tlsChecks reads of the config. */
interface TlsView {
  readonly hub: {
    readonly tls: z.output<typeof tlsFields>;
    readonly publicUrl?: string | undefined;
    readonly bindAddress: string;
    readonly port: number;
  };
  readonly tlsCertificate?: string | undefined;
  readonly tlsKey?: string | undefined;
}

/** What the TLS mode needs of the public URL, the ports and the bind address, and its secrets only with mode files. */
export function tlsChecks(cfg: TlsView, issue: Issue): void {
  const tls = cfg.hub.tls;
  const hubUrl = cfg.hub.publicUrl !== undefined ? parsedUrl(cfg.hub.publicUrl) : undefined;
  const bind = cfg.hub.bindAddress;
  if (tls.mode === "off") {
    if (hubUrl?.protocol === "https:" && isPublicBindAddress(bind)) {
      issue(
        ["hub", "tls", "mode"],
        `hub.publicUrl is https, but with hub.tls.mode off the proxy serves plain HTTP on ${bind}:${cfg.hub.port}, reachable from outside: set hub.tls.mode to acme (automatic certificates) or files, or bind hub.bindAddress to 127.0.0.1 (or the private address a TLS-terminating proxy forwards to)`,
      );
    }
  } else {
    if (cfg.hub.publicUrl === undefined) {
      issue(
        ["hub", "publicUrl"],
        `hub.tls.mode ${tls.mode} serves HTTPS for the host name of hub.publicUrl: set it, e.g. https://hub.example.org`,
      );
    } else if (hubUrl && hubUrl.protocol !== "https:") {
      issue(["hub", "publicUrl"], `hub.tls.mode is ${tls.mode}: hub.publicUrl must start with https://`);
    } else if (hubUrl) {
      const port = hubUrl.port === "" ? 443 : Number(hubUrl.port);
      if (port !== tls.httpsPort) {
        issue(
          ["hub", "publicUrl"],
          `hub.publicUrl has port ${port}, but the front proxy publishes HTTPS on hub.tls.httpsPort ${tls.httpsPort}: make them equal`,
        );
      }
    }
    if (tls.httpPort === tls.httpsPort) issue(["hub", "tls", "httpPort"], "hub.tls.httpPort and hub.tls.httpsPort must differ");
  }
  if (tls.mode !== "acme" && tls.acme !== undefined) issue(["hub", "tls", "acme"], "hub.tls.acme is only used with hub.tls.mode acme");
  if (tls.mode === "acme") {
    const host = hubUrl?.hostname;
    if (host !== undefined && isIpHost(host)) {
      issue(
        ["hub", "publicUrl"],
        `hub.tls.mode acme gets certificates for a host name, and ${host} is an IP address: give the DNS name that points to this host, or use hub.tls.mode files`,
      );
    } else if (host !== undefined && !host.includes(".")) {
      issue(["hub", "publicUrl"], `hub.tls.mode acme needs a fully qualified host name that DNS points to this host, not "${host}"`);
    }
    if (!tls.acme?.email) {
      issue(
        ["hub", "tls", "acme", "email"],
        "hub.tls.mode acme needs a contact e-mail for the ACME account (the CA's notices about expiring or revoked certificates)",
      );
    }
    const directory = acmeDirectoryUrl(tls.acme?.directory ?? "letsencrypt");
    if ((Object.values(letsEncryptDirectories) as string[]).includes(directory)) {
      if (isLoopbackAddress(bind)) {
        issue(
          ["hub", "bindAddress"],
          `Let's Encrypt validates the host name from the internet, and hub.bindAddress ${bind} is reachable from this host only: set 0.0.0.0 (or the host's public address)`,
        );
      }
      if (tls.httpPort !== 80 && tls.httpsPort !== 443) {
        issue(
          ["hub", "tls", "httpPort"],
          "Let's Encrypt validates on port 80 (HTTP-01) or 443 (TLS-ALPN-01): publish at least one of them (hub.tls.httpPort 80 or hub.tls.httpsPort 443)",
        );
      }
      if (host !== undefined && /\.(test|example|invalid|localhost|local|internal|lan|home\.arpa)$/.test(host)) {
        issue(["hub", "publicUrl"], `Let's Encrypt issues certificates for public DNS names only, not ${host}`);
      }
    }
  }
  if (tls.mode === "files") {
    if (!cfg.tlsCertificate) {
      issue(["tlsCertificate"], "hub.tls.mode files: pulumi config set --secret tlsCertificate < fullchain.pem");
    }
    if (!cfg.tlsKey) issue(["tlsKey"], "hub.tls.mode files: pulumi config set --secret tlsKey < privkey.pem");
    const cert = cfg.tlsCertificate;
    const key = cfg.tlsKey;
    if (
      cert &&
      key &&
      hubUrl &&
      cert !== secretPlaceholder &&
      key !== secretPlaceholder &&
      !certificatePemProblem(cert, "tlsCertificate") &&
      !privateKeyPemProblem(key, "tlsKey")
    ) {
      const problem = certificateForHostProblem(cert, key, hubUrl.hostname, new Date());
      if (problem) issue(["tlsCertificate"], problem);
    }
  } else {
    if (cfg.tlsCertificate !== undefined) issue(["tlsCertificate"], "tlsCertificate is only used with hub.tls.mode files");
    if (cfg.tlsKey !== undefined) issue(["tlsKey"], "tlsKey is only used with hub.tls.mode files");
  }
}
