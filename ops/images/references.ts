/** What pinning does to the stack's image references: pure, no engine, no registry. */
import YAML from "yaml";
import type { StackImage } from "../../components/config/sections/registries";
import { parseReference, pinnedReference, tagReference } from "../../components/image-reference";

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

/**
 * A stack file's text with the new references written in, comments kept. A key the file does not
 * have yet is added under `<project>:`; a list it does not have (the default images) is written
 * whole from `current(top key)`, the entry pinned.
 */
export function writePins(text: string, project: string, changes: readonly PinResult[], current: (top: string) => unknown): string {
  const doc = YAML.parseDocument(text);
  for (const r of changes) {
    if (r.to === undefined) continue;
    const [top, ...rest] = r.path as [string, ...(string | number)[]];
    const key = doc.hasIn(["config", top]) ? top : `${project}:${top}`;
    if (typeof rest[0] === "number" && !doc.hasIn(["config", key])) {
      doc.setIn(["config", key], doc.createNode(current(top)));
    }
    doc.setIn(["config", key, ...rest], r.to);
  }
  return doc.toString();
}
