/** services and culler: the hub's API services with generated tokens, and the idle culler (a service of its own). */
import { z } from "zod";
import { culler } from "../../names";
import { scopeProblem, scopesJupyterhubVersion } from "../../scopes";
import { duplicates, reportProblem, slug, type Issue } from "../rules";

export const servicesFields = z
  .array(
    z
      .object({
        name: slug("service name").describe("Service name; its token is generated and kept in state."),
        scopes: z
          .array(z.string().superRefine(reportProblem(scopeProblem)))
          .min(1, "give the service at least one scope")
          .describe(
            `JupyterHub ${scopesJupyterhubVersion} scopes of the service's role, e.g. admin:users or read:users!group=staff (filters !user=, !group=, !server=, !service=).`,
          ),
      })
      .strict(),
  )
  .default([])
  .describe("API services with generated tokens and explicit scopes (automation, monitoring).");

export const cullerFields = z
  .object({
    enabled: z.boolean().default(true).describe("Stop idle servers."),
    timeout: z
      .int()
      .min(600, "culler.timeout must exceed the 5 minute activity interval: use 600 or more")
      .default(3600)
      .describe("Idle seconds before a server is stopped."),
    every: z.int().min(30).default(300).describe("Seconds between checks."),
    maxAge: z.int().min(0).default(0).describe("Stop servers older than this many seconds (0: never)."),
  })
  .strict()
  .prefault({})
  .describe("The idle culler service.");

/** Service names used once, and not the idle culler's. */
export function serviceChecks(cfg: { readonly services: readonly { readonly name: string }[] }, issue: Issue): void {
  const serviceNames = cfg.services.map((s) => s.name);
  duplicates(serviceNames).forEach((n) => issue(["services"], `service "${n}" is declared twice`));
  if (serviceNames.includes(culler.service)) issue(["services"], `"${culler.service}" is reserved for the idle culler`);
}
