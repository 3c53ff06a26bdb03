/** What a user server may do as a process (components/server-security.ts) and the opt-in to root (spawner.allowRoot). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig, withoutSecrets } from "../../components/config";
import { serverCapabilities } from "../../components/server-security";
import { hubSettings } from "../../components/settings";
import { problemsOf, refused } from "./config-problems";

const privilegesOf = (raw: Record<string, unknown>) => hubSettings(withoutSecrets(parseConfig(raw)), "unit", {}, {}).spawner.privileges;

describe("user server privileges", () => {
  it("by default: no privilege gain, every capability dropped but the start-up's", () => {
    assert.deepEqual(privilegesOf({}), { noNewPrivileges: true, capDrop: ["ALL"], capAdd: [...serverCapabilities] });
    for (const dropped of ["NET_RAW", "MKNOD", "SYS_CHROOT", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE"]) {
      assert.ok(!(serverCapabilities as readonly string[]).includes(dropped), dropped);
    }
  });

  it("refuses uid 0 and environment values that grant root or sudo, naming the opt-in", () => {
    refused({ spawner: { uid: 0 } }, "jupyterhub:spawner.uid", /spawner\.allowRoot: true/);
    refused({ spawner: { environment: { GRANT_SUDO: "yes" } } }, "jupyterhub:spawner.environment.GRANT_SUDO", /gives them sudo/);
    refused({ spawner: { environment: { NB_UID: "0" } } }, "jupyterhub:spawner.environment.NB_UID", /makes users root/);
    refused({ spawner: { environment: { NB_USER: "root" } } }, "jupyterhub:spawner.environment.NB_USER", /makes users root/);
    const storage = [{ name: "tools", source: { type: "volume" }, mountPath: "/opt/tools", environment: { GRANT_SUDO: "1" } }];
    refused({ storage }, "jupyterhub:storage[0].environment.GRANT_SUDO", /allowRoot/);
    assert.equal(problemsOf({ spawner: { uid: 0, environment: { GRANT_SUDO: "yes" } } }).length, 2, "every problem listed");
  });

  it("accepts harmless values of those variables", () => {
    assert.equal(
      parseConfig({ spawner: { environment: { GRANT_SUDO: "no", NB_UID: "1000", NB_USER: "jovyan" } } }).spawner.allowRoot,
      false,
    );
  });

  it("with spawner.allowRoot: root allowed, Docker's default privileges kept", () => {
    const raw = { spawner: { allowRoot: true, uid: 0, environment: { GRANT_SUDO: "yes" } } };
    assert.equal(parseConfig(raw).spawner.uid, 0);
    assert.deepEqual(privilegesOf(raw), { noNewPrivileges: false, capDrop: [], capAdd: [] });
  });

  it("refuses Btrfs subvolumes where a quota holds homes or a team folder, root or not", () => {
    const homes = {
      workVolume: { source: { type: "host", path: "/srv/gmap/homes/{username}" }, quota: { filesystem: "btrfs", size: "10G" } },
    };
    assert.equal(privilegesOf({ spawner: homes }).noSubvolumes, true);
    assert.equal(privilegesOf({ spawner: { ...homes, allowRoot: true } }).noSubvolumes, true);
    const scratch = {
      name: "scratch",
      source: { type: "host", path: "/srv/gmap/scratch/{username}" },
      mountPath: "/scratch",
      perUser: true,
    };
    assert.equal(privilegesOf({ storage: [{ ...scratch, quota: { filesystem: "btrfs", size: "5G" } }] }).noSubvolumes, true);
    assert.ok(!("noSubvolumes" in privilegesOf({ storage: [scratch] })), "absent without a quota");
  });
});
