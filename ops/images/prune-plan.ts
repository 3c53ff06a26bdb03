/**
 * Which images on an engine are old versions of the stack's images: same repository as an image the
 * stack runs, another version, and no container (running or stopped) made from them. Pure.
 */
import { parseReference } from "../../components/image-reference";

/** An image on the engine, as the engine lists it. */
export interface EngineImage {
  readonly id: string;
  /** name:tag and name@sha256:... references. */
  readonly references: readonly string[];
  readonly size: number;
}

export interface PrunePlan {
  /** References to remove (an image goes once its last reference does). */
  readonly remove: readonly { readonly reference: string; readonly id: string; readonly size: number }[];
  /** Old versions kept because a container uses them, with the reason. */
  readonly kept: readonly { readonly reference: string; readonly reason: string }[];
}

/**
 * `stackRefs`: the references the stack runs; `currentIds`: the image ids they name on this engine;
 * `inUse`: ids of images that containers were made from.
 */
export function prunePlan(
  stackRefs: readonly string[],
  currentIds: ReadonlySet<string>,
  inUse: ReadonlySet<string>,
  images: readonly EngineImage[],
): PrunePlan {
  const names = new Set(stackRefs.map((r) => parseReference(r).name));
  const remove: { reference: string; id: string; size: number }[] = [];
  const kept: { reference: string; reason: string }[] = [];
  for (const image of images) {
    if (currentIds.has(image.id)) continue;
    const ours = image.references.filter((r) => names.has(parseReference(r).name) && !r.includes("<none>"));
    if (ours.length === 0) continue;
    if (inUse.has(image.id)) {
      ours.forEach((reference) => kept.push({ reference, reason: "a container uses it (a server started before the update)" }));
      continue;
    }
    ours.forEach((reference) => remove.push({ reference, id: image.id, size: image.size }));
  }
  return { remove, kept };
}
