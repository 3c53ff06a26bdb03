/**
 * The policy pack of the GMAP JupyterHub stacks: rules of the organisation that hold for every
 * stack, kept beside the program rather than in it (a laptop's dev stack may break them; the CI's
 * review of production may not). Run with `pulumi preview --policy-pack policy` or
 * `npm run preview -- <stack> --policy-pack policy`.
 */
import { PolicyPack } from "@pulumi/policy";
import { portsInTheClear } from "./rules";

new PolicyPack("gmap-jupyterhub", {
  policies: [
    {
      name: "no-plain-http-on-every-interface",
      description: "No container publishes a port on every interface of the host unless TLS is in front of it (hub.tls).",
      enforcementLevel: "mandatory",
      validateResource: (args, reportViolation) => {
        if (args.type !== "docker:index/container:Container") return;
        for (const violation of portsInTheClear(args.props)) reportViolation(violation);
      },
    },
  ],
});
