import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type Docker from "dockerode";
import { pullAhead } from "./pull-progress";
import { credentialsFor, type RegistryCredentials } from "./registries";

/** How the stack's images are pulled. */
export interface ImagePulls {
  /** The registries' credentials. */
  readonly credentials: readonly RegistryCredentials[];
  /**
   * The engine `pulumi up` pulls on, with the registries' credentials and progress reports, before
   * the image's RemoteImage finds it there (absent, as in a preview: the Docker provider pulls).
   */
  readonly engine?: Docker | undefined;
}

/**
 * `ref`, once it is on the engine: `pulumi up` pulls it first when it is not (with its registry's
 * credentials, reporting progress on `parent`); a preview, or a run without an engine to pull on,
 * gives `ref` as it is.
 */
export function pulledFirst(ref: string, parent: pulumi.Resource, pulls: ImagePulls): pulumi.Input<string> {
  const engine = pulls.engine;
  if (!engine) return ref;
  const report = (message: string, progress: boolean) => pulumi.log.info(message, parent, undefined, progress);
  return pulumi.output(pullAhead(engine, ref, credentialsFor(ref, pulls.credentials), report).then(() => ref));
}

/**
 * The image `ref` on the engine, pulled once by `pulumi up` (with its registry's credentials and
 * progress reports) and kept there (`keepLocally`): a version the stack no longer references stays
 * for the servers that still run it, until an operator prunes it. The Docker provider holds no
 * credentials: the image is on the engine before its RemoteImage is created, which then never pulls.
 */
export function pulledImage(name: string, ref: string, parent: pulumi.Resource, pulls: ImagePulls): docker.RemoteImage {
  return new docker.RemoteImage(name, { name: pulledFirst(ref, parent, pulls), keepLocally: true }, { parent });
}

export interface NotebookImagesArgs {
  /** Image references to have on the host, keyed by the image's short name. */
  readonly images: Readonly<Record<string, string>>;
  /** How the images are pulled. */
  readonly pulls: ImagePulls;
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
    const pulled = keys.map((key) => pulledImage(`${name}-${key}`, args.images[key]!, this, args.pulls));
    this.references = pulumi.all(Object.fromEntries(keys.map((key, i) => [key, pulled[i]!.name])));
    this.registerOutputs({ references: this.references });
  }
}
