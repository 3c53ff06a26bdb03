/**
 * Pebble, Let's Encrypt's test ACME server (test/standins/pebble), as the HTTPS scenario
 * (14-tls.test.ts) runs it: a container on a stack's front network with the alias `pebble`, its
 * management API (roots, intermediates) published on loopback, and the certificates it issued.
 */
import got from "got";
import { labelKeys } from "../../components/names";
import { containerLogsOrWhy, docker } from "./engine";

export const PEBBLE_IMAGE = "localhost/pebble:2.10.3";

export class Pebble {
  constructor(
    /** The container's name. */
    readonly name: string,
    /** The stack's prefix: the container carries its label, so removing the stack removes it too. */
    readonly prefix: string,
    /** Loopback port of Pebble's management API. */
    readonly managementPort: number,
  ) {}

  /** Pebble's directory certificate root (minica), from the image. */
  async minica(): Promise<string> {
    const c = await docker.createContainer({ Image: PEBBLE_IMAGE, Cmd: ["true"], Labels: { [labelKeys.prefix]: this.prefix } });
    try {
      const tar = (await c.getArchive({ path: "/etc/pebble/certs/pebble.minica.pem" })) as unknown as NodeJS.ReadableStream;
      const chunks: Buffer[] = [];
      for await (const chunk of tar) chunks.push(Buffer.from(chunk as Buffer));
      const text = Buffer.concat(chunks).toString("latin1");
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/.exec(text)?.[0];
      if (!pem) throw new Error("no certificate in the pebble image's minica file");
      return pem;
    } finally {
      await c.remove({ force: true });
    }
  }

  /** Starts Pebble on `network` once `pulumi up` has created it (bounded by `done`). */
  async startWhenNetworkExists(network: string, done: () => boolean): Promise<void> {
    for (let i = 0; i < 6000 && !done(); i++) {
      try {
        await docker.getNetwork(network).inspect();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const c = await docker.createContainer({
      name: this.name,
      Image: PEBBLE_IMAGE,
      Labels: { [labelKeys.prefix]: this.prefix, [labelKeys.component]: "e2e-pebble" },
      ExposedPorts: { "15000/tcp": {} },
      HostConfig: {
        NetworkMode: network,
        PortBindings: { "15000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(this.managementPort) }] },
      },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: ["pebble"] } } },
    });
    await c.start();
  }

  /** A certificate of the management API (`roots/0`, `intermediates/0`), served under the minica root. */
  management(what: string, minica: string): Promise<string> {
    return got(`https://localhost:${this.managementPort}/${what}`, {
      https: { certificateAuthority: minica },
      timeout: { request: 10_000 },
    }).text();
  }

  /** The certificates Pebble issued (one per finalized order). */
  async issued(): Promise<string[]> {
    return [...(await containerLogsOrWhy(this.name, 5000)).matchAll(/Issued certificate serial ([0-9a-f]+)/g)].map((m) => m[1]!);
  }

  /** Removes the container (it holds the front network while it is connected). */
  async remove(): Promise<void> {
    await docker
      .getContainer(this.name)
      .remove({ force: true })
      .catch(() => undefined);
  }
}
