import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type ImagePulls, pulledImage } from "./images";
import * as random from "@pulumi/random";
import { containerReplacement, postgresEntrypoint, postgresEnvs, postgresHealthcheck } from "./containers";
import { endpoints, postgres, type Label } from "./names";

export interface HubPostgresArgs {
  /** Container name. */
  readonly containerName: string;
  /** PostgreSQL image: the official `postgres` image or one with its interface (POSTGRES_* variables, PGDATA). */
  readonly image: string;
  /** The stack's main network, where the hub reaches it by the alias `postgres`. */
  readonly networkName: pulumi.Input<string>;
  /** Name of the volume that holds the data directory. */
  readonly volumeName: string;
  /** Labels of the container. */
  readonly labels: readonly Label[];
  /** Docker's json-file options that bound its log (`containerLogOptions`). */
  readonly logOptions: Readonly<Record<string, string>>;
  /** Labels of the data volume. */
  readonly volumeLabels: readonly Label[];
  /** How its image is pulled. */
  readonly pulls: ImagePulls;
}

/**
 * The hub database in PostgreSQL (hub.database.type postgres): a container on the stack's main
 * network (user servers, each on a network of their own, cannot reach it), its data in a volume
 * that no Pulumi operation deletes (`retainOnDelete`), and the role's password generated once by
 * @pulumi/random. The password reaches the container only as an uploaded file (a Pulumi secret,
 * read by the image's entrypoint, and set as the role's password at every start, so a new password
 * reaches existing data), never as an environment variable, label or output; the hub gets it in
 * secrets.json. The container is created healthy (password set, answering on TCP) before the hub.
 */
export class HubPostgres extends pulumi.ComponentResource {
  /** The container, for the hub's dependsOn. */
  public readonly container: docker.Container;
  /** The role's password (secret). */
  public readonly password: pulumi.Output<string>;
  /** Name of the data volume. */
  public readonly volumeName: pulumi.Output<string>;

  constructor(name: string, args: HubPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:docker:Postgres", name, {}, opts);
    const password = new random.RandomPassword(`${name}-password`, { length: 40, special: false }, { parent: this });
    const image = pulledImage(`${name}-image`, args.image, this, args.pulls);
    const volume = new docker.Volume(
      `${name}-data`,
      { name: args.volumeName, driver: "local", labels: [...args.volumeLabels] },
      // the hub's users, servers and tokens: kept on destroy and replacement; labels cannot change in Docker
      { parent: this, retainOnDelete: true, ignoreChanges: ["labels"] },
    );
    this.container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: image.imageId,
        // the image's entrypoint, and at every start the role's password set to the stack's
        entrypoints: postgresEntrypoint(),
        envs: postgresEnvs(),
        uploads: [{ file: postgres.passwordFile, content: pulumi.secret(password.result), permissions: "0600" }],
        networksAdvanced: [{ name: args.networkName, aliases: [endpoints.postgresAlias] }],
        volumes: [{ volumeName: volume.name, containerPath: postgres.dataDir }],
        healthcheck: postgresHealthcheck(),
        restart: "unless-stopped",
        labels: [...args.labels],
        logDriver: "json-file",
        logOpts: { ...args.logOptions },
        wait: true,
        waitTimeout: 300,
        // a clean shutdown (checkpoint) before the container goes
        destroyGraceSeconds: 60,
      },
      { parent: this, ...containerReplacement },
    );
    this.password = pulumi.secret(password.result);
    this.volumeName = volume.name;
    this.registerOutputs({ container: this.container.name, volumeName: this.volumeName });
  }
}
