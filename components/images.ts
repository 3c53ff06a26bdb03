import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface NotebookImagesArgs {
  /** Image references to have on the host, keyed by the image's short name. */
  readonly images: Readonly<Record<string, string>>;
}

/**
 * One RemoteImage per selectable notebook image, pulled ahead of time and kept locally
 * (`keepLocally`), so no spawn waits on a pull and switching images never deletes one in use.
 */
export class NotebookImages extends pulumi.ComponentResource {
  /** Image references, keyed by short name. */
  public readonly references: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: NotebookImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:docker:NotebookImages", name, {}, opts);
    const keys = Object.keys(args.images).sort();
    const pulled = keys.map(
      (key) => new docker.RemoteImage(`${name}-${key}`, { name: args.images[key]!, keepLocally: true }, { parent: this }),
    );
    this.references = pulumi.all(Object.fromEntries(keys.map((key, i) => [key, pulled[i]!.name])));
    this.registerOutputs({ references: this.references });
  }
}
