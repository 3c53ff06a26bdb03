/**
 * Test certificates made with openssl (Debian's, on every test machine): a self-signed one, or a
 * test CA and a server certificate it signs, for the TLS config rules, the Caddy config and the
 * e2e `files` scenario. Never used outside tests.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface TestCertificate {
  /** PEM certificate (chain: the server's, without the root). */
  readonly certificate: string;
  /** PEM private key (PKCS#8). */
  readonly key: string;
}

export interface TestCa extends TestCertificate {
  /** Signs a server certificate for `host` (DNS name or IP address), valid `days` from now. */
  issue(host: string, days?: number): TestCertificate;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function altName(host: string): string {
  return /^[\d.]+$|:/.test(host) ? `IP:${host}` : `DNS:${host}`;
}

/** A self-signed server certificate for `host` (EC P-256). */
export function selfSigned(host: string, days = 30): TestCertificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gmap-cert-"));
  try {
    openssl(dir, [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "key.pem",
      "-out",
      "cert.pem",
      "-days",
      String(days),
      "-subj",
      `/CN=${host}`,
      "-addext",
      `subjectAltName=${altName(host)}`,
    ]);
    return { certificate: fs.readFileSync(path.join(dir, "cert.pem"), "utf8"), key: fs.readFileSync(path.join(dir, "key.pem"), "utf8") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A test CA (EC P-256, CA:true) that issues server certificates. */
export function testCa(name = "GMAP test CA"): TestCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gmap-ca-"));
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "30",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const ca = { certificate: fs.readFileSync(path.join(dir, "ca.pem"), "utf8"), key: fs.readFileSync(path.join(dir, "ca.key"), "utf8") };
  let serial = 0;
  return {
    ...ca,
    issue(host: string, days = 30): TestCertificate {
      const n = ++serial;
      openssl(dir, [
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `s${n}.key`,
        "-out",
        `s${n}.csr`,
        "-subj",
        `/CN=${host}`,
      ]);
      fs.writeFileSync(
        path.join(dir, `s${n}.ext`),
        `subjectAltName=${altName(host)}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
      );
      openssl(dir, [
        "x509",
        "-req",
        "-in",
        `s${n}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        String(days),
        "-extfile",
        `s${n}.ext`,
        "-out",
        `s${n}.pem`,
      ]);
      return {
        certificate: fs.readFileSync(path.join(dir, `s${n}.pem`), "utf8"),
        key: fs.readFileSync(path.join(dir, `s${n}.key`), "utf8"),
      };
    },
  };
}
