/** Shared fixtures of the backup unit tests: a stack config, labelled volumes, manifest items and a manifest. */
import { parseConfig, type StackConfig } from "../../components/config";
import { labelKeys } from "../../components/names";
import type { Item, Manifest } from "../../ops/backups/manifest";
import type { VolumeInfo } from "../../ops/backups/volumes";

/** A validated config of prefix p with the given storage. */
export function config(storage: unknown[]): StackConfig {
  return parseConfig({ prefix: "p", storage });
}

export function volume(name: string, component: string, extra: Partial<VolumeInfo> = {}, prefix = "p"): VolumeInfo {
  return {
    name,
    labels: { [labelKeys.prefix]: prefix, [labelKeys.stack]: "s", [labelKeys.component]: component },
    driver: "local",
    options: {},
    ...extra,
  };
}

const sha = (c: string) => c.repeat(64);

export function item(extra: Partial<Item> & Pick<Item, "kind" | "volume" | "file">): Item {
  return { format: "tar+gzip", bytes: 10, contentBytes: 100, sha256: sha("a"), ...extra };
}

export function manifest(items: Item[]): Manifest {
  return {
    format: "gmap-jupyterhub-backup",
    version: 1,
    stack: "prod",
    prefix: "p",
    created: "2026-05-04T10:15:00.000Z",
    finished: "2026-05-04T10:16:00.000Z",
    jupyterhubVersion: "5.5.1",
    image: "p-hub:local",
    items,
    skipped: [{ volume: "p-archive", reason: "read-only" }],
  };
}

export const items: Item[] = [
  item({
    kind: "database",
    engine: "sqlite",
    volume: "p-hub-data",
    file: "database/jupyterhub.sqlite.gz",
    format: "sqlite+gzip",
    users: 3,
  }),
  item({ kind: "hub-data", volume: "p-hub-data", file: "volumes/p-hub-data.tar.gz", excludes: ["jupyterhub.sqlite"] }),
  item({ kind: "user", volume: "p-user-ada", user: "ada", mount: "user", file: "volumes/p-user-ada.tar.gz", labels: { a: "b" } }),
  item({ kind: "user", volume: "p-scratch-ada", user: "ada", mount: "scratch", file: "volumes/p-scratch-ada.tar.gz" }),
  item({ kind: "shared", volume: "p-shared", mount: "shared", file: "volumes/p-shared.tar.gz" }),
  item({ kind: "user", volume: "p-user-zoe-2ed-40lab", user: "zoe.d@lab", mount: "user", file: "volumes/p-user-zoe-2ed-40lab.tar.gz" }),
  item({ kind: "other", volume: "p-old", file: "volumes/p-old.tar.gz" }),
];
