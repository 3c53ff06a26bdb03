/**
 * The stand-in of a network file system for the swarm-mode tests (test/infra/swarm-cluster.sh): a
 * Docker volume plugin (the plugin HTTP API over a unix socket, announced in /run/docker/plugins)
 * whose volumes are directories below one directory of this machine. Every engine of the test
 * cluster runs on this machine, so every node sees the same files, as it would on NFS.
 *
 * Scope "global": Docker treats a volume of this driver as the same volume on every node.
 * Removing a volume keeps its directory (data is never deleted by the driver).
 *
 * Usage: node --import tsx test/infra/swarm-volume-driver.ts <socket path> <directory>
 */
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

const [socketPath, root] = process.argv.slice(2);
if (!socketPath || !root) {
  console.error("usage: swarm-volume-driver.ts <socket path> <directory>");
  process.exit(2);
}
mkdirSync(root, { recursive: true });

const validName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const mountpoint = (name: string) => join(root, name);
const exists = (name: string) => {
  try {
    return statSync(mountpoint(name)).isDirectory();
  } catch {
    return false;
  }
};

type Request = { Name?: string; Opts?: Record<string, string> | null };
const handlers: Record<string, (body: Request) => object> = {
  "/Plugin.Activate": () => ({ Implements: ["VolumeDriver"] }),
  "/VolumeDriver.Capabilities": () => ({ Capabilities: { Scope: "global" } }),
  "/VolumeDriver.Create": ({ Name = "" }) => {
    if (!validName.test(Name)) return { Err: `invalid volume name ${JSON.stringify(Name)}` };
    // 0777 like a fresh NFS export: Docker copies the image's directory (and its owner) into an empty volume
    mkdirSync(mountpoint(Name), { recursive: true, mode: 0o777 });
    return { Err: "" };
  },
  "/VolumeDriver.Remove": () => ({ Err: "" }),
  "/VolumeDriver.Mount": ({ Name = "" }) => (exists(Name) ? { Mountpoint: mountpoint(Name), Err: "" } : { Err: `no volume ${Name}` }),
  "/VolumeDriver.Unmount": () => ({ Err: "" }),
  "/VolumeDriver.Path": ({ Name = "" }) => (exists(Name) ? { Mountpoint: mountpoint(Name), Err: "" } : { Err: `no volume ${Name}` }),
  "/VolumeDriver.Get": ({ Name = "" }) =>
    exists(Name) ? { Volume: { Name, Mountpoint: mountpoint(Name), Status: {} }, Err: "" } : { Err: `no volume ${Name}` },
  "/VolumeDriver.List": () => ({
    Volumes: readdirSync(root)
      .filter((name) => validName.test(name) && exists(name))
      .map((name) => ({ Name: name, Mountpoint: mountpoint(name) })),
    Err: "",
  }),
};

rmSync(socketPath, { force: true });
createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const handler = handlers[req.url ?? ""];
    let body: Request;
    try {
      body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as Request) : {};
    } catch {
      body = {};
    }
    const answer = handler ? handler(body) : { Err: `unknown call ${req.url}` };
    res.writeHead(handler ? 200 : 404, { "Content-Type": "application/vnd.docker.plugins.v1.2+json" });
    res.end(JSON.stringify(answer));
  });
}).listen(socketPath, () => console.log(`volume driver listening on ${socketPath}, volumes in ${root}`));
