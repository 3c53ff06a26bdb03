"""Sign-in with a GitLab instance (gmap_hub.auth.GmapGitLabOAuthenticator)."""

from __future__ import annotations

from oauthenticator.gitlab import GitLabOAuthenticator

from ..provider_groups import GitLabGroups
from .oauth import base_url, configure_common
from .sign_in import Provider, SignIn


def configure_gitlab(c, sign_in: SignIn) -> set[str]:
    """``auth.gitlab`` and its client secret; returns the provider's admins."""
    gitlab = sign_in.auth.section("gitlab")
    g = c.GitLabOAuthenticator
    admins = configure_common(g, gitlab, "gitlab", sign_in)
    g.gitlab_url = base_url(gitlab, "url")
    groups = gitlab.strings("allowedGroups", [])
    project_ids = gitlab.integers("allowedProjectIds", [])
    g.allowed_gitlab_groups = set(groups)
    g.allowed_project_ids = set(project_ids)
    manage_groups = gitlab.boolean("manageGroups", False)
    # group and project membership are read through the API
    g.scope = ["read_user", "read_api"] if groups or project_ids or manage_groups else ["read_user"]
    if manage_groups:
        # the user's JupyterHub groups are their GitLab groups, at every sign-in (gmap_hub.provider_groups)
        g.manage_groups = True
        g.auth_state_groups_key = GitLabGroups(base_url(gitlab, "url") + "/api/v4")
    return admins


PROVIDER = Provider(
    # OAuthenticator's, with its subgroup membership check fixed (jupyterhub/oauthenticator#423)
    authenticator="gmap_hub.auth.GmapGitLabOAuthenticator",
    multi_authenticator="gmap_hub.auth.GmapGitLabOAuthenticator",
    upstream=GitLabOAuthenticator,
    configure=configure_gitlab,
)
