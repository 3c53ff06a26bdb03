import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../components/config";
import { shareDriverOptions, spawnerMounts } from "../../components/mounts";
import { hubSecrets, hubSettings, stableJson } from "../../components/settings";

describe("notebook mounts", () => {
  it("mounts network shares through the local volume driver", () => {
    const c = parseConfig({
      storage: [
        {
          name: "isis",
          source: { type: "nfs", server: "10.1.2.3", export: "/isis", options: ["nfsvers=4"] },
          mountPath: "/mnt/isis",
          readOnly: true,
        },
        {
          name: "home",
          source: { type: "cifs", server: "smb", share: "homes/{username}", options: ["vers=3.0"] },
          mountPath: "/mnt/home",
          perUser: true,
        },
      ],
      shareCredentials: { home: { username: "svc", password: "pw", domain: "LAB" } },
    });
    assert.deepEqual(shareDriverOptions(c.storage[0]!, c.shareCredentials), {
      type: "nfs",
      device: ":/isis",
      o: "addr=10.1.2.3,nfsvers=4,ro",
    });
    assert.deepEqual(shareDriverOptions(c.storage[1]!, c.shareCredentials), {
      type: "cifs",
      device: "//smb/homes/{username}",
      o: "addr=smb,username=svc,password=pw,domain=LAB,vers=3.0",
    });
    assert.throws(() => spawnerMounts(c, {}), /no version of the options of share/);
    const mounts = spawnerMounts(c, { isis: "0a0a0a0a", home: "1b1b1b1b" });
    assert.equal(mounts.find((m) => m.name === "isis")!.source, "jupyterhub-isis-0a0a0a0a");
    assert.deepEqual(
      mounts.find((m) => m.name === "home"),
      {
        name: "home",
        type: "volume",
        source: "jupyterhub-home-1b1b1b1b-{username}",
        target: "/mnt/home",
        readOnly: false,
        perUser: true,
        driverOptions: true,
      },
    );
    const secrets = hubSecrets(c, { cookieSecret: "c", proxyAuthToken: "p", cullerToken: "k", serviceTokens: {}, adminPasswordHashes: {} });
    assert.deepEqual(Object.keys(secrets.mountDriverOptions), ["home"], "only per-user shares need options at spawn time");
    const settings = stableJson(hubSettings(c, "dev", {}, { isis: "0a0a0a0a", home: "1b1b1b1b" }));
    assert.ok(!settings.includes("pw"), "share passwords never reach settings.json");
  });

  it("disabling the work volume removes it from the mounts", () => {
    const c = parseConfig({ spawner: { workVolume: { enabled: false } } });
    assert.deepEqual(spawnerMounts(c, {}), []);
  });
});
