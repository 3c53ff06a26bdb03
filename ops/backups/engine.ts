/**
 * The Docker engine side of backups and restores (dockerode): short-lived helper containers that
 * read a volume into a stream (tar, a database copy) or write a stream into one, without network,
 * labelled with the stack's prefix, removed when done (and on Ctrl-C).
 */
import { type Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type Docker from "dockerode";
import { labelKeys, names } from "../../components/names";
import { Demux } from "./streams";

export interface HelperMount {
  readonly volume: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface HelperRun {
  readonly image: string;
  /** `sh -c` script, run as root; its arguments follow. */
  readonly script: string;
  readonly args?: readonly string[];
  readonly mounts: readonly HelperMount[];
  /** Fed to the script's stdin (then closed). */
  readonly stdin?: Readable;
  /** Receives the script's stdout; without it stdout is dropped. */
  readonly stdout?: NodeJS.WritableStream;
}

export interface HelperResult {
  readonly code: number;
  readonly stderr: string;
}

/** Helper containers that exist right now, removed on Ctrl-C. */
const live = new Set<Docker.Container>();

/** Removes the helper containers still there (e.g. on SIGINT). */
export async function removeLiveHelpers(): Promise<void> {
  await Promise.all([...live].map((c) => c.remove({ force: true }).catch(() => undefined)));
  live.clear();
}

/** Checks the engine answers; throws a message an operator can act on. */
export async function ping(docker: Docker): Promise<void> {
  try {
    await docker.ping();
  } catch (e) {
    throw new Error(
      `cannot reach the Docker engine (${(e as Error).message}); run this on the stack's Docker host, as a user who may use Docker`,
      {
        cause: e,
      },
    );
  }
}

/**
 * Runs `script` in a helper container of the stack (labelled with its prefix, component
 * "backup"), without network, with `mounts`; streams stdin in and stdout out; returns the exit
 * code and the end of stderr. The container is removed in every case.
 */
export async function runHelper(docker: Docker, prefix: string, run: HelperRun): Promise<HelperResult> {
  const withStdin = run.stdin !== undefined;
  const container = await docker.createContainer({
    Image: run.image,
    Entrypoint: ["sh", "-c", run.script, "gmap-backup", ...(run.args ?? [])],
    Cmd: [],
    User: "0:0",
    WorkingDir: "/",
    Env: ["LC_ALL=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"],
    Labels: { [labelKeys.prefix]: prefix, [labelKeys.component]: "backup" },
    NetworkDisabled: true,
    Tty: false,
    AttachStdin: withStdin,
    OpenStdin: withStdin,
    StdinOnce: withStdin,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      NetworkMode: "none",
      // the output travels through the attach stream only: a logging driver would also copy the
      // whole archive into the container's log on the host (json-file: 7 times slower, measured)
      LogConfig: { Type: "none", Config: {} },
      Mounts: run.mounts.map((m) => ({ Type: "volume" as const, Source: m.volume, Target: m.target, ReadOnly: m.readOnly })),
    },
  });
  live.add(container);
  try {
    const stream = (await container.attach({
      stream: true,
      stdin: withStdin,
      stdout: true,
      stderr: true,
      hijack: withStdin,
    })) as NodeJS.ReadWriteStream;
    const demux = new Demux();
    const sink = run.stdout ?? new Writable({ write: (_c, _e, cb) => cb() });
    const output = pipeline(stream, demux, sink);
    output.catch(() => undefined); // awaited below, after the exit
    await container.start();
    let fed: { ok: true } | { ok: false; error: Error } | undefined;
    const input = run.stdin
      ? feed(run.stdin, stream).then(
          () => (fed = { ok: true }),
          (error: Error) => (fed = { ok: false, error }),
        )
      : Promise.resolve();
    // "not-running": returns at once if the container already exited
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await output;
    if (run.stdin) {
      // the container is gone: whatever was not read yet will never be
      if (fed === undefined) run.stdin.destroy();
      await input;
      const f = fed as { ok: true } | { ok: false; error: Error } | undefined;
      if (StatusCode === 0 && !f?.ok)
        throw new Error(`the helper exited before it read all of its input${f && !f.ok ? `: ${f.error.message}` : ""}`);
    }
    return { code: StatusCode, stderr: demux.stderr };
  } finally {
    live.delete(container);
    await container.remove({ force: true }).catch(() => undefined);
  }
}

export interface ExecRun {
  /** The command, run in the container as its default user. */
  readonly cmd: readonly string[];
  /** Fed to the command's stdin (then closed). */
  readonly stdin?: Readable;
  /** Receives the command's stdout; without it stdout is dropped. */
  readonly stdout?: NodeJS.WritableStream;
}

/**
 * Runs `cmd` in the running container `container` (docker exec), streaming stdin in and stdout out;
 * returns the exit code and the end of stderr.
 */
export async function execIn(docker: Docker, container: string, run: ExecRun): Promise<HelperResult> {
  const withStdin = run.stdin !== undefined;
  const exec = await docker.getContainer(container).exec({
    Cmd: [...run.cmd],
    Env: ["LC_ALL=C.UTF-8"],
    AttachStdin: withStdin,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  });
  const stream = (await exec.start({ hijack: withStdin, stdin: withStdin, Tty: false })) as NodeJS.ReadWriteStream;
  const demux = new Demux();
  const sink = run.stdout ?? new Writable({ write: (_c, _e, cb) => cb() });
  const output = pipeline(stream, demux, sink);
  output.catch(() => undefined); // awaited below
  let fed: { ok: true } | { ok: false; error: Error } | undefined;
  const input = run.stdin
    ? feed(run.stdin, stream).then(
        () => (fed = { ok: true }),
        (error: Error) => (fed = { ok: false, error }),
      )
    : Promise.resolve();
  await output;
  if (run.stdin && fed === undefined) run.stdin.destroy();
  await input;
  // the stream ends when the command exits; its exit code follows within moments
  let code: number | null = null;
  for (let i = 0; i < 100 && code === null; i++) {
    const info = await exec.inspect();
    if (!info.Running) code = info.ExitCode ?? null;
    else await new Promise((r) => setTimeout(r, 100));
  }
  if (code === null) throw new Error(`${run.cmd[0]} in ${container} did not exit after its output ended`);
  const f = fed as { ok: true } | { ok: false; error: Error } | undefined;
  if (run.stdin && code === 0 && !f?.ok)
    throw new Error(`${run.cmd[0]} in ${container} exited before it read all of its input${f && !f.ok ? `: ${f.error.message}` : ""}`);
  return { code, stderr: demux.stderr };
}

/** Whether a container exists and runs. */
export async function isRunning(docker: Docker, container: string): Promise<boolean> {
  try {
    return (await docker.getContainer(container).inspect()).State.Running;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

/** Writes `source` into the attach stream and then half-closes it, which closes the container's stdin. */
async function feed(source: Readable, stream: NodeJS.ReadWriteStream): Promise<void> {
  let closed = false;
  const onClose = () => (closed = true);
  stream.once("close", onClose);
  try {
    for await (const chunk of source) {
      if (closed) throw new Error("the container closed its input");
      if (!stream.write(chunk as Buffer)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            stream.off("drain", go);
            stream.off("close", go);
            resolve();
          };
          stream.on("drain", go);
          stream.on("close", go);
        });
      }
    }
    if (closed) throw new Error("the container closed its input");
    stream.end();
  } finally {
    stream.off("close", onClose);
  }
}

