/**
 * Hosts for the egress scenarios, made on this machine so that nothing leaves it: a network namespace
 * holds a "LAN host", the "cloud metadata server" and a "public host", each listening on TCP ports.
 * For the Docker host (`TestHosts`) the namespace is joined to the host by a veth pair, and a policy
 * routing rule sends only the packets from the user servers' pool to it there (the host's own
 * traffic keeps its routes); `assertRoutedHere` checks the route before anything is sent;
 * `listenOnHost` listens on addresses of the Docker host itself. For the swarm test cluster
 * (`SwarmTestHosts`) the namespace joins the cluster's switch (test/infra/swarm-cluster.sh), whose
 * subnet is the nodes' LAN, and the workers route the public and metadata addresses to it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";

const NS = "gmap-egress-hosts";
const HOST_SIDE = "gmapeh0";
const NS_SIDE = "gmapeh1";
const LINK = { host: "10.215.0.1", ns: "10.215.0.2", bits: 30 };
const TABLE = "2150";

/** The test hosts: a private address, the metadata address and a public one (TEST-NET-2). */
export const testHosts = { lan: "192.168.213.10", metadata: "169.254.169.254", public: "198.51.100.10" } as const;
/** Ports every test host listens on. */
export const testPorts = [53, 80, 8443, 8444] as const;

/**
 * Python that connects to each host:port (3 s each at most) and prints JSON: "open" (connected),
 * "refused", "timeout" or the error, per target.
 */
export const probeCode = (targets: readonly string[]) => `
import json, socket
out = {}
for target in ${JSON.stringify(targets)}:
    host, port = target.rsplit(":", 1)
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((host, int(port))); out[target] = "open"
    except ConnectionRefusedError:
        out[target] = "refused"
    except socket.timeout:
        out[target] = "timeout"
    except OSError as e:
        out[target] = e.strerror or str(e)
    finally:
        s.close()
print(json.dumps(out))
`;

/** A TCP listener on each address:port that greets with its own address and closes; ends itself after `seconds`. */
const listenerCode = (targets: readonly string[], seconds: number) => `
import selectors, signal, socket
signal.alarm(${seconds})
sel = selectors.DefaultSelector()
for target in ${JSON.stringify(targets)}:
    host, port = target.rsplit(":", 1)
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port))); s.listen(16); sel.register(s, selectors.EVENT_READ, target)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept()
        conn.sendall((key.data + "\\n").encode()); conn.close()
`;

const ip = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8", timeout: 10_000 });
const quietly = (f: () => unknown) => {
  try {
    f();
  } catch {
    /* absent already */
  }
};

/** Starts a listener (in the network namespace `ns`, else the host's), waiting until every target listens (bounded: 10 s). */
function startListener(targets: readonly string[], ns?: string): ChildProcess {
  const argv = ["python3", "-c", listenerCode(targets, 900)];
  const child = ns ? spawn("ip", ["netns", "exec", ns, ...argv], { stdio: "ignore" }) : spawn(argv[0]!, argv.slice(1), { stdio: "ignore" });
  const ports = [...new Set(targets.map((t) => t.split(":").at(-1)))];
  for (let i = 0; i < 100; i++) {
    const listening = execFileSync(ns ? "ip" : "ss", ns ? ["netns", "exec", ns, "ss", "-ltnH"] : ["-ltnH"], {
      encoding: "utf8",
      timeout: 10_000,
    });
    if (targets.every((t) => listening.includes(t))) return child;
    execFileSync("sleep", ["0.1"]);
  }
  child.kill();
  throw new Error(`the test listener did not listen on ${targets.join(", ")} (ports ${ports.join(", ")})`);
}

export class TestHosts {
  private listeners: ChildProcess[] = [];

  /** Creates the namespace, its addresses and listeners, and the rule that routes the pool's packets to them. */
  up(pool: string): void {
    this.down(pool);
    ip("netns", "add", NS);
    ip("link", "add", HOST_SIDE, "type", "veth", "peer", "name", NS_SIDE);
    ip("link", "set", NS_SIDE, "netns", NS);
    ip("addr", "add", `${LINK.host}/${LINK.bits}`, "dev", HOST_SIDE);
    ip("link", "set", HOST_SIDE, "up");
    ip("-n", NS, "addr", "add", `${LINK.ns}/${LINK.bits}`, "dev", NS_SIDE);
    for (const address of Object.values(testHosts)) ip("-n", NS, "addr", "add", `${address}/32`, "dev", NS_SIDE);
    ip("-n", NS, "link", "set", NS_SIDE, "up");
    ip("-n", NS, "link", "set", "lo", "up");
    for (const address of Object.values(testHosts)) ip("route", "add", `${address}/32`, "via", LINK.ns, "dev", HOST_SIDE, "table", TABLE);
    ip("rule", "add", "from", pool, "lookup", TABLE, "priority", TABLE);
    const targets = Object.values(testHosts).flatMap((address) => testPorts.map((port) => `${address}:${port}`));
    this.listeners.push(startListener(targets, NS));
  }

