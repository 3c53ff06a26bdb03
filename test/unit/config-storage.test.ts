/** storage: mount paths, host path sources and network share options that would expose or break what they must not. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../components/config";
import { shareDriverOptions, spawnerMounts } from "../../components/mounts";
import { refused } from "./config-problems";

const volumeAt = (mountPath: string, extra: Record<string, unknown> = {}) => ({
  storage: [{ name: "data", source: { type: "volume" }, mountPath, ...extra }],
});
const hostBind = (path: string, extra: Record<string, unknown> = {}) => ({
  storage: [{ name: "data", source: { type: "host", path }, mountPath: "/mnt/data", ...extra }],
});

describe("mount paths", () => {
  it("accepts ordinary mount paths", () => {
    for (const p of [
      "/mnt/data",
      "/srv/isis-data",
      "/home/jovyan/shared",
      "/opt/data",
      "/etc-archive",
      "/var/data",
      "/home/jovyan/work/extra",
    ]) {
      assert.equal(parseConfig(volumeAt(p)).storage[0]!.mountPath, p);
    }
    assert.equal(
      parseConfig({ spawner: { workVolume: { mountPath: "/home/jovyan/persistent" } } }).spawner.workVolume.mountPath,
      "/home/jovyan/persistent",
    );
  });

  it("refuses separators, control characters and paths not in normal form", () => {
    const key = "jupyterhub:storage[0].mountPath";
    refused(volumeAt("/mnt/my data"), key, /must not contain spaces, "," or ":"/);
    refused(volumeAt("/mnt/a,b"), key, /must not contain spaces, "," or ":"/);
    refused(volumeAt("/mnt/a:b"), key, /must not contain spaces, "," or ":"/);
    refused(volumeAt("/mnt/a\nb"), key, /control characters/);
    refused(volumeAt("/mnt/../etc"), key, /must not contain "\.\." segments/);
    refused(volumeAt("/mnt/./data"), key, /"\." segments or "\/\/"/);
    refused(volumeAt("/mnt//data"), key, /"\." segments or "\/\/"/);
    refused(volumeAt("/mnt/data/"), key, /must not end with "\/": write \/mnt\/data/);
    refused(
      { spawner: { workVolume: { mountPath: "/home/jovyan/my work" } } },
      "jupyterhub:spawner.workVolume.mountPath",
      /must not contain spaces/,
    );
  });

  it("refuses system directories of the image and their ancestors", () => {
    const hidden: Array<[string, string]> = [
      ["/", "/etc"],
      ["/etc", "/etc"],
      ["/usr", "/usr"],
      ["/bin", "/bin"],
      ["/sbin", "/sbin"],
      ["/lib", "/lib"],
      ["/lib64", "/lib64"],
      ["/proc", "/proc"],
      ["/sys", "/sys"],
      ["/dev", "/dev"],
      ["/var", "/var/run"],
      ["/var/run", "/var/run"],
      ["/run", "/run"],
      ["/opt", "/opt/conda"],
      ["/opt/conda", "/opt/conda"],
    ];
    for (const [p, what] of hidden) {
      refused(volumeAt(p, { readOnly: true }), "jupyterhub:storage[0].mountPath", new RegExp(`would hide ${what} of the notebook image`));
    }
    refused({ spawner: { workVolume: { mountPath: "/opt/conda" } } }, "jupyterhub:spawner.workVolume.mountPath", /would hide \/opt\/conda/);
  });

  it("refuses shared writable mounts at or above the notebook home", () => {
    for (const p of ["/home/jovyan", "/home"]) {
      refused(volumeAt(p), "jupyterhub:storage[0].mountPath", /shared writable mount .* would cover the notebook home \/home\/jovyan/);
      refused(hostBind("/srv/homes", { mountPath: p }), "jupyterhub:storage[0].mountPath", /would cover the notebook home/);
    }
    refused(
      { ...volumeAt("/srv"), spawner: { notebookDir: "/srv/notebooks" } },
      "jupyterhub:storage[0].mountPath",
      /would cover the notebook home \/srv\/notebooks/,
    );
    refused(
      { ...volumeAt("/srv/notebooks"), spawner: { notebookDir: "/srv/notebooks/" } },
      "jupyterhub:storage[0].mountPath",
      /would cover the notebook home \/srv\/notebooks/,
    );
    // per-user or read-only mounts there share nothing writable
    parseConfig({ ...volumeAt("/home/jovyan", { perUser: true }), spawner: { workVolume: { enabled: false } } });
    parseConfig({ ...volumeAt("/home/jovyan", { readOnly: true }), spawner: { workVolume: { enabled: false } } });
    parseConfig({ ...volumeAt("/srv/notebooks/shared"), spawner: { notebookDir: "/srv/notebooks" } });
  });
});

describe("host path sources", () => {
  it("accepts data directories", () => {
    for (const path of ["/srv/gmap/archive", "/var/lib/gmap-data", "/data", "/home/shared", "/etc-backup"]) {
      assert.equal((parseConfig(hostBind(path)).storage[0]!.source as { path: string }).path, path);
    }
    parseConfig(hostBind("/srv/home/{username}", { perUser: true }));
  });

  it("refuses the Docker socket, system directories, their contents and their ancestors", () => {
    const key = "jupyterhub:storage[0].source.path";
    const exposed: Array<[string, string]> = [
      ["/", "/etc"],
      ["/var/run/docker.sock", "/var/run"],
      ["/run/docker.sock", "/run"],
      ["/var/run", "/var/run"],
      ["/var", "/var/lib/docker"],
      ["/etc", "/etc"],
      ["/etc/shadow", "/etc"],
      ["/proc", "/proc"],
      ["/proc/1/root", "/proc"],
      ["/sys", "/sys"],
      ["/dev/sda", "/dev"],
      ["/var/lib/docker", "/var/lib/docker"],
      ["/var/lib", "/var/lib/docker"],
      ["/var/lib/docker/volumes/gmap-hub-data/_data", "/var/lib/docker"],
      ["/root", "/root"],
      ["/root/.ssh", "/root"],
      ["/boot", "/boot"],
    ];
    for (const [path, what] of exposed)
      refused(
        hostBind(path, { readOnly: true }),
        key,
        new RegExp(`${path.replace(/\./g, "\\.")} would give notebook users the host's ${what}`),
      );
    refused(hostBind("/srv/../etc"), key, /must not contain "\.\." segments/);
    refused(hostBind("/etc/"), key, /must not end with "\/"/);
  });

  it("refuses the configured Docker socket and its directories", () => {
    const hub = { dockerSocket: "/srv/docker/docker.sock" };
    for (const path of ["/srv/docker/docker.sock", "/srv/docker", "/srv"]) {
      refused(
        { ...hostBind(path), hub },
        "jupyterhub:storage[0].source.path",
        /the host's \/srv\/docker\/docker\.sock.*\(hub\.dockerSocket\)/,
      );
    }
    parseConfig({ ...hostBind("/srv/data"), hub });
  });

  it("refuses per-user templates where a user name could reach a system directory", () => {
    for (const [path, what] of [
      ["/{username}", "/etc"],
      ["/var/lib/{username}", "/var/lib/docker"],
      ["/var/{username}/data", "/var/lib/docker"],
      ["/e{username}", "/etc"],
    ]) {
      refused(hostBind(path!, { perUser: true }), "jupyterhub:storage[0].source.path", new RegExp(`could make .* the host's ${what}`));
    }
    refused(hostBind("/etc/{username}", { perUser: true }), "jupyterhub:storage[0].source.path", /the host's \/etc/);
  });
});

describe("network share mount options", () => {
  const nfs = (source: Record<string, unknown>) => ({
    storage: [{ name: "isis", source: { type: "nfs", server: "nas", export: "/isis", ...source }, mountPath: "/mnt/isis" }],
  });
  const cifs = (source: Record<string, unknown>, credentials: Record<string, unknown> = { username: "svc", password: "pw" }) => ({
    storage: [{ name: "share", source: { type: "cifs", server: "smb", share: "data", ...source }, mountPath: "/mnt/share" }],
    shareCredentials: { share: credentials },
  });

  it("accepts host names, addresses, paths and credentials that fit in the mount options", () => {
    parseConfig(nfs({ server: "nas.example.org", export: "/export/isis-data" }));
    parseConfig(nfs({ server: "10.1.2.3" }));
    parseConfig(nfs({ server: "fd00::1" }));
    const c = parseConfig(
      cifs({ share: "data/sub dir", options: ["vers=3.0"] }, { username: "svc.reader", password: "p@ss=w0rd; ok", domain: "LAB" }),
    );
    // every value stays one option of Docker's comma-separated list
    assert.deepEqual(shareDriverOptions(c.storage[0]!, c.shareCredentials)?.o?.split(","), [
      "addr=smb",
      "username=svc.reader",
      "password=p@ss=w0rd; ok",
      "domain=LAB",
      "vers=3.0",
    ]);
  });

  it("refuses servers, exports and shares that would break or add options", () => {
    refused(nfs({ server: "nas,uid=0" }), "jupyterhub:storage[0].source.server", /host name or IP address/);
    refused(nfs({ server: "nas\n" }), "jupyterhub:storage[0].source.server", /host name or IP address/);
    refused(nfs({ server: "-onas" }), "jupyterhub:storage[0].source.server", /host name or IP address/);
    refused(nfs({ server: "" }), "jupyterhub:storage[0].source.server", /host name or IP address/);
    refused(nfs({ export: "/isis,rw" }), "jupyterhub:storage[0].source.export", /must not contain ",", "=" or control characters/);
    refused(nfs({ export: "/isis\nrw" }), "jupyterhub:storage[0].source.export", /must not contain ",", "=" or control characters/);
    refused(cifs({ share: "data,uid=0" }), "jupyterhub:storage[0].source.share", /must not contain ",", "="/);
    refused(cifs({ share: "data=x" }), "jupyterhub:storage[0].source.share", /must not contain ",", "="/);
    refused(
      nfs({ options: ["nfsvers=4\u0000"] }),
      "jupyterhub:storage[0].source.options[0]",
      /without commas, spaces or control characters/,
    );
  });

  it("refuses credentials that would break or add options, without showing them", () => {
    const secret = "hunter2,uid=0";
    const problem = refused(
      cifs({}, { username: "svc", password: secret }),
      "jupyterhub:shareCredentials.share.password",
      /must not contain "," or control characters/,
    );
    assert.ok(!problem.includes("hunter2"), problem);
    const lineBreak = refused(
      cifs({}, { username: "svc", password: "pw\nsecret-line" }),
      "jupyterhub:shareCredentials.share.password",
      /line breaks/,
    );
    assert.ok(!lineBreak.includes("secret-line"), lineBreak);
    for (const [field, value] of [
      ["username", "svc,uid=0"],
      ["username", "svc=admin"],
      ["domain", "LAB,rw"],
      ["domain", "LAB\n"],
    ] as const) {
      const p = refused(
        cifs({}, { username: "svc", password: "pw", [field]: value }),
        `jupyterhub:shareCredentials.share.${field}`,
        /must not contain ",", "=" or control characters/,
      );
      assert.ok(!p.includes(value), p);
    }
  });
});

describe("storage for some: groups and writers", () => {
  const groups = [{ name: "team", members: ["ada"] }];
  it("passes a group's project folder and a curated area to the hub", () => {
    const c = parseConfig({
      groups,
      storage: [
        {
          name: "project",
          source: { type: "volume" },
          mountPath: "/home/jovyan/project",
          groups: ["team"],
          environment: { PROJECT_DATA: "/home/jovyan/project" },
        },
        {
          name: "curated",
          source: { type: "volume" },
          mountPath: "/mnt/curated",
          readOnly: true,
          writers: { admins: true },
          environment: { CURATED: "/mnt/curated" },
        },
      ],
    });
    const mounts = spawnerMounts(c, {});
    assert.deepEqual(mounts.find((m) => m.name === "project")!.groups, ["team"]);
    // a team mount's variables go with the mount (its members' servers); the others' to every server
    assert.deepEqual(mounts.find((m) => m.name === "project")!.environment, { PROJECT_DATA: "/home/jovyan/project" });
    assert.equal(mounts.find((m) => m.name === "curated")!.environment, undefined);
    assert.deepEqual(mounts.find((m) => m.name === "curated")!.writers, { admins: true, groups: [] });
    assert.equal(mounts.find((m) => m.name === "curated")!.readOnly, true);
  });

  it("mounts a share with writers writable: each server's mount is read-only for the others", () => {
    const nfs = { type: "nfs", server: "10.0.0.5", export: "/curated" };
    const options = (extra: Record<string, unknown>) =>
      shareDriverOptions(
        {
          name: "curated",
          source: parseConfig({ storage: [{ name: "curated", source: nfs, mountPath: "/mnt/c" }] }).storage[0]!.source,
          readOnly: true,
          ...extra,
        },
        {},
      );
    assert.match(options({})!.o!, /,ro$/);
    assert.doesNotMatch(options({ writers: { admins: true, groups: [] } })!.o!, /ro/);
  });

  it("refuses unknown groups, writers of a writable mount and writers nobody is", () => {
    const at = (extra: Record<string, unknown>) => ({
      groups,
      storage: [{ name: "d", source: { type: "volume" }, mountPath: "/mnt/d", ...extra }],
    });
    refused(at({ groups: ["nobody"] }), "jupyterhub:storage[0].groups[0]", /"nobody" is not one of the groups \(team\)/);
    refused(
      at({ readOnly: true, writers: { groups: ["nobody"] } }),
      "jupyterhub:storage[0].writers.groups[0]",
      /"nobody" is not one of the groups/,
    );
    refused(at({ writers: { admins: true } }), "jupyterhub:storage[0].writers", /set readOnly: true/);
    refused(at({ readOnly: true, writers: {} }), "jupyterhub:storage[0].writers", /admins: true or groups/);
  });
});
