/**
 * monitoring: Prometheus on the stack's own monitoring network, scraping the hub's metrics and the
 * exporter of per-user measurements, its data in a retained volume; dashboards in the hub for admins.
 */
import { z } from "zod";
import { defaultImages } from "../../versions";
import { imageRef, type Issue } from "../rules";
import { memorySize } from "./spawner";

/** A Prometheus duration as its retention flag takes it: a whole number and a unit, e.g. 30d, 12w, 1y. */
const retentionTime = z
  .string()
  .regex(
    /^[1-9][0-9]{0,5}(h|d|w|y)$/,
    "monitoring.retention is a duration such as 30d: a whole number and h, d, w or y (e.g. 90d, 12w, 1y)",
  );

/** A Prometheus size as its retention flag takes it, e.g. 10GB. */
const retentionSize = z
  .string()
  .regex(/^[1-9][0-9]{0,5}(MB|GB|TB)$/, "monitoring.retentionSize is a size such as 10GB: a whole number and MB, GB or TB");

export const monitoringFields = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        "Run Prometheus for the stack: the hub's metrics and each user server's CPU, memory, network and home size, kept for `retention`; admins see the dashboards at <publicUrl>/hub/monitoring/ and `npm run report` writes usage reports.",
      ),
    image: imageRef.default(defaultImages.prometheus).describe("Prometheus image (its flags and promtool as the upstream image has them)."),
    retention: retentionTime.default("90d").describe("How long measurements are kept (Prometheus's storage.tsdb.retention.time)."),
    retentionSize: retentionSize
      .optional()
      .describe(
        "At most this much data on disk; the oldest goes first (Prometheus's storage.tsdb.retention.size). Default: no bound but `retention`.",
      ),
    scrapeInterval: z.int().min(5).max(300).default(15).describe("Seconds between measurements."),
    homeUsageInterval: z
      .int()
      .min(60)
      .max(86400)
      .default(600)
      .describe("Seconds between measurements of the homes' sizes (each walks every home on the disk)."),
    memLimit: memorySize("monitoring.memLimit").default("1G").describe("Memory limit of the Prometheus container."),
  })
  .strict()
  .prefault({})
  .describe(
    "Metrics, dashboards and usage reports (docs/monitoring.md). Prometheus and the exporter are on a network of their own that only the hub joins: user servers never reach them.",
  );

/** What monitoringChecks reads of the config. */
interface MonitoringView {
  readonly monitoring: { readonly enabled: boolean };
  readonly engine: { readonly mode: string };
}

/** Per-user measurements read the engine the hub runs on: one host only. */
export function monitoringChecks(cfg: MonitoringView, issue: Issue): void {
  if (cfg.monitoring.enabled && cfg.engine.mode === "swarm") {
    issue(
      ["monitoring", "enabled"],
      "monitoring measures user servers on the hub's own Docker engine, and in swarm mode they run on the Swarm's nodes: not available with engine.mode swarm",
    );
  }
}
