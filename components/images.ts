import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/**
 * The image `ref` on the engine, pulled once by `pulumi up` (through `provider`, which holds the
 * registries' credentials, when given) and kept there (`keepLocally`): a version the stack no longer
 * references stays for the servers that still run it, until an operator prunes it.
 */
export function pulledImage(name: string, ref: string, parent: pulumi.Resource, provider?: docker.Provider): docker.RemoteImage {
  return new docker.RemoteImage(name, { name: ref, keepLocally: true }, { parent, ...(provider ? { provider } : {}) });
}

export interface NotebookImagesArgs {
  /** Image references to have on the host, keyed by the image's short name. */
  readonly images: Readonly<Record<string, string>>;
  /** Pulls with the registries' credentials (`registries` configured); the default provider otherwise. */
  readonly pullProvider?: docker.Provider | undefined;
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
    const pulled = keys.map((key) => pulledImage(`${name}-${key}`, args.images[key]!, this, args.pullProvider));
    this.references = pulumi.all(Object.fromEntries(keys.map((key, i) => [key, pulled[i]!.name])));
    this.registerOutputs({ references: this.references });
  }
}
