/** Sign-in with GitHub or GitHub Enterprise Server (hub side: hub-config/gmap_hub/configure/github.py). */
import { z } from "zod";
import { baseUrl } from "../config/rules";
import { manageGroupsSetting, oauthProvider, withoutTrailingSlash } from "./provider";

export const github = oauthProvider({
  id: "github",
  service: "GitHub",
  login: z
    .string()
    .regex(
      /^[a-z0-9](?:-?[a-z0-9]){0,38}$/,
      'GitHub logins are lower-case letters, digits and single hyphens, at most 39 characters (the hub lower-cases logins; write them without a "github:" prefix)',
    ),
  logins: "GitHub logins",
  description: "GitHub OAuth; client secret in secret key githubClientSecret.",
  section: {
    url: baseUrl("url", "https://github.example.org").optional().describe("GitHub Enterprise Server base URL; default https://github.com."),
    apiUrl: baseUrl("apiUrl", "https://github.example.org/api/v3")
      .optional()
      .describe("GitHub REST API URL; default https://api.github.com for github.com, <url>/api/v3 for GitHub Enterprise Server."),
    allowedOrganizations: z
      .array(z.string().regex(/^[A-Za-z0-9-]+(:[A-Za-z0-9_.-]+)?$/, "entries are `org` or `org:team-slug`"))
      .default([])
      .describe("GitHub organizations (`org`) or teams (`org:team-slug`) whose members may log in (asks for the read:org scope)."),
    manageGroups: z
      .boolean()
      .default(false)
      .describe(
        "JupyterHub groups from the user's GitHub teams, named `org:team-slug` in lower case and read at every sign-in (asks for the read:org scope); sizes name them in groups. The stack config then declares no groups.",
      ),
  },
  groupRules: (s) => s.allowedOrganizations.length > 0,
  groupName: { pattern: /^[a-z0-9-]+:[a-z0-9_.-]+$/, hint: "GitHub: org:team-slug" },
  settingsContract: {
    allowedOrganizations: z.array(z.string().min(1)),
    // absent when off, so the settings of stacks without it stay as they were
    manageGroups: manageGroupsSetting,
    url: z.url().nullable(),
    apiUrl: z.url().nullable(),
  },
  settings: (s) => ({
    allowedOrganizations: s.allowedOrganizations,
    manageGroups: s.manageGroups || undefined,
    url: s.url !== undefined ? withoutTrailingSlash(s.url) : null,
    apiUrl: s.apiUrl !== undefined ? withoutTrailingSlash(s.apiUrl) : null,
  }),
});
