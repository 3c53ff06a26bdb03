/**
 * PEM texts of hub.tls (the operator's certificate chain and key, a private ACME server's root):
 * their form, and whether a certificate and key serve the hub's host name. Messages never show the
 * value itself.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { isIpHost } from "./rules";

/** The PEM blocks of a text, by label (CERTIFICATE, PRIVATE KEY, EC PRIVATE KEY, ...). */
export function pemBlocks(text: string): { label: string; pem: string }[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g)].map((m) => ({ label: m[1]!, pem: m[0] }));
}

/**
 * Why a PEM text is not one or more certificates (a chain: the server's first), or undefined. Only
 * the form and that each parses; the value itself is never put into a message.
 */
export function certificatePemProblem(text: string, what: string): string | undefined {
  const blocks = pemBlocks(text);
  if (blocks.length === 0 || blocks.some((b) => b.label !== "CERTIFICATE"))
    return `${what} must be PEM certificates only (-----BEGIN CERTIFICATE----- blocks, the server's certificate first, then its intermediates)`;
  for (const b of blocks) {
    try {
      new X509Certificate(b.pem);
    } catch {
      return `${what} holds a certificate block that does not parse: export it again as PEM`;
    }
  }
  return undefined;
}

/** Why a PEM text is not one private key, or undefined (the key is never put into a message). */
export function privateKeyPemProblem(text: string, what: string): string | undefined {
  const blocks = pemBlocks(text);
  if (blocks.length !== 1 || !/PRIVATE KEY$/.test(blocks[0]!.label))
    return `${what} must be one unencrypted PEM private key (-----BEGIN PRIVATE KEY-----, RSA or EC)`;
  try {
    createPrivateKey(blocks[0]!.pem);
  } catch {
    return `${what} does not parse as a private key (is it encrypted? give it without a passphrase)`;
  }
  return undefined;
}

/**
 * Why an operator's certificate and key do not serve `host` (the public URL's host name) now, or
 * undefined: the key must belong to the first certificate, which must name the host and be valid
 * at `now`. Assumes both have passed the form checks above.
 */
export function certificateForHostProblem(certificate: string, key: string, host: string, now: Date): string | undefined {
  const leaf = new X509Certificate(pemBlocks(certificate)[0]!.pem);
  if (!leaf.checkPrivateKey(createPrivateKey(pemBlocks(key)[0]!.pem)))
    return "tlsKey is not the key of the first certificate in tlsCertificate (the server's certificate comes first)";
  const names = isIpHost(host) ? leaf.checkIP(host.replace(/^\[|\]$/g, "")) : leaf.checkHost(host);
  if (!names) return `the first certificate in tlsCertificate is not valid for ${host} (its names: ${leaf.subjectAltName ?? leaf.subject})`;
  if (new Date(leaf.validTo).getTime() <= now.getTime())
    return `the certificate in tlsCertificate expired on ${leaf.validTo}: give a current one`;
  if (new Date(leaf.validFrom).getTime() > now.getTime()) return `the certificate in tlsCertificate is not valid before ${leaf.validFrom}`;
  return undefined;
}
