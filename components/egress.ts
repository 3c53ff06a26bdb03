/**
 * The user servers' egress rules as the Docker host's firewall takes them (iptables-restore input),
 * from spawner.egress and the user networks' pool (pure: the egress guard applies the text as it is).
 *
 * Packets from the pool that the host forwards meet the forward chain (jumped to from Docker's
 * DOCKER-USER chain, before Docker's own rules); packets from the pool to any address of the host
 * itself meet the input chain (jumped to from INPUT). An allowed packet RETURNs, so Docker's own
 * rules (the isolation between user networks among them) still apply; a refused one is rejected at
 * once (TCP reset, ICMP "administratively prohibited"), so a program sees "connection refused"
 * instead of waiting for a timeout.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { blockedRanges } from "./config/sections/egress";
import type { PublicConfig } from "./config";
import type { egressChains } from "./names";

type Egress = PublicConfig["spawner"]["egress"];
type Chains = ReturnType<typeof egressChains>;

/** The match parts of one allow entry: per port spec one TCP and one UDP rule, or one rule for all ports. */
function allowMatches(entry: Egress["allow"][number]): string[] {
  const to = `-d ${entry.to}`;
  if (!entry.ports) return [to];
  return entry.ports.flatMap((port) => {
    const dport = `--dport ${String(port).replace("-", ":")}`;
    return [`${to} -p tcp ${dport}`, `${to} -p udp ${dport}`];
  });
}

/** The guard's three chains, complete (each is flushed and refilled in one iptables-restore transaction). */
export function egressRules(egress: Egress, pool: string, chains: Chains): string {
  const allowed = [
    "-m conntrack --ctstate RELATED,ESTABLISHED",
    ...egress.allow.flatMap(allowMatches),
    ...(egress.dns ? ["-p udp --dport 53", "-p tcp --dport 53"] : []),
  ];
  const lines = [
    "*filter",
    ...Object.values(chains).map((chain) => `:${chain} - [0:0]`),
    ...Object.values(chains).map((chain) => `-F ${chain}`),
    // forwarded: the pool itself (the hub and the proxy on each user network; Docker keeps the user networks apart), allowed, then blocked ranges
    `-A ${chains.forward} -d ${pool} -j RETURN`,
    ...allowed.map((match) => `-A ${chains.forward} ${match} -j RETURN`),
    ...blockedRanges.map((range) => `-A ${chains.forward} -d ${range} -j ${chains.deny}`),
    // to the Docker host itself, on any of its addresses
    ...allowed.map((match) => `-A ${chains.input} ${match} -j RETURN`),
    `-A ${chains.input} -j ${chains.deny}`,
    `-A ${chains.deny} -p tcp -j REJECT --reject-with tcp-reset`,
    `-A ${chains.deny} -j REJECT --reject-with icmp-admin-prohibited`,
    "COMMIT",
  ];
  return `${lines.join("\n")}\n`;
}

const program = (file: string) => fs.readFileSync(path.join(__dirname, file), "utf8");

/** The guard's program, run by the host's (or node's) /bin/sh; with the argument `check`, the healthcheck. */
const guardProgram = ["/bin/sh", "-c", program("egress-guard.sh"), "egress-guard"];

/** A command in the engine's mount namespace (egress-enter.sh: the host's iptables and lock file), in the host network the guard runs in. */
const onTheHost = ["/bin/sh", "-c", program("egress-enter.sh"), "egress-enter"];

/**
 * What the guard needs: entering the engine's mount namespace (SYS_ADMIN, SYS_CHROOT; SYS_PTRACE to
 * open it) and the firewall (NET_ADMIN; NET_RAW for the legacy iptables' raw socket). Spelled as Docker reports them (`CAP_...`), so that
 * `pulumi refresh` reads back what was declared.
 */
export const egressGuardCapabilities = ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE"] as const;

/** The guard container's entry point: its script in the host's shell. */
export function egressGuardEntrypoint(): string[] {
  return [...onTheHost, ...guardProgram];
}

/**
 * Where a Swarm node's guard finds the node's filesystem (its root, bound read-only): the guard's
 * programs (shell, iptables) run there, with `chroot`, as the node's own.
 */
export const nodeRoot = "/host";

/** The Swarm node guard's command: its script in the node's shell, in the node's filesystem. */
export function nodeEgressGuardCommand(): string[] {
  return ["chroot", nodeRoot, ...guardProgram];
}

/**
 * What a Swarm node's guard needs: the firewall (NET_ADMIN; NET_RAW for the legacy iptables' raw
 * socket) and `chroot` into the node's filesystem (SYS_CHROOT).
 */
export const nodeEgressGuardCapabilities = ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_CHROOT"] as const;

/**
 * The interface through which a Swarm node's containers reach anything beyond their overlay
 * networks (Docker's docker_gwbridge): what a node's guard matches.
 */
export const swarmGatewayBridge = "docker_gwbridge";

/**
 * The guard's environment: the pool, its chains and their rules; on a Swarm node the interface the
 * servers' packets come in through (their source there is not the pool).
 */
export function egressGuardEnv(egress: Egress, pool: string, chains: Chains, serversInterface?: string): Record<string, string> {
  return {
    EGRESS_POOL: pool,
    ...(serversInterface ? { EGRESS_INTERFACE: serversInterface } : {}),
    EGRESS_FORWARD: chains.forward,
    EGRESS_INPUT: chains.input,
    EGRESS_DENY: chains.deny,
    EGRESS_RULES: egressRules(egress, pool, chains),
  };
}

const healthTiming = { interval: "5s", timeout: "20s", retries: 3 } as const;

/**
 * The Docker host's guard's healthcheck: healthy while both jumps are in the firewall. A healthcheck
 * runs in the namespaces of the container's main process, which the entry point moved into the
 * engine's mount namespace: the check's shell and iptables are the host's already.
 */
export function egressGuardHealthcheck() {
  return { tests: ["CMD", ...guardProgram, "check"], ...healthTiming };
}

/** A Swarm node guard's healthcheck: in the node's filesystem, as its command. */
export function nodeEgressGuardHealthcheck() {
  return { tests: ["CMD", ...nodeEgressGuardCommand(), "check"], ...healthTiming };
}
