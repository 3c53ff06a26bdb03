/**
 * images and defaultImage: the notebook images users choose from. An image entry reaches the hub
 * as it is (settings.json spawner.images, without its swarm-only keys): a new per-image option is
 * one field here, its use in the hub (hub-config/gmap_hub) and a test.
 */
import { z } from "zod";
import { defaultImages } from "../../versions";
import { duplicates, imageRef, slug, type Issue } from "../rules";
import { placementConstraint } from "./engine";

/** One notebook image of the menu. */
export const imageEntry = z
  .object({
    name: slug("image name").describe("Short unique name, used in defaultImage."),
    displayName: z.string().min(1).describe("What users see in the image menu."),
    image: imageRef.describe("Image reference, pinned by tag or digest."),
    constraints: z
      .array(placementConstraint)
      .optional()
      .describe(
        "engine.mode swarm: extra placement constraints of this image's servers, e.g. node.labels.memory==big for a large image such as ISIS.",
      ),
  })
  .strict();
export type ImageEntry = z.output<typeof imageEntry>;

/** Keys of an image entry the hub does not take as they are (swarm placement: settings.json spawner.swarm). */
export const swarmImageKeys = { constraints: true } as const;

/** An image entry as the hub receives it: every key but the swarm-only ones. */
export function hubImage({ constraints: _swarm, ...image }: ImageEntry) {
  return image;
}

export const imageFields = {
  images: z
    .array(imageEntry)
    .min(1, "configure at least one notebook image")
    .default([{ name: "minimal", displayName: "Minimal (Python)", image: defaultImages.notebook }])
    .describe("Notebook images users choose from (pulled ahead of time; a menu appears when there are several)."),
  defaultImage: slug("defaultImage").optional().describe("Name of the preselected image; default the first."),
};

/** Image names and references used once each, and a default image among them. */
export function imageChecks(
  cfg: { readonly images: readonly ImageEntry[]; readonly defaultImage?: string | undefined },
  issue: Issue,
): void {
  const imageNames = cfg.images.map((i) => i.name);
  duplicates(imageNames).forEach((n) => issue(["images"], `image name "${n}" is used twice`));
  duplicates(cfg.images.map((i) => i.image)).forEach((n) => issue(["images"], `image "${n}" is listed twice`));
  if (cfg.defaultImage !== undefined && !imageNames.includes(cfg.defaultImage)) {
    issue(["defaultImage"], `"${cfg.defaultImage}" is not one of the images (${imageNames.join(", ")})`);
  }
}
