"""Sign-in with GitHub or GitHub Enterprise (OAuthenticator's GitHubOAuthenticator)."""

from __future__ import annotations

from .oauth import base_url, callback_url, oauth_users
from .sign_in import SignIn


def configure_github(c, sign_in: SignIn) -> set[str]:
    """``auth.github`` and its client secret; returns the provider's admins."""
    github = sign_in.auth.section("github")
    g = c.GitHubOAuthenticator
    g.client_id = github.string("clientId")
    g.client_secret = sign_in.secrets.string("githubClientSecret")
    g.oauth_callback_url = callback_url(github, "github", sign_in.url_prefix)
    orgs = github.strings("allowedOrganizations", [])
    g.allowed_organizations = set(orgs)
    # read:user is enough to log in; without read:org only public memberships are visible
    g.scope = ["read:user", "read:org"] if orgs else ["read:user"]
    g.allowed_users = oauth_users(github)
    g.allow_all = github.boolean("allowAll", False)
    if github.has("url"):
        g.github_url = base_url(github, "url")
    if github.has("apiUrl"):
        g.github_api = base_url(github, "apiUrl")
    return set(github.strings("admins", []))
