/**
 * Plain Pulumi mocks for unit tests: records every resource's inputs (secrets kept recognisable)
 * and answers with outputs shaped like the providers' ones.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** How the runtime marks a serialized secret (`{ [secretSig]: ..., value }`). */
const secretSig = pulumi.runtime.specialSigKey;

/** A recorded resource registration. */
export interface Recorded {
  readonly type: string;
  readonly name: string;
  /** Inputs with secrets unwrapped. */
  readonly inputs: Record<string, any>;
  /** Inputs as received, secrets as `{ [secret]: value }` markers (for determinism checks). */
  readonly raw: Record<string, any>;
  /** JSON paths of secret inputs, e.g. "uploads[1].content". */
  readonly secretPaths: string[];
}

export const recorded: Recorded[] = [];

function unwrap(value: any, path: string, secrets: string[]): any {
  if (Array.isArray(value)) return value.map((v, i) => unwrap(v, `${path}[${i}]`, secrets));
  if (value && typeof value === "object") {
    if (value[secretSig] !== undefined) {
      secrets.push(path);
      return unwrap(value.value, path, []);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v, path ? `${path}.${k}` : k, secrets)]));
  }
  return value;
}

/** The `hex` the mocks give a RandomId: derived from its name, so tests can name what a resource got. */
export function randomIdHex(name: string, byteLength: number): string {
  return createHash("sha256")
    .update(name)
    .digest("hex")
    .slice(0, 2 * byteLength);
}

function outputsFor(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { ...inputs, result: `password-of-${name}`, bcryptHash: `$2a$10$hash-of-${name}` };
    case "random:index/randomBytes:RandomBytes":
      return { ...inputs, hex: `hex-of-${name}`, base64: `base64-of-${name}` };
    case "random:index/randomId:RandomId":
      return { ...inputs, hex: randomIdHex(name, inputs.byteLength) };
    case "docker:index/image:Image":
      return { ...inputs, repoDigest: `sha256:image-of-${name}`, baseImageName: inputs.imageName };
    case "docker:index/remoteImage:RemoteImage":
      return { ...inputs, imageId: `sha256:id-of-${inputs.name}`, repoDigest: `${inputs.name}@sha256:digest` };
    default:
      return inputs;
  }
}

/** Inputs as received with every secret value replaced by "[secret <hash of the value>]". */
export function redacted(value: any): any {
  if (Array.isArray(value)) return value.map(redacted);
  if (value && typeof value === "object") {
    if (value[secretSig] !== undefined)
      return `[secret ${createHash("sha256").update(JSON.stringify(value.value)).digest("hex").slice(0, 12)}]`;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redacted(v)]));
  }
  return value;
}

/** Installs the mocks; call before constructing resources or importing the program. */
export function installMocks(project = "jupyterhub", stack = "unit"): void {
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        const secretPaths: string[] = [];
        const inputs = unwrap(args.inputs, "", secretPaths);
        recorded.push({ type: args.type, name: args.name, inputs, raw: args.inputs, secretPaths });
        return { id: `${args.name}-id`, state: outputsFor(args.type, args.name, args.inputs) };
      },
      call(args) {
        // the Docker engine's networks by name (the swarm egress guards join `host`)
        if (args.token === "docker:index/getNetwork:getNetwork") return { id: `${args.inputs.name}-network-id`, name: args.inputs.name };
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    project,
    stack,
    false,
  );
}

/** Resolves an Output's value (tests only). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Waits until every resource registration started so far has reached the mocks. */
export async function settle(): Promise<void> {
  let last = -1;
  for (let i = 0; i < 200 && last !== recorded.length; i++) {
    last = recorded.length;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The recorded resources of a type whose name starts with a prefix. */
export function byType(type: string, namePrefix = ""): Recorded[] {
  return recorded.filter((r) => r.type === type && r.name.startsWith(namePrefix));
}

/** Resource type tokens of the providers the program uses. */
export const types = {
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  image: "docker:index/image:Image",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  container: "docker:index/container:Container",
  service: "docker:index/service:Service",
  password: "random:index/randomPassword:RandomPassword",
  bytes: "random:index/randomBytes:RandomBytes",
  randomId: "random:index/randomId:RandomId",
  leftovers: "pulumi-nodejs:dynamic/jupyterhub:Leftovers",
} as const;