/**
 * The image of the helper containers, which needs `sh`, `tar` and Python with sqlite3: `override`
 * if given, else the stack's hub image (there on every host the stack is deployed on), else the
 * hub's base image (hub.baseImage, e.g. quay.io/jupyterhub/jupyterhub after `pulumi destroy`
 * removed the hub image). Never pulls: says what to pull instead.
 */
export async function helperImage(docker: Docker, prefix: string, baseImage: string, override?: string): Promise<string> {
  const present = async (image: string) => {
    try {
      await docker.getImage(image).inspect();
      return true;
    } catch {
      return false;
    }
  };
  if (override) {
    if (await present(override)) return override;
    throw new Error(`the image ${override} (--image) is not on this Docker host: docker pull ${override}`);
  }
  const candidates = [names(prefix).hubImage, baseImage];
  for (const image of candidates) if (await present(image)) return image;
  throw new Error(
    `neither the hub image ${candidates[0]} nor its base image ${baseImage} is on this Docker host: ` +
      `docker pull ${baseImage} (or pulumi up the stack), or give an image with sh, tar and python3 with --image`,
  );
}

/** Every running container that mounts one of `volumes`, with the volumes it mounts. */
export async function runningUsers(docker: Docker, volumes: readonly string[]) {
  const wanted = new Set(volumes);
  const running = await docker.listContainers({});
  return running
    .map((c) => ({
      container: (c.Names[0] ?? c.Id).replace(/^\//, ""),
      labels: c.Labels ?? {},
      volumes: (c.Mounts ?? []).filter((m) => m.Type === "volume" && m.Name && wanted.has(m.Name)).map((m) => m.Name!),
    }))
    .filter((c) => c.volumes.length > 0);
}
