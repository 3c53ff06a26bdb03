/** The ACME directories of hub.tls.acme.directory: what the config accepts and the front proxy (components/tls.ts) uses. */

/** The ACME directories of Let's Encrypt, by the names hub.tls.acme.directory accepts. */
export const letsEncryptDirectories = {
  letsencrypt: "https://acme-v02.api.letsencrypt.org/directory",
  "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
} as const;

/** The ACME directory URL of hub.tls.acme.directory (a name above or a URL). */
export function acmeDirectoryUrl(directory: string): string {
  return directory in letsEncryptDirectories ? letsEncryptDirectories[directory as keyof typeof letsEncryptDirectories] : directory;
}
