/**
 * The usage of a period from Prometheus's answers (queries.ts): per day, per user and day, per user,
 * per group and per image. A server-hour is one hour of one running server: the samples of
 * `gmap_server_running` times the scrape interval. A user counts as active on a day when one of
 * their servers ran that day.
 */
import type { Day } from "./period";
import type { QueryResults } from "./queries";

/** One day of the period. */
export interface DayUsage {
  readonly date: string;
  /** Users with a running server that day. */
  readonly activeUsers: number;
  readonly serverHours: number;
  /** JupyterHub's own count of users active in the 24 hours before the day's end (its last value that day), if the hub reported it. */
  readonly hubActiveUsers: number | null;
}

/** One user on one day they had a server running (a row of the CSV). */
export interface UserDayUsage {
  readonly date: string;
  readonly user: string;
  /** The user's groups that day, sorted. */
  readonly groups: readonly string[];
  readonly serverHours: number;
  /** The highest memory in use of any one of the user's servers that day, if measured. */
  readonly peakMemoryBytes: number | null;
  /** The images of the user's servers that day, sorted. */
  readonly images: readonly string[];
}

/** One user over the period (users without server time are not listed). */
export interface UserUsage {
  readonly user: string;
  /** Their groups on the days they were active, sorted. */
  readonly groups: readonly string[];
  readonly serverHours: number;
  readonly daysActive: number;
  readonly images: readonly string[];
  readonly peakMemoryBytes: number | null;
}

/** One group over the period: the server time of its members while they were members. */
export interface GroupUsage {
  /** null: users in no group. */
  readonly group: string | null;
  readonly serverHours: number;
  readonly users: number;
}

/** One image over the period. */
export interface ImageUsage {
  readonly image: string;
  readonly serverHours: number;
  readonly users: number;
}

export interface Usage {
  readonly days: readonly DayUsage[];
  /** Oldest day first, then by user name. */
  readonly userDays: readonly UserDayUsage[];
  /** Most server-hours first. */
  readonly users: readonly UserUsage[];
  /** Most server-hours first; users in no group last. */
  readonly groups: readonly GroupUsage[];
  /** Most server-hours first. */
  readonly images: readonly ImageUsage[];
  readonly totals: {
    /** Users with server time in the period. */
    readonly users: number;
    readonly serverHours: number;
  };
}

/** `map.get(key)`, set to `make()` first when missing. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

/** The entry of `a` then `b` in a map of maps, made when missing. */
function entry2<V>(map: Map<string, Map<string, V>>, a: string, b: string, make: () => V): V {
  const inner = entry(map, a, () => new Map<string, V>());
  return entry(inner, b, make);
}

const sorted = (values: Iterable<string>) => [...values].sort();

/** Most server time first, then by name. */
function bySamples<T extends { samples: number }>(entries: [string, T][]): [string, T][] {
  return entries.sort(([a, x], [b, y]) => y.samples - x.samples || (a < b ? -1 : a > b ? 1 : 0));
}

/** Aggregates the answers of the report's queries over `days`; `scrapeIntervalSeconds` is the time one sample stands for. */
export function aggregate(days: readonly Day[], scrapeIntervalSeconds: number, results: QueryResults): Usage {
  const hours = (samples: number) => (samples * scrapeIntervalSeconds) / 3600;

  // date -> user -> image -> samples
  const running = new Map<string, Map<string, Map<string, number>>>();
  for (const s of results.running) {
    const user = s.labels.user;
    if (user === undefined || s.value <= 0) continue;
    const images = entry2(running, s.date, user, () => new Map<string, number>());
    const image = s.labels.image ?? "";
    images.set(image, (images.get(image) ?? 0) + s.value);
  }
  // date -> user -> groups
  const groups = new Map<string, Map<string, Set<string>>>();
  for (const s of results.groups) {
    const { user, group } = s.labels;
    if (user === undefined || group === undefined || s.value <= 0) continue;
    entry2(groups, s.date, user, () => new Set<string>()).add(group);
  }
  // date -> user -> peak bytes
  const memory = new Map<string, Map<string, number>>();
  for (const s of results.memory) {
    const user = s.labels.user;
    if (user === undefined) continue;
    const perUser = entry(memory, s.date, () => new Map<string, number>());
    perUser.set(user, Math.max(perUser.get(user) ?? 0, Math.round(s.value)));
  }
  const hubActive = new Map<string, number>();
  for (const s of results.hubActiveUsers) hubActive.set(s.date, Math.max(hubActive.get(s.date) ?? 0, s.value));

  const dayRows: DayUsage[] = [];
  const userDays: UserDayUsage[] = [];
  const perUser = new Map<string, { samples: number; days: number; images: Set<string>; groups: Set<string>; peak: number | null }>();
  const perGroup = new Map<string, { samples: number; users: Set<string> }>();
  const ungrouped = { samples: 0, users: new Set<string>() };
  const perImage = new Map<string, { samples: number; users: Set<string> }>();

  for (const day of days) {
    const users = running.get(day.date) ?? new Map<string, Map<string, number>>();
    let daySamples = 0;
    for (const user of sorted(users.keys())) {
      const images = users.get(user)!;
      const samples = [...images.values()].reduce((a, b) => a + b, 0);
      daySamples += samples;
      const userGroups = sorted(groups.get(day.date)?.get(user) ?? []);
      const peak = memory.get(day.date)?.get(user) ?? null;
      userDays.push({
        date: day.date,
        user,
        groups: userGroups,
        serverHours: hours(samples),
        peakMemoryBytes: peak,
        images: sorted(images.keys()),
      });

      const u = entry(perUser, user, () => ({ samples: 0, days: 0, images: new Set<string>(), groups: new Set<string>(), peak: null }));
      u.samples += samples;
      u.days += 1;
      for (const image of images.keys()) u.images.add(image);
      for (const group of userGroups) u.groups.add(group);
      if (peak !== null) u.peak = Math.max(u.peak ?? 0, peak);

      const inGroups = userGroups.map((group) => entry(perGroup, group, () => ({ samples: 0, users: new Set<string>() })));
      for (const g of inGroups.length ? inGroups : [ungrouped]) {
        g.samples += samples;
        g.users.add(user);
      }
      for (const [image, n] of images) {
        const i = entry(perImage, image, () => ({ samples: 0, users: new Set<string>() }));
        i.samples += n;
        i.users.add(user);
      }
    }
    dayRows.push({
      date: day.date,
      activeUsers: users.size,
      serverHours: hours(daySamples),
      hubActiveUsers: hubActive.get(day.date) ?? null,
    });
  }

  const totalSamples = [...perUser.values()].reduce((a, u) => a + u.samples, 0);
  return {
    days: dayRows,
    userDays,
    users: bySamples([...perUser]).map(([user, u]) => ({
      user,
      groups: sorted(u.groups),
      serverHours: hours(u.samples),
      daysActive: u.days,
      images: sorted(u.images),
      peakMemoryBytes: u.peak,
    })),
    groups: [
      ...bySamples([...perGroup]).map(([group, g]): GroupUsage => ({ group, serverHours: hours(g.samples), users: g.users.size })),
      ...(ungrouped.users.size ? [{ group: null, serverHours: hours(ungrouped.samples), users: ungrouped.users.size }] : []),
    ],
    images: bySamples([...perImage]).map(([image, i]) => ({ image, serverHours: hours(i.samples), users: i.users.size })),
    totals: { users: perUser.size, serverHours: hours(totalSamples) },
  };
}
