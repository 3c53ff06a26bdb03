/** prefix, labels and hooks: the keys of the stack as a whole (Docker names and labels, the operator's hook files). */
import { z } from "zod";
import { slug } from "../rules";

export const stackFields = {
  prefix: slug("prefix").default("jupyterhub").describe("Prefix of every Docker object's name; give each stack on a host its own."),
  labels: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9.\-/]*$/, "label keys are lower-case, digits, ., -, /"), z.string())
    .default({})
    .describe("Extra labels put on every Docker object."),
};

export const hooksFields = z
  .object({
    postAuth: z
      .string()
      .regex(/\.py$/, "hooks.postAuth is a .py file")
      .optional()
      .describe("Python file defining post_auth_hook(authenticator, handler, authentication), relative to the project."),
    preSpawn: z
      .string()
      .regex(/\.py$/, "hooks.preSpawn is a .py file")
      .optional()
      .describe("Python file defining pre_spawn_hook(spawner), relative to the project."),
    start: z.string().min(1).optional().describe("Shell script run as the notebook user in the container before the server starts."),
  })
  .strict()
  .prefault({})
  .describe("Operator-supplied hooks.");
