/**
 * hub and proxy: the hub container, its public address, its database, and the proxy container in
 * front of it. HTTPS (hub.tls) is a section of its own: tls.ts.
 */
import { z } from "zod";
import { defaultImages } from "../../versions";
import { absolutePath, httpUrl, imageRef } from "../rules";
import { tlsFields } from "./tls";

/** The hub's log levels (settings.json hub.logLevel takes the same). */
export const logLevels = ["DEBUG", "INFO", "WARNING", "ERROR"] as const;

/** hub.dataReserveMiB, as the stack config and the settings contract take it. */
export const dataReserveMiB = z
  .int()
  .min(0)
  .max(1048576)
  .describe(
    "Free space (MiB) the hub keeps on the volume of its data (the hub-data volume: SQLite database, lockouts): below it, changes the hub would have to save (sign-ins, server starts and stops, user and admin changes) are refused with a clear 503 until space returns, so that nothing is left half-done; pages, the API's reads and running servers keep working. 0: no reserve (changes fail when the disk is full).",
  );

export const hubFields = z
  .object({
    publicUrl: httpUrl("hub.publicUrl").optional().describe("URL users open; default http://localhost:<port>."),
    port: z.int().min(1).max(65535).default(8000).describe("Host port the proxy publishes (with hub.tls.mode off)."),
    bindAddress: z
      .union([z.ipv4(), z.ipv6()], { error: "hub.bindAddress must be an IP address" })
      .default("127.0.0.1")
      .describe(
        "Host address the published ports bind to (0.0.0.0 for every interface): the proxy's hub.port, or with TLS on the front proxy's hub.tls ports.",
      ),
    baseImage: imageRef.default(defaultImages.hubBase).describe("Base image of the hub image (override for a mirror)."),
    platform: z
      .enum(["linux/amd64", "linux/arm64"], { error: 'hub.platform must be "linux/amd64" or "linux/arm64"' })
      .default("linux/amd64")
      .describe(
        "Platform the hub image is built for: the Docker host's (linux/arm64 on ARM servers). Stated, not guessed, so a preview from any machine plans the same build.",
      ),
    logLevel: z.enum(logLevels).default("INFO").describe("Hub log level."),
    dockerSocket: absolutePath("hub.dockerSocket").default("/var/run/docker.sock").describe("Docker socket the spawner uses."),
    tls: tlsFields,
    dataReserveMiB: dataReserveMiB.default(64),
    database: z
      .object({
        type: z
          .enum(["sqlite", "postgres"], { error: 'hub.database.type must be "sqlite" or "postgres"' })
          .default("sqlite")
          .describe(
            "sqlite: a file in the hub-data volume. postgres: a PostgreSQL container beside the hub (<prefix>-postgres, data in the volume <prefix>-hub-postgres, generated password); see docs/operations.md, When to choose PostgreSQL. Switching does not move existing users.",
          ),
        image: imageRef
          .default(defaultImages.postgres)
          .describe("PostgreSQL image (type postgres; the official image or one with its interface, e.g. a mirror)."),
      })
      .strict()
      .prefault({})
      .describe("Where the hub keeps its database (users, servers, tokens)."),
  })
  .strict()
  .prefault({})
  .describe("The hub container and its public address.");

/** proxy.routeCheckSeconds, as the stack config and the settings contract take it. */
export const routeCheckSeconds = z
  .int()
  .min(1)
  .max(300)
  .describe(
    "Seconds between two checks of the proxy's routes by the hub: after a proxy crash (its routes are in memory), every server is reachable again within this time of the proxy answering. One request to the proxy per check.",
  );

export const proxyFields = z
  .object({
    image: imageRef.default(defaultImages.proxy).describe("configurable-http-proxy image."),
    routeCheckSeconds: routeCheckSeconds.default(5),
  })
  .strict()
  .prefault({})
  .describe("The proxy container, which keeps routing to user servers while the hub restarts.");
