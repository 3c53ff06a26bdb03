import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../components/config";
import { closeScopes, jupyterhubScopes, scopesJupyterhubVersion } from "../../components/scopes";
import { jupyterhubVersion } from "../../components/versions";
import { problemsOf } from "./config-problems";

const service = (...scopes: string[]) => ({ services: [{ name: "svc", scopes }] });

describe("services[].scopes", () => {
  it("the scope list belongs to the pinned JupyterHub version", () => {
    assert.ok(
      jupyterhubVersion.startsWith(`${scopesJupyterhubVersion}.`),
      `hub-config/requirements.txt pins JupyterHub ${jupyterhubVersion}: compare components/scopes.ts with jupyterhub/scopes.py of that version`,
    );
    assert.equal(new Set(jupyterhubScopes).size, jupyterhubScopes.length);
  });

  it("accepts known scopes, with and without filters", () => {
    const scopes = [
      "admin:users",
      "admin:servers",
      "access:servers",
      "list:users",
      "read:users",
      "read:servers",
      "read:metrics",
      "users",
      "servers",
      "tokens",
      "shares",
      "read:users:activity",
      "read:users!group=staff",
      "access:servers!server=alice/lab",
      "read:users!user=github:ada",
      "access:services!service=monitoring",
    ];
    assert.deepEqual(parseConfig(service(...scopes)).services[0]!.scopes, scopes);
  });

  it("refuses unknown scopes with their key and close matches", () => {
    const problems = problemsOf(service("read:metrics", "read:user", "admin:server", "metrics"));
    assert.equal(problems.length, 3, problems.join("\n"));
    assert.match(
      problems[0]!,
      /^jupyterhub:services\[0\]\.scopes\[1\]: "read:user" is not a JupyterHub 5\.5 scope; close matches: read:users\b/,
    );
    assert.match(problems[1]!, /^jupyterhub:services\[0\]\.scopes\[2\]: .*close matches: admin:servers\b/);
    assert.match(problems[2]!, /^jupyterhub:services\[0\]\.scopes\[3\]: .*close matches: .*read:metrics/);
  });

  it("refuses scopes the old pattern let through", () => {
    for (const scope of [
      "admin",
      "all",
      "read:everything",
      "access:servers!owner=alice",
      "read:users!user",
      "read:users!group=",
      "read:users!group=a b",
    ]) {
      const problems = problemsOf(service(scope));
      assert.ok(
        problems.some((p) => p.startsWith("jupyterhub:services[0].scopes[0]: ")),
        `${scope}: ${problems.join("\n")}`,
      );
    }
    assert.match(
      problemsOf(service("read:users!owner=alice"))[0]!,
      /"!owner=alice" is not a scope filter: use !user=<name>, !group=<name>/,
    );
  });

  it("suggests nothing far-fetched", () => {
    assert.deepEqual(closeScopes("xyzzy-frobnicate"), []);
    assert.match(problemsOf(service("xyzzy-frobnicate"))[0]!, /listed in components\/scopes\.ts/);
  });
});
