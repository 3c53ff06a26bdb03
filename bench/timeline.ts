/**
 * Where a spawn's time goes, from what the engine and the containers already record: Docker's
 * event stream (network created, hub and proxy connected, container created and started, each
 * with the engine's timestamp), the user container's log (start hook done, server listening) and
 * the hub's log (server answering the hub, route added), all with the host's clock, as times after
 * the POST that asked for the server.
 */
import Docker from "dockerode";

const docker = new Docker();

interface EngineEvent {
  readonly time: number;
  readonly type: string;
  readonly action: string;
  readonly id: string;
  readonly attributes: Record<string, string>;
}

/** Docker's events from `start` on, kept in memory (the daemon keeps only its last 1000). */
export class EngineEvents {
  private readonly events: EngineEvent[] = [];
  private stream?: NodeJS.ReadableStream & { destroy?: () => void };

  async start(): Promise<void> {
    this.stream = (await docker.getEvents({ since: Math.floor(Date.now() / 1000) - 1 })) as NodeJS.ReadableStream;
    let buffer = "";
    this.stream.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines.filter(Boolean)) {
        const e = JSON.parse(line) as {
          Type: string;
          Action: string;
          Actor: { ID: string; Attributes: Record<string, string> };
          timeNano: number;
        };
        if (e.Action.startsWith("exec_")) continue; // healthchecks
        this.events.push({ time: e.timeNano / 1e6, type: e.Type, action: e.Action, id: e.Actor.ID, attributes: e.Actor.Attributes ?? {} });
      }
    });
  }

  stop(): void {
    this.stream?.destroy?.();
  }

  /** The first event of that type and action whose attributes include `attributes`, at or after `after`. */
  first(type: string, action: string, attributes: Record<string, string>, after: number): number | undefined {
    return this.events.find(
      (e) =>
        e.type === type && e.action === action && e.time >= after && Object.entries(attributes).every(([k, v]) => e.attributes[k] === v),
    )?.time;
  }
}

/** A container's log lines with Docker's timestamps (ms since the epoch), stdout and stderr. */
export async function timedLog(container: string, since: number): Promise<{ time: number; line: string }[]> {
  let raw: Buffer;
  try {
    raw = (await docker
      .getContainer(container)
      .logs({ stdout: true, stderr: true, timestamps: true, follow: false, since: Math.floor(since / 1000) - 1 })) as unknown as Buffer;
  } catch {
    return [];
  }
  // non-TTY logs are multiplexed: 8-byte frame headers (stream, 0, 0, 0, length as uint32 BE)
  const text: string[] = [];
  for (let at = 0; at + 8 <= raw.length;) {
    const size = raw.readUInt32BE(at + 4);
    text.push(raw.subarray(at + 8, at + 8 + size).toString("utf8"));
    at += 8 + size;
  }
  return text
    .join("")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const space = l.indexOf(" ");
      return { time: Date.parse(l.slice(0, space)), line: l.slice(space + 1) };
    });
}

/** What identifies one spawn in the engine's records. */
export interface SpawnRecord {
  /** The JupyterHub user name. */
  readonly user: string;
  /** When the POST was sent (ms since the epoch). */
  readonly t0: number;
  /** The user server's container name. */
  readonly container: string;
  /** The user server's own network (this project), if any. */
  readonly network?: string;
  /** Container ids of the hub and the proxy (to find their network connections). */
  readonly hubAndProxy?: readonly string[];
}

/** Times (ms after the POST) of each phase of a spawn the records show. */
export async function phasesOf(
  s: SpawnRecord,
  events: EngineEvents,
  hubLog: { time: number; line: string }[],
): Promise<Map<string, number>> {
  const phases = new Map<string, number>();
  const at = (label: string, time: number | undefined) => {
    if (time !== undefined && !Number.isNaN(time)) phases.set(label, time - s.t0);
  };
  if (s.network) {
    at("engine: user network created", events.first("network", "create", { name: s.network }, s.t0));
    const joins = (s.hubAndProxy ?? []).map((id) => events.first("network", "connect", { name: s.network!, container: id }, s.t0));
    if (joins.every((t) => t !== undefined)) at("engine: hub and proxy joined it", Math.max(...(joins as number[])));
  }
  at("engine: container created", events.first("container", "create", { name: s.container }, s.t0));
  at("engine: container started", events.first("container", "start", { name: s.container }, s.t0));
  const log = await timedLog(s.container, s.t0);
  at("container: start hook done", log.find((l) => l.line.includes("the start hook succeeded"))?.time);
  at("container: server listening", log.find((l) => /is running at|Serving notebooks from|Uvicorn running/.test(l.line))?.time);
  const userLine = (re: RegExp) => hubLog.find((l) => l.time >= s.t0 && l.line.includes(s.user) && re.test(l.line))?.time;
  at("hub: server answers the hub", userLine(/ took [0-9.]+ seconds to start/));
  at("hub: route added to the proxy", userLine(/Adding user .* to proxy/));
  return phases;
}
