/**
 * The rules of the policy pack as pure functions of a resource's inputs (no Pulumi import), so the
 * unit tests check them without the CLI (test/unit/policy.test.ts).
 */

/** The label that names the stack's component on each of its Docker objects (components/names.ts `labelKeys`). */
export const componentLabel = "org.europlanet-gmap.jupyterhub.component";

/** The component that terminates TLS (hub.tls on): the only one that may publish on every interface. */
export const tlsComponent = "front-proxy";

/** A published port, as a docker:index/container:Container takes it. */
interface Port {
  readonly internal?: number;
  readonly external?: number;
  readonly ip?: string;
}

const everyInterface = (ip: string | undefined) => ip === undefined || ip === "" || ip === "0.0.0.0" || ip === "::" || ip === "[::]";

/**
 * The ports a container publishes on every interface of the host without TLS in front: any
 * container but the TLS front proxy. (A hub published on every interface over plain HTTP sends
 * passwords and tokens in the clear; bind it to 127.0.0.1 behind a proxy, or turn hub.tls on.)
 */
export function portsInTheClear(inputs: {
  readonly ports?: readonly Port[];
  readonly labels?: readonly { label?: string; value?: string }[];
}): string[] {
  const component = (inputs.labels ?? []).find((l) => l.label === componentLabel)?.value;
  if (component === tlsComponent) return [];
  return (inputs.ports ?? [])
    .filter((p) => everyInterface(p.ip))
    .map((p) => `port ${p.external ?? p.internal} is published on every interface without TLS (component ${component ?? "unknown"})`);
}
