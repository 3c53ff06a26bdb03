/**
 * The one rule for user names, whatever the provider (the login as typed or given by GitHub,
 * GitLab or an OpenID Connect claim, lower-cased): 1 to 48 of a-z, 0-9, ".", "_", "@" and "-", starting with a letter, digit
 * or "_". With several providers the hub name carries the provider's prefix (`github:ada`). The
 * hub refuses every other name (sign-up, login, API), so container and volume names stay short and
 * are derived one-to-one (escapeUserName).
 */
export const userNameRule = { source: "[a-z0-9_][a-z0-9._@-]{0,47}", maxLength: 48 } as const;
