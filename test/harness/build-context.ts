/**
 * Docker build contexts as @pulumi/docker's native `docker.Image` makes them: the context
 * directory minus what `.dockerignore` excludes (`<Dockerfile>.dockerignore` first), build files
 * always kept, a Dockerfile outside the context added under a generated name, and a content hash
 * (the Dockerfile hashed under the name "Dockerfile", then every file) that decides rebuilds.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";

// Both ship with dockerode (it uses them for its own build contexts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dockerignore: () => { add(patterns: string | string[]): { ignores(p: string): boolean } } = require("@balena/dockerignore");
interface TarPack extends Readable {
  entry(header: Record<string, unknown>, content?: Buffer | string): void;
  finalize(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tarStream: { pack(): TarPack } = require("tar-stream");

interface Entry {
  /** Path relative to the context, "/"-separated. */
  readonly rel: string;
  readonly abs: string;
  readonly stat: fs.Stats;
}

export interface BuildContext {
  /** Absolute context directory. */
  readonly contextDir: string;
  /** Dockerfile path relative to the context ("../x" when outside), as the provider reports it. */
  readonly relDockerfile: string;
  /** The name the daemon reads the Dockerfile under inside the tar. */
  readonly dockerfileInTar: string;
  /** sha256 of the Dockerfile and every file sent to the daemon. */
  readonly hash: string;
  /** Number of files sent. */
  readonly files: number;
  /** The tar stream to send to the daemon (call once). */
  tar(): Readable;
}

function readIgnorePatterns(dockerfileAbs: string, contextDir: string): string[] {
  for (const candidate of [`${dockerfileAbs}.dockerignore`, path.join(contextDir, ".dockerignore")]) {
    if (fs.existsSync(candidate)) {
      return fs
        .readFileSync(candidate, "utf8")
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
    }
  }
  return [];
}

/**
 * Resolves a build the way the provider does: `context` relative to `cwd` (the program
 * directory), `dockerfile` relative to `cwd` too (not to the context), default
 * `<context>/Dockerfile`.
 */
export function prepareBuildContext(cwd: string, context = ".", dockerfile?: string): BuildContext {
  const contextDir = path.resolve(cwd, context);
  if (!fs.existsSync(contextDir) || !fs.statSync(contextDir).isDirectory()) {
    throw new Error(`docker.Image build context ${JSON.stringify(context)} is not a directory (resolved from ${cwd} to ${contextDir})`);
  }
  const dockerfileAbs = path.resolve(cwd, dockerfile ?? path.join(context, "Dockerfile"));
  if (!fs.existsSync(dockerfileAbs)) {
    throw new Error(`docker.Image Dockerfile ${dockerfileAbs} does not exist (an explicit dockerfile is relative to the program directory, not the context)`);
  }
  const relDockerfile = path.relative(contextDir, dockerfileAbs).split(path.sep).join("/");
  const inContext = !relDockerfile.startsWith("../");
  const patterns = readIgnorePatterns(dockerfileAbs, contextDir);
  const ig = dockerignore().add(patterns);
  const hasExceptions = patterns.some((p) => p.startsWith("!"));
  // Build files are always sent so the daemon can read them.
  const keep = new Set([".dockerignore", ...(inContext ? [relDockerfile] : [])]);
  const ignored = (rel: string) => !keep.has(rel) && ig.ignores(rel);

  const entries: Entry[] = [];
  const walk = (dirAbs: string, dirRel: string): boolean => {
    let any = false;
    for (const name of fs.readdirSync(dirAbs).sort()) {
      const abs = path.join(dirAbs, name);
      const rel = dirRel ? `${dirRel}/${name}` : name;
      const stat = fs.lstatSync(abs);
      const skip = ignored(rel);
      if (stat.isDirectory()) {
        if (skip && !hasExceptions) continue;
        const at = entries.length;
        const inner = walk(abs, rel);
        if (!skip || inner) {
          entries.splice(at, 0, { rel, abs, stat });
          any = true;
        }
      } else if (!skip && (stat.isFile() || stat.isSymbolicLink())) {
        entries.push({ rel, abs, stat });
        any = true;
      }
    }
    return any;
  };
  walk(contextDir, "");

  const hash = createHash("sha256");
  const hashEntry = (name: string, mode: number, content: Buffer | string) => {
    hash.update(`${name}\0${(mode & 0o7777).toString(8)}\0${Buffer.byteLength(content)}\0`);
    hash.update(content);
  };
  hashEntry("Dockerfile", 0, fs.readFileSync(dockerfileAbs));
  let files = 0;
  for (const e of entries) {
    if (e.stat.isDirectory()) continue;
    files++;
    hashEntry(e.rel, e.stat.mode, e.stat.isSymbolicLink() ? `-> ${fs.readlinkSync(e.abs)}` : fs.readFileSync(e.abs));
  }

  const dockerfileInTar = inContext ? relDockerfile : `.dockerfile.${randomBytes(10).toString("hex")}`;
  return {
    contextDir,
    relDockerfile,
    dockerfileInTar,
    hash: hash.digest("hex"),
    files,
    tar() {
      const pack = tarStream.pack();
      const base = { uid: 0, gid: 0, uname: "", gname: "" };
      for (const e of entries) {
        const common = { ...base, name: e.rel, mode: e.stat.mode & 0o7777, mtime: e.stat.mtime };
        if (e.stat.isDirectory()) pack.entry({ ...common, type: "directory" });
        else if (e.stat.isSymbolicLink()) pack.entry({ ...common, type: "symlink", linkname: fs.readlinkSync(e.abs) });
        else if (!(e.rel === ".dockerignore" && !inContext)) pack.entry({ ...common, type: "file" }, fs.readFileSync(e.abs));
      }
      if (!inContext) {
        // As the docker CLI does: the outside Dockerfile under a generated name, itself ignored.
        const now = new Date();
        pack.entry({ ...base, name: dockerfileInTar, mode: 0o644, mtime: now, type: "file" }, fs.readFileSync(dockerfileAbs));
        const ignoreFile = path.join(contextDir, ".dockerignore");
        const original = fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, "utf8") : "";
        const extended = `${original}${original.endsWith("\n") || original === "" ? "" : "\n"}${dockerfileInTar}\n.dockerignore\n`;
        pack.entry({ ...base, name: ".dockerignore", mode: 0o644, mtime: now, type: "file" }, extended);
      }
      pack.finalize();
      return pack;
    },
  };
}
