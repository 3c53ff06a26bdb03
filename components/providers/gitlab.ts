/** Sign-in with GitLab, self-hosted or gitlab.com (hub side: hub-config/gmap_hub/configure/gitlab.py). */
import { z } from "zod";
import { baseUrl } from "../config/rules";
import { manageGroupsSetting, oauthProvider, withoutTrailingSlash } from "./provider";

export const gitlab = oauthProvider({
  id: "gitlab",
  service: "GitLab",
  login: z
    .string()
    .regex(
      /^[a-z0-9_][a-z0-9_.-]{0,47}$/,
      'GitLab usernames are lower-case letters, digits, "_", "." and "-", at most 48 characters here (the hub lower-cases logins; write them without a "gitlab:" prefix)',
    ),
  logins: "GitLab usernames",
  description: "GitLab OAuth; client secret in secret key gitlabClientSecret.",
  section: {
    url: baseUrl("url", "https://gitlab.example.org")
      .default("https://gitlab.com")
      .describe("Base URL of the GitLab instance (self-hosted allowed, also under a path)."),
    allowedGroups: z
      .array(
        z
          .string()
          .regex(
            /^[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*$/,
            "entries are group paths such as `gmap` or `gmap/science` (no leading or trailing /)",
          ),
      )
      .default([])
      .describe("GitLab group paths (with subgroups: `group/subgroup`) whose members, direct or inherited, may log in."),
    allowedProjectIds: z.array(z.int().positive()).default([]).describe("Members (developer or above) of these project ids may log in."),
    manageGroups: z
      .boolean()
      .default(false)
      .describe(
        "JupyterHub groups from the user's GitLab groups, named by their full path in lower case (`gmap/science`) and read at every sign-in (asks for the read_api scope); sizes name them in groups. The stack config then declares no groups.",
      ),
  },
  groupRules: (s) => s.allowedGroups.length > 0 || s.allowedProjectIds.length > 0,
  groupName: { pattern: /^[a-z0-9_.][a-z0-9_.-]*(\/[a-z0-9_.][a-z0-9_.-]*)*$/, hint: "GitLab: group/path" },
  settingsContract: {
    url: z.url(),
    allowedGroups: z.array(z.string().min(1)),
    allowedProjectIds: z.array(z.int().positive()),
    manageGroups: manageGroupsSetting,
  },
  settings: (s) => ({
    url: withoutTrailingSlash(s.url),
    allowedGroups: s.allowedGroups,
    allowedProjectIds: s.allowedProjectIds,
    manageGroups: s.manageGroups || undefined,
  }),
});
