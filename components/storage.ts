import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Label } from "./names";

/** A Docker volume the stack declares. */
export interface VolumeSpec {
  /** Docker volume name (of a share: with the version of its options). */
  readonly name: pulumi.Input<string>;
  /** Labels of the volume. */
  readonly labels: readonly Label[];
  /** Volume driver: a plugin's name; default Docker's local driver. */
  readonly driver?: string;
  /** Driver options (network shares); a secret when they carry credentials. */
  readonly driverOpts?: pulumi.Input<Record<string, string>>;
}

export interface HubStorageArgs {
  /** The hub's data volume (its state; the SQLite database with hub.database.type sqlite). */
  readonly hubData: VolumeSpec;
  /** Shared volumes of the storage mounts, keyed by mount name. */
  readonly shared: Readonly<Record<string, VolumeSpec>>;
}

/**
 * The volumes that hold data: hub data and shared storage. They are never deleted by Pulumi:
 * `retainOnDelete` keeps them on destroy and replacement (remove them with `docker volume rm`).
 */
export class HubStorage extends pulumi.ComponentResource {
  /** Name of the hub-data volume. */
  public readonly hubDataVolume: pulumi.Output<string>;
  /** Names of the shared volumes, keyed by mount name. */
  public readonly sharedVolumes: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: HubStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:docker:Storage", name, {}, opts);
    const volume = (resourceName: string, spec: VolumeSpec) =>
      new docker.Volume(
        resourceName,
        {
          name: spec.name,
          driver: spec.driver ?? "local",
          labels: [...spec.labels],
          ...(spec.driverOpts ? { driverOpts: spec.driverOpts } : {}),
        },
        // Docker cannot relabel a volume: a labels edit must not plan the replacement of a data volume.
        { parent: this, retainOnDelete: true, ignoreChanges: ["labels"] },
      );
    const hubData = volume(`${name}-hub-data`, args.hubData);
    const shared = Object.keys(args.shared)
      .sort()
      .map((mount) => [mount, volume(`${name}-${mount}`, args.shared[mount]!)] as const);
    this.hubDataVolume = hubData.name;
    this.sharedVolumes = pulumi.all(Object.fromEntries(shared.map(([mount, v]) => [mount, v.name])));
    this.registerOutputs({ hubDataVolume: this.hubDataVolume, sharedVolumes: this.sharedVolumes });
  }
}
