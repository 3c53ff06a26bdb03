/**
 * The reference deployment of the benchmark (bench/reference/jupyterhub_config.py): a hub and a
 * proxy container on a network of their own, from the deployed stack's hub and proxy images, so
 * both deployments spawn the same notebook image on the same host in the same run.
 */
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import Docker from "dockerode";
import type { HubEnv } from "../test/e2e/hub-env";

const docker = new Docker();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Reference extends HubEnv {
  /** The hub container's name (its logs give the route-add times). */
  readonly hubContainer: string;
  /** DockerSpawner's name of a user's container in this deployment. */
  readonly userContainer: (escapedName: string) => string;
  /** DockerSpawner's name of a user's volume in this deployment. */
  readonly userVolume: (escapedName: string) => string;
  readonly network: string;
  /** Removes every container, the network and the volumes the reference deployment made. */
  readonly remove: () => Promise<void>;
}

export interface ReferenceImages {
  readonly hub: string;
  readonly proxy: string;
  readonly notebook: string;
}

export async function startReference(images: ReferenceImages, labels: Record<string, string>): Promise<Reference> {
  const id = `gmap-bench-ref-${Date.now().toString(36)}`;
  const token = randomBytes(24).toString("hex");
  const proxyToken = randomBytes(24).toString("hex");
  const names = { network: id, hub: `${id}-hub`, proxy: `${id}-proxy`, data: `${id}-data` };
  const created: Docker.Container[] = [];
  const remove = async () => {
    const users = await docker.listContainers({ all: true, filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) } });
    for (const c of users.filter((u) => u.Names.some((n) => n.startsWith("/jupyter-"))))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    for (const c of created) await c.remove({ force: true, v: true }).catch(() => undefined);
    await docker
      .getNetwork(names.network)
      .remove()
      .catch(() => undefined);
    await docker
      .getVolume(names.data)
      .remove()
      .catch(() => undefined);
  };
  try {
    await docker.createNetwork({ Name: names.network, Driver: "bridge", Labels: labels });
    await docker.createVolume({ Name: names.data, Labels: labels });
    const proxy = await docker.createContainer({
      name: names.proxy,
      Image: images.proxy,
      Labels: labels,
      Entrypoint: ["/srv/configurable-http-proxy/chp-docker-entrypoint"],
      Cmd: [
        "--ip=0.0.0.0",
        "--port=8000",
        "--api-ip=0.0.0.0",
        "--api-port=8001",
        "--default-target=http://jupyterhub:8080",
        "--error-target=http://jupyterhub:8080/hub/error",
      ],
      Env: [`CONFIGPROXY_AUTH_TOKEN=${proxyToken}`],
      ExposedPorts: { "8000/tcp": {} },
      HostConfig: { NetworkMode: names.network, PortBindings: { "8000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] } },
      NetworkingConfig: { EndpointsConfig: { [names.network]: { Aliases: ["proxy"] } } },
    });
    created.push(proxy);
    const hub = await docker.createContainer({
      name: names.hub,
      Image: images.hub,
      Labels: labels,
      Cmd: ["jupyterhub", "-f", "/srv/reference/jupyterhub_config.py"],
      Env: [
        `DOCKER_NOTEBOOK_IMAGE=${images.notebook}`,
        `DOCKER_NETWORK_NAME=${names.network}`,
        "DOCKER_NOTEBOOK_DIR=/home/jovyan/work",
        "BENCH_PROXY_API_URL=http://proxy:8001",
        `CONFIGPROXY_AUTH_TOKEN=${proxyToken}`,
        `BENCH_API_TOKEN=${token}`,
        `BENCH_LABELS=${JSON.stringify(labels)}`,
      ],
      HostConfig: {
        NetworkMode: names.network,
        Binds: [
          `${path.join(__dirname, "reference")}:/srv/reference:ro`,
          "/var/run/docker.sock:/var/run/docker.sock",
          `${names.data}:/data`,
        ],
      },
      NetworkingConfig: { EndpointsConfig: { [names.network]: { Aliases: ["jupyterhub"] } } },
    });
    created.push(hub);
    await proxy.start();
    await hub.start();
    const port = (await proxy.inspect()).NetworkSettings.Ports["8000/tcp"]?.[0]?.HostPort;
    if (!port) throw new Error("the reference proxy published no port");
    const url = `http://127.0.0.1:${port}`;
    let last = "";
    for (let i = 0; i < 240; i++) {
      try {
        const res = await fetch(`${url}/hub/api/users`, {
          headers: { Authorization: `token ${token}` },
          signal: AbortSignal.timeout(2000),
        });
        await res.arrayBuffer();
        if (res.status === 200) break;
        last = `HTTP ${res.status}`;
      } catch (e) {
        last = (e as Error).message;
      }
      if (i === 239) throw new Error(`the reference hub did not answer within 120 s (${last}); see docker logs ${names.hub}`);
      await sleep(500);
    }
    return {
      url,
      token,
      hubContainer: names.hub,
      network: names.network,
      userContainer: (e) => `jupyter-${e}`,
      userVolume: (e) => `jupyterhub-user-${e}`,
      remove,
    };
  } catch (e) {
    await remove();
    throw e;
  }
}
