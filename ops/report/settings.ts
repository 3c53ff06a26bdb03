/** What a usage report needs of the stack config: its monitoring, and where its Prometheus is. */
import { endpoints, names } from "../../components/names";

/** What reportSettings reads of the stack config. */
export interface ReportConfigView {
  readonly prefix: string;
  readonly monitoring: { readonly enabled: boolean; readonly scrapeInterval: number; readonly retention: string };
}

export interface ReportSettings {
  /** The Prometheus container, where promtool runs. */
  readonly container: string;
  /** Prometheus as promtool in its container reaches it. */
  readonly server: string;
  /** Seconds between measurements: the time one sample of a running server stands for. */
  readonly scrapeIntervalSeconds: number;
  /** How long Prometheus keeps measurements. */
  readonly retention: string;
}

/** The report's settings of the stack `stack`; refuses a stack without monitoring. */
export function reportSettings(stack: string, config: ReportConfigView): ReportSettings {
  if (!config.monitoring.enabled)
    throw new Error(
      `the stack ${stack} has no monitoring (monitoring.enabled is not true), so nothing measured its usage: ` +
        "set monitoring.enabled: true in its stack file and `pulumi up`; reports cover the time since",
    );
  return {
    container: names(config.prefix).prometheusContainer,
    server: `http://localhost:${endpoints.prometheusPort}`,
    scrapeIntervalSeconds: config.monitoring.scrapeInterval,
    retention: config.monitoring.retention,
  };
}
