/** What the hub's dashboards (monitoring.enabled) need from the program: Chart.js, pinned in package.json. */
import * as fs from "node:fs";
import * as path from "node:path";
import type { HubFile } from "./hub";
import { monitoring } from "./names";

/** Chart.js's UMD build (one file the dashboards' pages load), from the npm package the project pins. */
export function chartJs(): string {
  return fs.readFileSync(path.join(path.dirname(require.resolve("chart.js")), "chart.umd.min.js"), "utf8");
}

/** The files the hub serves its dashboards with. */
export function dashboardFiles(): HubFile[] {
  return [{ file: monitoring.chartJsFile, content: chartJs(), permissions: "0644" }];
}
