/** logs: the bound on every container log of the stack (Docker's json-file driver, rotated). */
import { z } from "zod";

export const logsFields = z
  .object({
    maxSize: z
      .string()
      .regex(/^[1-9][0-9]{0,5}[kmg]$/, "logs.maxSize is a size such as 10m: a whole number and k, m or g (e.g. 500k, 10m, 1g)")
      .default("10m")
      .describe("Size at which a container's log file is rotated: a whole number and k, m or g."),
    maxFiles: z.int().min(1).max(100).default(3).describe("Log files kept per container (the current one included)."),
  })
  .strict()
  .prefault({})
  .describe(
    "Bounded logs for every container the stack runs (hub, proxy, front proxy, database, egress guard, pre-pull services, user servers): at most maxSize x maxFiles each on the Docker host's disk.",
  );