  /** Listens on addresses of the Docker host itself (e.g. a user network's gateway). */
  listenOnHost(targets: readonly string[]): void {
    this.listeners.push(startListener(targets));
  }

  /** Fails unless a packet from `source` arriving on `bridge` is routed to the test namespace (checked before sending). */
  assertRoutedHere(target: string, source: string, bridge: string): void {
    const route = ip("route", "get", target, "from", source, "iif", bridge);
    if (!route.includes(`dev ${HOST_SIDE}`)) throw new Error(`${target} from ${source} is not routed to the test hosts: ${route}`);
  }

  /** Removes the listeners, the rule, the routes and the namespace (with its veth pair); only what `up` made. */
  down(pool: string): void {
    for (const child of this.listeners.splice(0)) child.kill();
    quietly(() => ip("rule", "del", "from", pool, "lookup", TABLE, "priority", TABLE));
    quietly(() => ip("route", "flush", "table", TABLE));
    quietly(() => ip("link", "del", HOST_SIDE));
    quietly(() => ip("netns", "del", NS));
  }
}

/** The swarm test cluster's switch namespace and the test hosts' namespace on it (test/infra/swarm-cluster.sh). */
const SWITCH = "gmapsw-switch";
const SWARM_NS = "gmapsw-testhosts";
const SWARM_SIDE = "gmapswt0";
/** The test hosts as the swarm cluster's nodes see them: a LAN host on the nodes' own subnet, the metadata address, a public one. */
export const swarmTestHosts = { lan: "10.213.0.50", metadata: "169.254.169.254", public: "198.51.100.10" } as const;

export class SwarmTestHosts {
  private listeners: ChildProcess[] = [];

  /** Puts the test hosts on the cluster's switch and routes the public and metadata addresses of each of `nodes` (e.g. gmapsw-w1) to them. */
  up(nodes: readonly string[]): void {
    this.down(nodes);
    ip("netns", "add", SWARM_NS);
    ip("link", "add", SWARM_SIDE, "type", "veth", "peer", "name", "eth0", "netns", SWARM_NS);
    ip("link", "set", SWARM_SIDE, "netns", SWITCH);
    ip("-n", SWITCH, "link", "set", SWARM_SIDE, "master", "br0", "up");
    ip("-n", SWARM_NS, "addr", "add", `${swarmTestHosts.lan}/24`, "dev", "eth0");
    for (const address of [swarmTestHosts.metadata, swarmTestHosts.public])
      ip("-n", SWARM_NS, "addr", "add", `${address}/32`, "dev", "eth0");
    ip("-n", SWARM_NS, "link", "set", "eth0", "up");
    ip("-n", SWARM_NS, "link", "set", "lo", "up");
    for (const node of nodes)
      for (const address of [swarmTestHosts.metadata, swarmTestHosts.public])
        ip("-n", node, "route", "add", `${address}/32`, "via", swarmTestHosts.lan);
    const targets = Object.values(swarmTestHosts).flatMap((address) => testPorts.map((port) => `${address}:${port}`));
    this.listeners.push(startListener(targets, SWARM_NS));
  }

  /** Listens in the network namespace `ns` (e.g. a node's, on its own address). */
  listenIn(ns: string, targets: readonly string[]): void {
    this.listeners.push(startListener(targets, ns));
  }

  /** Fails unless `node` sends packets for `target` to the test hosts' namespace on the switch (checked before sending). */
  assertRoutedHere(node: string, target: string): void {
    const route = ip("-n", node, "route", "get", target);
    const via = target === swarmTestHosts.lan ? `${target} dev eth0` : `via ${swarmTestHosts.lan} dev eth0`;
    if (!route.includes(via)) throw new Error(`${target} is not routed from ${node} to the test hosts: ${route}`);
  }

  /** Removes the listeners, the nodes' routes and the namespace (with its veth pair); only what `up` made. */
  down(nodes: readonly string[]): void {
    for (const child of this.listeners.splice(0)) child.kill();
    for (const node of nodes)
      for (const address of [swarmTestHosts.metadata, swarmTestHosts.public])
        quietly(() => ip("-n", node, "route", "del", `${address}/32`));
    quietly(() => ip("-n", SWITCH, "link", "del", SWARM_SIDE));
    quietly(() => ip("netns", "del", SWARM_NS));
  }
}
