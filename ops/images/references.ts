/**
 * Image references as Docker reads them (name, tag, digest) and what pinning does to the stack's
 * references: pure, no engine, no registry.
 */
import type { StackImage } from "../../components/config/sections/registries";

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

/** The reference of a tag, without a digest: what the registry is asked about. */
export const tagReference = (r: ImageReference): string | undefined => (r.tag ? `${r.name}:${r.tag}` : undefined);

/** The reference with its content named by `digest` (the tag kept for the reader: Docker pulls by the digest). */
export const pinnedReference = (r: ImageReference, digest: string): string => `${r.name}${r.tag ? `:${r.tag}` : ""}@${digest}`;

/** What pinning did, or would do, to one image of the stack. */
export type PinStatus =
  /** Pinned now (it had no digest). */
  | "pinned"
  /** Its digest is what its tag names. */
  | "current"
  /** Its tag moved upstream since it was pinned: taken with --update, else only reported. */
  | "moved"
  /** Pinned by digest without a tag: nothing to follow. */
  | "untagged";

export interface PinResult {
  readonly path: StackImage["path"];
  readonly from: string;
  /** The new reference, when the stack file changes. */
  readonly to?: string;
  readonly status: PinStatus;
  /** What the tag names now (pinned, current, moved). */
  readonly latest?: string;
}

/**
 * What pinning does to each image, given what each tag names now (`resolve`: tag reference ->
 * digest). Without `update` a moved tag is reported and kept: the stack runs what was reviewed.
 */
export function planPins(images: readonly StackImage[], resolve: (tagRef: string) => string, update: boolean): PinResult[] {
  return images.map((image) => {
    const r = parseReference(image.ref);
    const tagRef = tagReference(r);
    if (!tagRef) return { path: image.path, from: image.ref, status: "untagged" as const };
    const latest = resolve(tagRef);
    if (!r.digest) return { path: image.path, from: image.ref, to: pinnedReference(r, latest), status: "pinned" as const, latest };
    if (r.digest === latest) return { path: image.path, from: image.ref, status: "current" as const, latest };
    return { path: image.path, from: image.ref, ...(update ? { to: pinnedReference(r, latest) } : {}), status: "moved" as const, latest };
  });
}

/** The config key of a stack image, as the reference names it (images[1].image). */
export const keyOf = (path: StackImage["path"]): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

/** One line of the report per image. */
export function reportLine(result: PinResult): string {
  const key = keyOf(result.path);
  switch (result.status) {
    case "pinned":
      return `${key}: pinned ${result.to}`;
    case "current":
      return `${key}: current ${result.from}`;
    case "untagged":
      return `${key}: pinned by digest without a tag, nothing to follow: ${result.from}`;
    case "moved":
      return result.to
        ? `${key}: updated to ${result.to} (was ${parseReference(result.from).digest})`
        : `${key}: its tag moved upstream to ${result.latest}; the stack keeps ${parseReference(result.from).digest} (--update takes the new one)`;
  }
}
