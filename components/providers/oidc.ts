/**
 * Sign-in with any OpenID Connect provider: EGI Check-in, an institution's Keycloak, ... (hub side:
 * hub-config/gmap_hub/configure/oidc.py and gmap_hub/oidc.py: discovery at the hub's start, every ID
 * token verified against the issuer's published keys).
 */
import { z } from "zod";
import { baseUrl } from "../config/rules";
import { userNameRule } from "../user-name-rule";
import { manageGroupsSetting, oauthProvider, withoutTrailingSlash } from "./provider";

const claim = z.string().regex(/^[A-Za-z0-9_.:/-]+$/, "claim names are letters, digits and _ . : / -");

export const oidc = oauthProvider({
  id: "oidc",
  service: "OpenID Connect",
  login: z
    .string()
    .regex(
      new RegExp(`^${userNameRule.source}$`),
      'user names are 1-48 lower-case letters, digits, ".", "_", "@" and "-", starting with a letter, digit or "_" (the usernameClaim\'s values, lower-cased; no "oidc:" prefix)',
    ),
  logins: "User names (values of the usernameClaim)",
  description: "OpenID Connect (EGI Check-in, Keycloak, ...); client secret in secret key oidcClientSecret (docs/oauth.md).",
  section: {
    issuer: baseUrl("issuer", "https://aai.egi.eu/auth/realms/egi").describe(
      "The provider's issuer URL; the hub reads <issuer>/.well-known/openid-configuration at its start and verifies every ID token against the keys it publishes.",
    ),
    displayName: z.string().min(1).max(40).optional().describe('Its name on the login page ("Sign in with ..."); default OpenID Connect.'),
    scopes: z
      .array(z.string().regex(/^\S+$/, "scopes have no spaces"))
      .refine((s) => s.includes("openid"), { message: 'scopes must include "openid" (the ID token carries the user)' })
      .default(["openid", "profile", "email"])
      .describe("Scopes asked for; openid is required."),
    usernameClaim: claim
      .default("preferred_username")
      .describe("The ID token claim that names the user (lower-cased; it must fit the user-name rule)."),
    groupsClaim: claim.default("groups").describe("The ID token claim that lists the user's groups (allowedGroups, manageGroups)."),
    allowedGroups: z.array(z.string().min(1)).default([]).describe("Values of the groups claim whose holders may log in."),
    allowedClaims: z
      .record(claim, z.array(z.string().min(1)).min(1))
      .default({})
      .describe(
        "Any claim with the values whose holders may log in, e.g. {eduperson_entitlement: [urn:mace:egi.eu:group:gmap:role=member#aai.egi.eu]}.",
      ),
    manageGroups: z
      .boolean()
      .default(false)
      .describe(
        "JupyterHub groups from the groups claim's values, read at every sign-in; sizes and storage name them in groups. The stack config then declares no groups.",
      ),
  },
  groupRules: (s) => s.allowedGroups.length > 0 || Object.keys(s.allowedClaims).length > 0,
  groupName: { pattern: /^\S+$/, hint: "OpenID Connect: the values of its groups claim" },
  settingsContract: {
    issuer: z.url(),
    displayName: z.string().min(1).optional(),
    scopes: z.array(z.string().min(1)).min(1),
    usernameClaim: z.string().min(1),
    groupsClaim: z.string().min(1),
    allowedGroups: z.array(z.string().min(1)),
    allowedClaims: z.record(z.string(), z.array(z.string().min(1))),
    manageGroups: manageGroupsSetting,
  },
  settings: (s) => ({
    issuer: withoutTrailingSlash(s.issuer),
    displayName: s.displayName,
    scopes: s.scopes,
    usernameClaim: s.usernameClaim,
    groupsClaim: s.groupsClaim,
    allowedGroups: s.allowedGroups,
    allowedClaims: s.allowedClaims,
    manageGroups: s.manageGroups || undefined,
  }),
});
