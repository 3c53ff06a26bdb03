/**
 * registries, registryPasswords and requireDigests: where the stack's images come from and how they
 * are pinned. Every image the stack runs (stackImages) is pulled by `pulumi up` with the registry's
 * credentials; the hub's pulls and, in swarm mode, the workers' pulls use the same credentials.
 */
import { z } from "zod";
import { pinnedByDigest } from "../../image-reference";
import { duplicates, type Issue } from "../rules";

/** A registry host as image references name it: a DNS name or address, an optional port. */
const registryServer = z
  .string()
  .regex(
    /^((localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+|\[[0-9a-f:]+\])(:[0-9]{1,5})?|[a-z0-9]([a-z0-9-]*[a-z0-9])?:[0-9]{1,5})$/,
    "must be a registry host as image references name it, e.g. registry.example.org, registry.example.org:5000 or nexus:8082 (no scheme, no path)",
  );

/** One private registry. */
export const registryEntry = z
  .object({
    server: registryServer.describe(
      "The registry host (and port) as the image references name it, e.g. registry.example.org:5000; docker.io for Docker Hub.",
    ),
    username: z
      .string()
      .min(1)
      .regex(/^[^:\s]+$/, "must not contain ':' or white space")
      .describe("The account (a robot or deploy account that may only pull) the stack pulls with."),
  })
  .strict();
export type RegistryEntry = z.output<typeof registryEntry>;

export const registryFields = {
  registries: z
    .array(registryEntry)
    .default([])
    .describe(
      "Private registries the stack's images come from. `pulumi up` pulls with these credentials, the hub's own pulls and, in swarm mode, every worker's pulls too; the password is the secret key registryPasswords.",
    ),
  requireDigests: z
    .boolean()
    .default(false)
    .describe(
      "Refuse every image reference of the stack that is not pinned by digest (name:tag@sha256:...). `npm run pin -- <stack>` writes the digests into the stack file; updating an image is then a reviewed change of that file.",
    ),
};

/** Secret key registryPasswords. */
export const registryPasswordsField = z
  .record(z.string(), z.string().min(1))
  .default({})
  .describe(
    "Secret: the password or access token of each of `registries`, keyed by its server: pulumi config set --secret --path 'registryPasswords[\"registry.example.org\"]' ...",
  );

/** What stackImages reads of the config. */
interface ImagesView {
  readonly images: readonly { readonly image: string }[];
  readonly hub: {
    readonly baseImage: string;
    readonly tls: { readonly mode: string; readonly image: string };
    readonly database: { readonly type: string; readonly image: string };
  };
  readonly proxy: { readonly image: string };
  readonly monitoring: { readonly enabled: boolean; readonly image: string };
}

/** One image the stack runs, with the config key that names it. */
export interface StackImage {
  readonly path: readonly (string | number)[];
  readonly ref: string;
}

/** Every image the stack runs (the hub image's base, the proxy, the optional containers, the notebook images), by config key. */
export function stackImages(cfg: ImagesView): StackImage[] {
  return [
    { path: ["hub", "baseImage"], ref: cfg.hub.baseImage },
    { path: ["proxy", "image"], ref: cfg.proxy.image },
    ...(cfg.hub.tls.mode !== "off" ? [{ path: ["hub", "tls", "image"], ref: cfg.hub.tls.image }] : []),
    ...(cfg.hub.database.type === "postgres" ? [{ path: ["hub", "database", "image"], ref: cfg.hub.database.image }] : []),
    ...(cfg.monitoring.enabled ? [{ path: ["monitoring", "image"], ref: cfg.monitoring.image }] : []),
    ...cfg.images.map((image, i) => ({ path: ["images", i, "image"], ref: image.image })),
  ];
}

/** What registryChecks reads of the config. */
interface RegistriesView extends ImagesView {
  readonly registries: readonly RegistryEntry[];
  readonly registryPasswords: Readonly<Record<string, string>>;
  readonly requireDigests: boolean;
}

/** Each registry once and with its password, no password without a registry, and digests where they are required. */
export function registryChecks(cfg: RegistriesView, issue: Issue): void {
  const servers = cfg.registries.map((r) => r.server);
  duplicates(servers).forEach((s) => issue(["registries"], `registry "${s}" is listed twice`));
  cfg.registries.forEach((r, i) => {
    if (!(r.server in cfg.registryPasswords)) {
      issue(
        ["registries", i, "server"],
        `no password for ${r.server}: pulumi config set --secret --path 'registryPasswords["${r.server}"]' ...`,
      );
    }
  });
  Object.keys(cfg.registryPasswords)
    .filter((s) => !servers.includes(s))
    .forEach((s) =>
      issue(["registryPasswords", s], `no registry of \`registries\` is "${s}" (the servers: ${servers.join(", ") || "none"})`),
    );
  if (cfg.requireDigests) {
    stackImages(cfg)
      .filter((image) => !pinnedByDigest(image.ref))
      .forEach((image) =>
        issue(
          [...image.path],
          `${image.ref} is not pinned by digest (requireDigests): \`npm run pin -- <stack>\` writes its digest into the stack file`,
        ),
      );
  }
}
