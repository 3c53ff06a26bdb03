/**
 * spawner.egress: where user servers may open connections. By default the public internet, DNS, the
 * hub and the proxy, nothing else: no private or link-local range, no address of the Docker host.
 * The egress guard enforces it in the Docker host's firewall (components/egress-guard.ts), in swarm
 * mode in the firewall of each node that may run servers (components/egress-guard-service.ts).
 */
import { z } from "zod";
import type { Issue } from "../rules";

/** The ranges a user server may not reach unless the allow-list opens them: private (RFC 1918), shared (RFC 6598, carrier-grade NAT) and link-local (169.254.169.254, the cloud metadata server). */
export const blockedRanges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"] as const;

/** True for an IPv4 range written as its network address (host bits zero), e.g. 192.168.10.0/24 or 10.1.2.3/32. */
export function isNetworkAddress(cidr: string): boolean {
  const [address = "", bits = ""] = cidr.split("/");
  const prefix = Number(bits);
  const value = address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  return value % 2 ** (32 - prefix) === 0;
}

/** One port (443) or a range of ports ("8000-8100"). */
const portSpec = z.union(
  [
    z.int().min(1).max(65535),
    z
      .string()
      .regex(/^\d{1,5}-\d{1,5}$/)
      .refine(
        (range) => {
          const [from = 0, to = 0] = range.split("-").map(Number);
          return from >= 1 && from < to && to <= 65535;
        },
        { message: "a port range is from-to with 1 <= from < to <= 65535" },
      ),
  ],
  { error: 'a port is a number from 1 to 65535 or a range such as "8000-8100"' },
);

export const egressFields = z
  .object({
    restrict: z
      .boolean()
      .default(true)
      .describe(
        `Refuse user servers' connections to ${blockedRanges.join(", ")} and to every address of the Docker host (in swarm mode: of their node), except what allow opens (and DNS with dns). In swarm mode it needs engine.serverConstraints that keep servers off the managers (node.role==worker). Off: servers reach whatever the Docker host reaches (only for a hub whose users are all trusted with the site's network).`,
      ),
    dns: z
      .boolean()
      .default(true)
      .describe(
        "With restrict: let servers reach port 53 (DNS, UDP and TCP) at private addresses and on the Docker host, where the resolvers Docker hands them often are (a cloud network's resolver, a site's DNS server).",
      ),
    allow: z
      .array(
        z
          .object({
            to: z
              .cidrv4({ error: "an IPv4 range such as 192.168.10.0/24, or 192.168.10.5/32 for one host" })
              .refine(isNetworkAddress, { message: "a network address: the host bits are zero (192.168.10.0/24, not 192.168.10.1/24)" })
              .describe("The range servers may reach, e.g. 192.168.10.0/24, or 192.168.10.5/32 for one host."),
            ports: z
              .array(portSpec)
              .min(1)
              .max(15)
              .optional()
              .describe('TCP and UDP ports or ranges, e.g. [443, 2049, "8000-8100"]; all ports when left out.'),
          })
          .strict(),
      )
      .max(64)
      .default([])
      .describe("With restrict: ranges (and ports) of the blocked ones that servers may reach, e.g. an institute's data server."),
  })
  .strict()
  .prefault({})
  .describe(
    "Where user servers may open connections (docs/security.md, Egress): by default the public internet, DNS, the hub and the proxy, and nothing else.",
  );

/** True for a placement constraint that keeps servers off the managers (node.role==worker, node.role!=manager). */
export function keepsOffManagers(constraint: string): boolean {
  return /^node\.role\s*(==\s*worker|!=\s*manager)$/.test(constraint);
}

/**
 * In swarm mode the rules are kept on each node that may run servers and match every container's way
 * out there (docker_gwbridge), which on a manager is the hub's and the proxy's too: the servers must
 * stay off the managers.
 */
export function egressChecks(
  cfg: {
    readonly engine: { readonly mode: string; readonly serverConstraints: readonly string[] };
    readonly spawner: { readonly egress: z.output<typeof egressFields> };
  },
  issue: Issue,
): void {
  const { restrict, allow } = cfg.spawner.egress;
  if (restrict && cfg.engine.mode === "swarm" && !cfg.engine.serverConstraints.some(keepsOffManagers))
    issue(
      ["engine", "serverConstraints"],
      "with spawner.egress.restrict in swarm mode the egress rules hold every container on the nodes that run servers, and on a manager the hub's and the proxy's too: keep the servers on the workers with node.role==worker (or set spawner.egress.restrict: false and restrict the nodes' egress in the site's firewall; docs/swarm.md)",
    );
  if (!restrict && allow.length > 0)
    issue(["spawner", "egress", "allow"], "the allow-list opens blocked ranges: it needs spawner.egress.restrict: true");
}
