/**
 * HTTPS (hub.tls): the keyed config errors, the Caddy config of the front proxy (a pure function)
 * and the files written into its container.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig, type StackConfigInput } from "../../components/config";
import { certificateForHostProblem } from "../../components/config/pem";
import { isPublicBindAddress } from "../../components/config/rules";
import { caddyConfig, frontFiles, frontPaths } from "../../components/tls";
import { publicUrl } from "../../components/identity";
import { problemsOf } from "./config-problems";
import { selfSigned, testCa } from "./tls-fixtures";

const acme = (extra: Record<string, unknown> = {}, hub: Record<string, unknown> = {}): StackConfigInput => ({
  hub: {
    publicUrl: "https://hub.example.org",
    bindAddress: "0.0.0.0",
    tls: { mode: "acme", acme: { email: "ops@example.org", ...extra } },
    ...hub,
  },
});

const caddyOf = (input: StackConfigInput) => {
  const c = parseConfig(input as Record<string, unknown>);
  return caddyConfig({ tls: c.hub.tls, publicUrl: publicUrl(c) }) as any;
};

describe("hub.tls config", () => {
  it("defaults to off: today's published proxy on hub.port", () => {
    const c = parseConfig({});
    assert.equal(c.hub.tls.mode, "off");
    assert.equal(c.hub.tls.httpPort, 80);
    assert.equal(c.hub.tls.httpsPort, 443);
    assert.equal(c.hub.tls.hstsMaxAge, 31536000);
    assert.match(c.hub.tls.image, /^caddy:2\.\d+\.\d+$/);
  });

  it("accepts acme with Let's Encrypt and a public bind address", () => {
    const c = parseConfig(acme() as Record<string, unknown>);
    assert.equal(c.hub.tls.acme?.directory, "letsencrypt");
  });

  it("a https public URL with tls off on a public bind address is an error; on loopback or a private address it is a host's own TLS proxy", () => {
    assert.deepEqual(problemsOf({ hub: { publicUrl: "https://hub.example.org", bindAddress: "0.0.0.0" } }), [
      "jupyterhub:hub.tls.mode: hub.publicUrl is https, but with hub.tls.mode off the proxy serves plain HTTP on 0.0.0.0:8000, reachable from outside: set hub.tls.mode to acme (automatic certificates) or files, or bind hub.bindAddress to 127.0.0.1 (or the private address a TLS-terminating proxy forwards to)",
    ]);
    for (const bindAddress of ["127.0.0.1", "10.1.2.3", "192.168.0.4", "172.20.0.1"]) {
      parseConfig({ hub: { publicUrl: "https://hub.example.org", bindAddress } });
    }
    assert.ok(
      problemsOf({ hub: { publicUrl: "https://hub.example.org", bindAddress: "203.0.113.7" } })[0]!.startsWith("jupyterhub:hub.tls.mode:"),
    );
  });

  it("acme needs an e-mail, a host name (not an IP address) and an https public URL", () => {
    assert.deepEqual(problemsOf({ hub: { publicUrl: "https://hub.example.org", bindAddress: "0.0.0.0", tls: { mode: "acme" } } }), [
      "jupyterhub:hub.tls.acme.email: hub.tls.mode acme needs a contact e-mail for the ACME account (the CA's notices about expiring or revoked certificates)",
    ]);
    assert.deepEqual(problemsOf(acme({}, { publicUrl: "https://203.0.113.7" })), [
      "jupyterhub:hub.publicUrl: hub.tls.mode acme gets certificates for a host name, and 203.0.113.7 is an IP address: give the DNS name that points to this host, or use hub.tls.mode files",
    ]);
    assert.match(problemsOf(acme({}, { publicUrl: "https://[2001:db8::1]" })).join("\n"), /\[2001:db8::1\] is an IP address/);
    assert.deepEqual(problemsOf(acme({}, { publicUrl: "http://hub.example.org" })), [
      "jupyterhub:hub.publicUrl: hub.tls.mode is acme: hub.publicUrl must start with https://",
    ]);
    assert.deepEqual(problemsOf(acme({}, { publicUrl: undefined })), [
      "jupyterhub:hub.publicUrl: hub.tls.mode acme serves HTTPS for the host name of hub.publicUrl: set it, e.g. https://hub.example.org",
    ]);
    assert.match(problemsOf(acme({ email: "not-an-address" })).join("\n"), /jupyterhub:hub\.tls\.acme\.email: .*e-mail address/);
  });

  it("Let's Encrypt must reach the host: no loopback bind, port 80 or 443, a public name", () => {
    assert.deepEqual(problemsOf(acme({}, { bindAddress: "127.0.0.1" })), [
      "jupyterhub:hub.bindAddress: Let's Encrypt validates the host name from the internet, and hub.bindAddress 127.0.0.1 is reachable from this host only: set 0.0.0.0 (or the host's public address)",
    ]);
    assert.deepEqual(
      problemsOf(
        acme(
          {},
          { publicUrl: "https://hub.example.org:8443", tls: { mode: "acme", acme: { email: "a@b.org" }, httpPort: 8080, httpsPort: 8443 } },
        ),
      ),
      [
        "jupyterhub:hub.tls.httpPort: Let's Encrypt validates on port 80 (HTTP-01) or 443 (TLS-ALPN-01): publish at least one of them (hub.tls.httpPort 80 or hub.tls.httpsPort 443)",
      ],
    );
    assert.match(problemsOf(acme({}, { publicUrl: "https://hub.gmap.test" })).join("\n"), /public DNS names only, not hub\.gmap\.test/);
    // another ACME server (a private one, Pebble in the tests) may be reached on loopback and any port
    parseConfig(
      acme(
        { directory: "https://pebble:14000/dir" },
        {
          publicUrl: "https://hub.gmap.test:18443",
          bindAddress: "127.0.0.1",
          tls: { mode: "acme", acme: { email: "a@b.org", directory: "https://pebble:14000/dir" }, httpPort: 18080, httpsPort: 18443 },
        },
      ) as Record<string, unknown>,
    );
  });

  it("the public URL's port is the HTTPS port", () => {
    assert.deepEqual(problemsOf(acme({}, { publicUrl: "https://hub.example.org:8443" })), [
      "jupyterhub:hub.publicUrl: hub.publicUrl has port 8443, but the front proxy publishes HTTPS on hub.tls.httpsPort 443: make them equal",
    ]);
  });

  it("ACME directory: the Let's Encrypt names or an https URL; a private CA root must be PEM", () => {
    assert.match(problemsOf(acme({ directory: "http://acme.example.org/dir" })).join("\n"), /hub\.tls\.acme\.directory is "letsencrypt"/);
    assert.match(problemsOf(acme({ caRoot: "not a certificate" })).join("\n"), /hub\.tls\.acme\.caRoot must be PEM certificates only/);
    parseConfig(acme({ directory: "letsencrypt-staging", caRoot: selfSigned("ca.example.org").certificate }) as Record<string, unknown>);
  });

  it("settings of other modes are errors, not silently ignored", () => {
    assert.deepEqual(problemsOf({ hub: { tls: { acme: { email: "a@b.org" } } } }), [
      "jupyterhub:hub.tls.acme: hub.tls.acme is only used with hub.tls.mode acme",
    ]);
    assert.deepEqual(problemsOf({ tlsKey: "x" }).sort(), [
      "jupyterhub:tlsKey: tlsKey is only used with hub.tls.mode files",
      "jupyterhub:tlsKey: tlsKey must be one unencrypted PEM private key (-----BEGIN PRIVATE KEY-----, RSA or EC)",
    ]);
    assert.match(problemsOf({ hub: { tls: { mode: "https" } } }).join("\n"), /hub\.tls\.mode is "off", "acme" or "files"/);
  });

  it("files: certificate and key as secret keys, for the public host name, matching; values never shown", () => {
    const files = { hub: { publicUrl: "https://hub.example.org", bindAddress: "0.0.0.0", tls: { mode: "files" } } };
    assert.deepEqual(problemsOf(files).sort(), [
      "jupyterhub:tlsCertificate: hub.tls.mode files: pulumi config set --secret tlsCertificate < fullchain.pem",
      "jupyterhub:tlsKey: hub.tls.mode files: pulumi config set --secret tlsKey < privkey.pem",
    ]);
    const ca = testCa();
    const good = ca.issue("hub.example.org");
    parseConfig({ ...files, tlsCertificate: good.certificate + ca.certificate, tlsKey: good.key });
    const other = ca.issue("other.example.org");
    const wrongHost = problemsOf({ ...files, tlsCertificate: other.certificate, tlsKey: other.key });
    assert.deepEqual(wrongHost, [
      "jupyterhub:tlsCertificate: the first certificate in tlsCertificate is not valid for hub.example.org (its names: DNS:other.example.org)",
    ]);
    const wrongKey = problemsOf({ ...files, tlsCertificate: good.certificate, tlsKey: other.key });
    assert.deepEqual(wrongKey, [
      "jupyterhub:tlsCertificate: tlsKey is not the key of the first certificate in tlsCertificate (the server's certificate comes first)",
    ]);
    const garbled = problemsOf({
      ...files,
      tlsCertificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
      tlsKey: good.key,
    });
    assert.match(garbled.join("\n"), /tlsCertificate holds a certificate block that does not parse/);
    for (const p of [...wrongHost, ...wrongKey, ...garbled]) assert.ok(!p.includes("PRIVATE KEY-----\n"), "no key material in messages");
    // a stack file checked without decrypting it (npm run check) holds placeholders
    parseConfig({ ...files, tlsCertificate: "[secret]", tlsKey: "[secret]" });
    // an IP address is allowed with the operator's own certificate
    const ip = ca.issue("192.0.2.10");
    parseConfig({ hub: { ...files.hub, publicUrl: "https://192.0.2.10" }, tlsCertificate: ip.certificate, tlsKey: ip.key });
  });

  it("an expired certificate is refused", () => {
    const { certificate, key } = selfSigned("hub.example.org", 1);
    assert.equal(certificateForHostProblem(certificate, key, "hub.example.org", new Date()), undefined);
    const later = new Date(Date.now() + 3 * 86400_000);
    assert.match(certificateForHostProblem(certificate, key, "hub.example.org", later)!, /expired on/);
  });

  it("public bind addresses: every interface and public ones", () => {
    assert.deepEqual(
      ["0.0.0.0", "::", "203.0.113.7", "2001:db8::1", "127.0.0.1", "::1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "fd00::1"].map(
        isPublicBindAddress,
      ),
      [true, true, true, true, false, false, false, false, false, false],
    );
  });
});

describe("the front proxy's Caddy config", () => {
  it("acme: one policy for the public host name with the directory, e-mail and a private CA root", () => {
    const caRoot = selfSigned("pebble").certificate;
    const config = caddyOf(
      acme(
        {},
        {
          publicUrl: "https://hub.gmap.test:18443",
          bindAddress: "127.0.0.1",
          tls: {
            mode: "acme",
            acme: { email: "ops@gmap.test", directory: "https://pebble:14000/dir", caRoot },
            httpPort: 18080,
            httpsPort: 18443,
          },
        },
      ),
    );
    assert.deepEqual(config.admin, { disabled: true, config: { persist: false } });
    assert.deepEqual(config.storage, { module: "file_system", root: "/data/caddy" });
    assert.deepEqual(config.apps.tls, {
      automation: {
        policies: [
          {
            subjects: ["hub.gmap.test"],
            issuers: [
              { module: "acme", ca: "https://pebble:14000/dir", email: "ops@gmap.test", trusted_roots_pem_files: [frontPaths.acmeCaRoot] },
            ],
          },
        ],
      },
    });
    // Caddy listens on 80 and 443 in its container whatever the host ports are
    assert.deepEqual([config.apps.http.http_port, config.apps.http.https_port], [80, 443]);
    // HTTP redirects to the public URL, its port included, keeping path and query
    assert.deepEqual(config.apps.http.servers.http, {
      listen: [":80"],
      routes: [
        {
          handle: [
            { handler: "static_response", status_code: 308, headers: { Location: ["https://hub.gmap.test:18443{http.request.uri}"] } },
          ],
        },
      ],
    });
    const https = config.apps.http.servers.https;
    assert.deepEqual(https.listen, [":443"]);
    assert.deepEqual(https.automatic_https, { disable_redirects: true });
    assert.deepEqual(https.routes[0].match, [{ host: ["hub.gmap.test"] }]);
    assert.deepEqual(https.routes[0].handle, [
      { handler: "headers", response: { set: { "Strict-Transport-Security": ["max-age=31536000"] } } },
      { handler: "reverse_proxy", upstreams: [{ dial: "hub-proxy:8000" }], flush_interval: -1 },
    ]);
    assert.equal(https.routes[1].handle[0].status_code, 421);
  });

  it("Let's Encrypt production by default, staging by name; no HSTS with hstsMaxAge 0", () => {
    const ca = (c: any) => c.apps.tls.automation.policies[0].issuers[0].ca;
    assert.equal(ca(caddyOf(acme())), "https://acme-v02.api.letsencrypt.org/directory");
    assert.equal(ca(caddyOf(acme({ directory: "letsencrypt-staging" }))), "https://acme-staging-v02.api.letsencrypt.org/directory");
    assert.equal(
      caddyOf(acme())?.apps.http.servers.http.routes[0].handle[0].headers.Location[0],
      "https://hub.example.org{http.request.uri}",
    );
    const noHsts = caddyOf({ hub: { ...(acme().hub as object), tls: { mode: "acme", acme: { email: "a@b.org" }, hstsMaxAge: 0 } } });
    assert.deepEqual(
      noHsts.apps.http.servers.https.routes[0].handle.map((h: any) => h.handler),
      ["reverse_proxy"],
    );
  });

  it("files: the operator's files are loaded, nothing is ordered for the host", () => {
    const { certificate, key } = selfSigned("hub.example.org");
    const input = {
      hub: { publicUrl: "https://hub.example.org", bindAddress: "0.0.0.0", tls: { mode: "files" } },
      tlsCertificate: certificate,
      tlsKey: key,
    };
    const config = caddyOf(input as StackConfigInput);
    assert.deepEqual(config.apps.tls, {
      certificates: { load_files: [{ certificate: frontPaths.certificate, key: frontPaths.key, tags: ["gmap-operator"] }] },
    });
    assert.deepEqual(config.apps.http.servers.https.automatic_https, { disable_redirects: true, skip_certificates: ["hub.example.org"] });
    const c = parseConfig(input);
    const files = frontFiles({ tls: c.hub.tls, publicUrl: publicUrl(c) }, { certificate: c.tlsCertificate, key: c.tlsKey });
    assert.deepEqual(
      files.map((f) => [f.file, f.permissions, f.secret]),
      [
        [frontPaths.config, "0644", false],
        [frontPaths.certificate, "0644", true],
        [frontPaths.key, "0600", true],
      ],
    );
    assert.ok(!files[0]!.content.includes("PRIVATE KEY"));
  });

  it("is the same JSON for the same config (quiet previews)", () => {
    const c = parseConfig(acme() as Record<string, unknown>);
    const a = frontFiles({ tls: c.hub.tls, publicUrl: publicUrl(c) });
    const b = frontFiles({ tls: c.hub.tls, publicUrl: publicUrl(c) });
    assert.deepEqual(a, b);
    assert.equal(a.length, 1);
  });

  it("has no front proxy with tls off", () => {
    const c = parseConfig({});
    assert.throws(() => caddyConfig({ tls: c.hub.tls, publicUrl: publicUrl(c) }), /hub\.tls\.mode is off/);
  });
});
