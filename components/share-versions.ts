import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { stableJson } from "./settings";

export interface ShareVersionsArgs {
  /** The Docker volume driver options of each share (network shares, plugin volumes, homes on a share), keyed by mount name; a secret when they carry credentials. */
  readonly options: pulumi.Input<Readonly<Record<string, Readonly<Record<string, string>>>>>;
  /** Mount names, sorted (the keys of `options`, known before its values). */
  readonly mounts: readonly string[];
}

/**
 * One random version per share, replaced whenever the share's options change: its volumes are
 * named with it (`mounts.ts`, `versionedVolume`). Docker hands back an existing volume of the same
 * name with its old options, so a share whose server, path, mount options or password changed
 * must get volumes of a new name for the change to happen at all; a version drawn at random says
 * nothing about the options (never a name derived from a password), unlike a hash of them.
 * Servers that run keep the volumes they mounted; the next ones mount the new volumes.
 */
export class ShareVersions extends pulumi.ComponentResource {
  /** The version of each share, keyed by mount name (8 hex digits). */
  public readonly versions: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ShareVersionsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:random:ShareVersions", name, {}, opts);
    const options = pulumi.output(args.options);
    const versions = args.mounts.map((mount) => {
      const id = new random.RandomId(
        `${name}-${mount}`,
        // the options are only compared (in the state, encrypted when secret), never shown
        { byteLength: 4, keepers: { options: options.apply((o) => stableJson(o[mount] ?? {})) } },
        { parent: this },
      );
      // random, so it reveals nothing even when the options it follows are secret
      return [mount, pulumi.unsecret(id.hex)] as const;
    });
    this.versions = pulumi.all(Object.fromEntries(versions));
    this.registerOutputs({ versions: this.versions });
  }
}
