"""Sign-in with a GitLab instance (gmap_hub.auth.GmapGitLabOAuthenticator)."""

from __future__ import annotations

from .oauth import base_url, callback_url, oauth_users
from .sign_in import SignIn


def configure_gitlab(c, sign_in: SignIn) -> set[str]:
    """``auth.gitlab`` and its client secret; returns the provider's admins."""
    gitlab = sign_in.auth.section("gitlab")
    g = c.GitLabOAuthenticator
    g.gitlab_url = base_url(gitlab, "url")
    g.client_id = gitlab.string("clientId")
    g.client_secret = sign_in.secrets.string("gitlabClientSecret")
    g.oauth_callback_url = callback_url(gitlab, "gitlab", sign_in.url_prefix)
    groups = gitlab.strings("allowedGroups", [])
    project_ids = gitlab.integers("allowedProjectIds", [])
    g.allowed_gitlab_groups = set(groups)
    g.allowed_project_ids = set(project_ids)
    # group and project membership are read through the API
    g.scope = ["read_user", "read_api"] if groups or project_ids else ["read_user"]
    g.allowed_users = oauth_users(gitlab)
    g.allow_all = gitlab.boolean("allowAll", False)
    return set(gitlab.strings("admins", []))
