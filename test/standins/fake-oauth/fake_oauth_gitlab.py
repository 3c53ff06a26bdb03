"""The fake GitLab REST API under <base>/api/v4 (fake_oauth.py lists the endpoints)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from fake_oauth_http import Handler
    from fake_oauth_state import Provider


def gitlab_levels(value) -> dict[str, int]:
    if isinstance(value, list):
        return {str(k): 30 for k in value}
    return {str(k): int(v) for k, v in (value or {}).items()}


def gitlab_api(handler: Handler, provider: Provider, path: str, query: dict) -> None:
    found = handler._token_user(provider)
    if found is None:
        return handler._json(401, {"message": "401 Unauthorized"})
    user, grant = found
    scopes = set(grant["scopes"])
    if path == "/user":
        return handler._json(
            200,
            {
                "id": user["id"],
                "username": user["username"],
                "name": user.get("name", user["username"]),
                "email": user.get("email"),
                "state": "active",
            },
        )
    if path == "/groups":
        # the groups the user is a member of, at min_access_level or above, one page
        if not scopes & {"read_api", "api"}:
            return handler._json(403, {"error": "insufficient_scope", "error_description": "read_api scope needed"})
        least = int(query.get("min_access_level") or 10)
        groups = [g for g, lvl in gitlab_levels(user.get("groups")).items() if lvl >= least]
        return handler._json(200, [{"id": i + 1, "full_path": g, "path": g.rsplit("/", 1)[-1]} for i, g in enumerate(sorted(groups))])
    if path == "/version":
        return handler._json(200, {"version": provider.version, "revision": "fake"})
    # like GitLab: a group path is one URL-encoded segment (gmap%2Fscience), decoded once
    m = re.fullmatch(r"/(groups|projects)/([^/]+)/members(/all)?/(\d+)", path)
    if m:
        if not scopes & {"read_api", "api"}:
            return handler._json(403, {"error": "insufficient_scope", "error_description": "read_api scope needed"})
        kind, target, inherited, uid = m.group(1), unquote(m.group(2)), bool(m.group(3)), int(m.group(4))
        member = provider.find_id(uid)
        level = 0
        if member and kind == "groups":
            target = target.strip("/").lower()
            for group, lvl in gitlab_levels(member.get("groups")).items():
                g = group.strip("/").lower()
                if g == target or (inherited and target.startswith(g + "/")):
                    level = max(level, lvl)
        elif member:
            level = gitlab_levels(member.get("projects")).get(target, 0)
        if not level:
            return handler._json(404, {"message": "404 Not found"})
        return handler._json(200, {"id": member["id"], "username": member["username"], "state": "active", "access_level": level})
    return handler._json(404, {"message": "404 Not found"})
