/**
 * What a network share's server, paths, options and credentials may contain, so that they fit in
 * the mount options Docker's local volume driver takes (storage sources nfs and cifs, and the secret
 * shareCredentials).
 */
import { z } from "zod";

/**
 * Network shares are mounted by Docker's local volume driver from two strings: the device
 * (`:<export>`, `//<server>/<share>`) and the options `o`, a comma-separated list of `key=value`
 * (`addr=<server>,username=...,password=...`). A comma in a value would end it and start an
 * option of the operator's choosing (a password "x,uid=0" adds uid=0), a line break or other
 * control character breaks the strings. "=" is refused where it never belongs (server, paths,
 * user and domain names); a password may contain it, since Docker and the kernel split an option
 * at its first "=" only.
 */
export const optionBreaking = /[,=\x00-\x1f\x7f]/;
export const passwordBreaking = /[,\x00-\x1f\x7f]/;
export const fitsMountOptions = (v: string) => !optionBreaking.test(v);
export const breaksMountOptions = (what: string) =>
  `${what} must not contain ",", "=" or control characters: Docker hands it over in a comma-separated list of mount options`;

export const shareServer = (kind: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9.:-]*$/,
      `source.server is the ${kind} server's host name or IP address: letters, digits, ".", "-" and ":" only (Docker passes it as addr=<server> in the mount options)`,
    );

export const mountOptions = z
  .array(z.string().regex(/^[^,\s\x00-\x1f\x7f]+$/, "one mount option per entry, without commas, spaces or control characters"))
  .default([])
  .describe('Extra mount options (mount -o), one per entry, e.g. ["vers=3.0"]. `ro` is added for read-only mounts.');

/** The credentials of a CIFS share (secret config key shareCredentials.<mount name>). */
export const shareCredential = z
  .object({
    username: z.string().min(1, "give the user name of the share").refine(fitsMountOptions, breaksMountOptions("the user name")),
    // messages never show the value: these are secrets
    password: z
      .string()
      .min(1, "give the password of the share")
      .refine((v) => !passwordBreaking.test(v), {
        message:
          'the password must not contain "," or control characters (line breaks): Docker hands it over in a comma-separated list of mount options. Choose another password for the share',
      }),
    domain: z.string().refine(fitsMountOptions, breaksMountOptions("the domain")).optional(),
  })
  .strict();
export type ShareCredential = z.output<typeof shareCredential>;
