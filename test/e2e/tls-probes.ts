/**
 * What the HTTPS scenario (14-tls.test.ts) checks from outside: the certificate a front proxy
 * serves for a host name, a plain HTTP request to its HTTP port, the ports a container publishes,
 * and the pin under which a browser trusts a certificate's key.
 */
import { createHash, X509Certificate } from "node:crypto";
import * as http from "node:http";
import * as tls from "node:tls";
import { docker } from "./engine";

export interface Served {
  readonly authorized: boolean;
  readonly error?: string;
  readonly serial: string;
  readonly names: string;
  readonly issuer: string;
}

/** The certificate served on loopback `port` for `host`, verified against `ca`. */
export function served(port: number, host: string, ca: string[]): Promise<Served> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port, servername: host, ca, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] },
      () => {
        const cert = socket.getPeerCertificate();
        resolve({
          authorized: socket.authorized,
          error: socket.authorizationError ? String(socket.authorizationError) : undefined,
          serial: cert.serialNumber?.toLowerCase() ?? "",
          names: cert.subjectaltname ?? "",
          issuer: [cert.issuer?.CN ?? ""].flat().join(","),
        });
        socket.end();
      },
    );
    socket.setTimeout(10_000, () => socket.destroy(new Error("TLS handshake timed out")));
    socket.on("error", reject);
  });
}

/** A plain HTTP request to loopback `port` with the Host header `host:port`. */
export function plainGet(port: number, host: string, pathAndQuery: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: pathAndQuery, headers: { Host: `${host}:${port}` }, timeout: 10_000 }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, location: res.headers.location });
    });
    req.on("error", reject);
  });
}

/** The ports a container publishes, as `hostIp:hostPort->port/proto`, sorted. */
export async function published(name: string): Promise<string[]> {
  return Object.entries(
    ((await docker.getContainer(name).inspect()).HostConfig.PortBindings ?? {}) as Record<
      string,
      { HostIp: string; HostPort: string }[] | null
    >,
  )
    .flatMap(([port, binds]) => (binds ?? []).map((b) => `${b.HostIp}:${b.HostPort}->${port}`))
    .sort();
}

/** The SHA-256 pin (base64) of a certificate's public key, as Chromium's --ignore-certificate-errors-spki-list takes it. */
export function spkiPin(certificate: string): string {
  const spki = new X509Certificate(certificate).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}
