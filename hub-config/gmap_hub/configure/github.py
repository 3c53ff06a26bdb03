"""Sign-in with GitHub or GitHub Enterprise (OAuthenticator's GitHubOAuthenticator)."""

from __future__ import annotations

from oauthenticator.github import GitHubOAuthenticator

from ..provider_groups import github_team_groups
from .oauth import base_url, configure_common
from .sign_in import Provider, SignIn


def configure_github(c, sign_in: SignIn) -> set[str]:
    """``auth.github`` and its client secret; returns the provider's admins."""
    github = sign_in.auth.section("github")
    g = c.GitHubOAuthenticator
    admins = configure_common(g, github, "github", sign_in)
    orgs = github.strings("allowedOrganizations", [])
    g.allowed_organizations = set(orgs)
    manage_groups = github.boolean("manageGroups", False)
    # read:user is enough to log in; without read:org only public memberships (and no teams) are visible
    g.scope = ["read:user", "read:org"] if orgs or manage_groups else ["read:user"]
    if manage_groups:
        # the user's JupyterHub groups are their teams, at every sign-in (gmap_hub.provider_groups)
        g.manage_groups = True
        g.populate_teams_in_auth_state = True
        g.auth_state_groups_key = github_team_groups
    if github.has("url"):
        g.github_url = base_url(github, "url")
    if github.has("apiUrl"):
        g.github_api = base_url(github, "apiUrl")
    return admins


PROVIDER = Provider(
    authenticator="oauthenticator.github.GitHubOAuthenticator",
    multi_authenticator="oauthenticator.github.GitHubOAuthenticator",
    upstream=GitHubOAuthenticator,
    configure=configure_github,
)
