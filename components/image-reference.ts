/** Image references as Docker reads them: registry, repository, tag, digest. Pure. */

/** An image reference in its parts. */
export interface ImageReference {
  /** Registry and repository, e.g. registry.example.org:5000/gmap/isis. */
  readonly name: string;
  readonly tag?: string;
  /** sha256:... */
  readonly digest?: string;
}

/** Splits a reference (name[:tag][@sha256:digest]); a registry's port is not a tag. */
export function parseReference(ref: string): ImageReference {
  const [rest, digest] = ref.split("@", 2) as [string, string | undefined];
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  const hasTag = colon > slash;
  return {
    name: hasTag ? rest.slice(0, colon) : rest,
    ...(hasTag ? { tag: rest.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** Docker Hub's other names. */
const dockerHub = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/**
 * The registry a reference is pulled from, as Docker reads it: the first part of the name when it
 * holds a "." or ":" or is localhost, otherwise Docker Hub (docker.io, whatever name it is given).
 */
export function registryOf(ref: string): string {
  const name = parseReference(ref).name;
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  const registry = first === "localhost" || first.includes(".") || first.includes(":") ? first : "docker.io";
  return dockerHub.has(registry) ? "docker.io" : registry;
}

/** Whether a reference names its content by digest. */
export const pinnedByDigest = (ref: string): boolean => /@sha256:[a-f0-9]{64}$/.test(ref);

/** The reference of a tag, without a digest: what a registry is asked about. */
export const tagReference = (r: ImageReference): string | undefined => (r.tag ? `${r.name}:${r.tag}` : undefined);

/** The reference with its content named by `digest` (the tag kept for the reader: Docker pulls by the digest). */
export const pinnedReference = (r: ImageReference, digest: string): string => `${r.name}${r.tag ? `:${r.tag}` : ""}@${digest}`;
