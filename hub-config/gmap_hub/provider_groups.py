"""Users' groups from their sign-in provider (auth.github.manageGroups, auth.gitlab.manageGroups):
OAuthenticator's group management (``manage_groups``) calls these with the sign-in's auth state and
makes the user's JupyterHub groups exactly the names they return, at every sign-in.

- GitHub: the user's teams (OAuthenticator puts them in the auth state with
  ``populate_teams_in_auth_state``), each ``org:team-slug`` in lower case, as ``allowedOrganizations``
  writes teams;
- GitLab: the groups the user is a member of (guest or above, direct or inherited), each by its full
  path in lower case (``gmap/science``), read from GitLab's API with the sign-in's token.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

#: GitLab's guest access level: any membership.
GUEST = 10
#: Pages of 100 groups read at most (a user in more than 5,000 groups gets the first 5,000).
MAX_PAGES = 50


def github_team_groups(auth_state: dict) -> list[str]:
    """The user's GitHub teams as group names ``org:team-slug``."""
    teams = auth_state.get("teams") or []
    return sorted({f"{team['organization']['login']}:{team['slug']}".lower() for team in teams})


class GitLabGroups:
    """The user's GitLab groups as group names (full paths), from ``<api_url>/groups``."""

    def __init__(self, api_url: str, timeout: float = 20):
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    async def __call__(self, auth_state: dict) -> list[str]:
        client = AsyncHTTPClient()
        headers = {"Authorization": f"Bearer {auth_state['access_token']}", "Accept": "application/json"}
        names: set[str] = set()
        for page in range(1, MAX_PAGES + 1):
            query = urlencode({"min_access_level": GUEST, "per_page": 100, "page": page})
            request = HTTPRequest(f"{self.api_url}/groups?{query}", headers=headers, request_timeout=self.timeout)
            response = await client.fetch(request)
            groups = json.loads(response.body)
            names |= {group["full_path"].lower() for group in groups}
            if not response.headers.get("X-Next-Page"):
                break
        return sorted(names)
