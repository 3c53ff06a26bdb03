/** services and culler: the hub's API services with generated tokens, and the idle culler (a service of its own). */
import { z } from "zod";
import { culler, monitoring } from "../../names";
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
    removeNamedServers: z
      .boolean()
      .default(false)
      .describe(
        "Delete idle named servers instead of stopping them (spawner.namedServers): they leave the user's list; their files stay, in the home. Default servers are only stopped.",
      ),
  })
  .strict()
  .prefault({})
  .describe("The idle culler service.");

/** What serviceChecks reads of the config. */
interface ServicesView {
  readonly services: readonly { readonly name: string }[];
  readonly culler: { readonly removeNamedServers: boolean };
  readonly spawner: { readonly namedServers: { readonly enabled: boolean } };
}

/** Service names used once, and not those of the hub's own services (the idle culler, the monitoring's); the culler deletes named servers only where there are some. */
export function serviceChecks(cfg: ServicesView, issue: Issue): void {
  const serviceNames = cfg.services.map((s) => s.name);
  duplicates(serviceNames).forEach((n) => issue(["services"], `service "${n}" is declared twice`));
  const reserved: Record<string, string> = {
    [culler.service]: "the idle culler",
    [monitoring.prometheusService.name]: "Prometheus of the monitoring",
    [monitoring.exporterService.name]: "the exporter of the monitoring",
  };
  cfg.services.forEach((s, i) => {
    if (s.name in reserved) issue(["services", i, "name"], `"${s.name}" is reserved for ${reserved[s.name]}`);
  });
  if (cfg.culler.removeNamedServers && !cfg.spawner.namedServers.enabled) {
    issue(
      ["culler", "removeNamedServers"],
      "there are no named servers to delete: set spawner.namedServers.enabled: true, or remove this key",
    );
  }
}
