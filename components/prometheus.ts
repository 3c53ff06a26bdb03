/** Prometheus's configuration and flags for a stack with monitoring on (pure functions, no Pulumi). */
import { memoryBytes, type PublicConfig } from "./config";
import { basePath, publicUrl } from "./identity";
import { endpoints, monitoring } from "./names";
import { stableJson } from "./settings";

/** The path of the hub's metrics: under the hub's base URL (the path of publicUrl). */
export function hubMetricsPath(config: Parameters<typeof publicUrl>[0]): string {
  return `${basePath(publicUrl(config))}/hub/metrics`;
}

/**
 * prometheus.yml (as JSON, which YAML reads): the hub's metrics with Prometheus's own token, the
 * exporter's measurements, and Prometheus itself, every scrapeInterval seconds.
 */
export function prometheusConfig(config: Pick<PublicConfig, "monitoring" | "hub">): string {
  const interval = `${config.monitoring.scrapeInterval}s`;
  const target = (alias: string, port: number) => [{ targets: [`${alias}:${port}`] }];
  return stableJson({
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      scrape_timeout: `${Math.min(config.monitoring.scrapeInterval, 10)}s`,
    },
    scrape_configs: [
      {
        job_name: "hub",
        metrics_path: hubMetricsPath(config),
        authorization: { type: "Bearer", credentials_file: monitoring.prometheusToken },
        static_configs: target(endpoints.hubAlias, endpoints.hubPort),
      },
      { job_name: "gmap", static_configs: target(endpoints.exporterAlias, endpoints.exporterPort) },
      { job_name: "prometheus", static_configs: target("localhost", endpoints.prometheusPort) },
    ],
  });
}

/** Prometheus's flags: its configuration, its data and how long it keeps it, where it listens. */
export function prometheusFlags(config: Pick<PublicConfig, "monitoring">): string[] {
  const { retention, retentionSize } = config.monitoring;
  return [
    `--config.file=${monitoring.prometheusConfig}`,
    `--storage.tsdb.path=${monitoring.prometheusData}`,
    `--storage.tsdb.retention.time=${retention}`,
    ...(retentionSize !== undefined ? [`--storage.tsdb.retention.size=${retentionSize}`] : []),
    `--web.listen-address=:${endpoints.prometheusPort}`,
  ];
}

/** Prometheus's memory limit in bytes. */
export function prometheusMemoryBytes(config: Pick<PublicConfig, "monitoring">): number {
  return memoryBytes(config.monitoring.memLimit);
}
